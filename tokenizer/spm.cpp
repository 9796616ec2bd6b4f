// SentencePiece training, loading and parallel encoding (tokenizer/spm.h).
#include "tokenizer/spm.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <regex>
#include <thread>
#include <unordered_map>

#include "common/error.h"
#include "tokenizer/tokenizer.h"

namespace sentencepiece::logging {
// Exported by libsentencepiece but declared in no installed header: without it
// the trainer logs dozens of INFO lines to stderr, and a bad input would not be
// one line.
void SetMinLogLevel(int v);
}  // namespace sentencepiece::logging

namespace scalelab::tokenizer::detail {

namespace {

// The trainer pulls sentences from this: the text stays in memory, no temp file.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  LineIterator(std::string_view text, Counters& c) : text_(text), c_(c) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    while (pos_ < text_.size()) {
      const auto end = std::min(text_.find('\n', pos_), text_.size());
      line_.assign(text_.substr(pos_, end - pos_));
      pos_ = end + 1;
      c_.lines_read.fetch_add(1, std::memory_order_relaxed);
      if (!line_.empty()) return;
    }
    done_ = true;
  }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::string_view text_;
  Counters& c_;
  std::size_t pos_ = 0;
  std::string line_;
  bool done_ = false;
};

// SentencePiece's two vocabulary errors carry the numbers a user needs; any other
// failure is reported as it comes.
[[noreturn]] void training_error(const std::string& msg, int vocab, std::size_t bytes, const std::string& text) {
  std::smatch m;
  if (std::regex_search(msg, m, std::regex(R"(smaller than required_chars\. (\d+) vs (\d+))")))
    user_error("--vocab {}: too small for the characters of {}: they need {} pieces with the {} fixed ones; "
               "expected --vocab >= {}",
               vocab, text, m[2].str(), kFixedPieces, m[2].str());
  if (std::regex_search(msg, m, std::regex(R"(Vocabulary size too high \(\d+\)\. Please set it to a value <= (\d+))")))
    user_error("--vocab {}: too large for {} ({} bytes of training text hold at most {} pieces); "
               "expected --vocab <= {} or a larger text",
               vocab, text, bytes, m[1].str(), m[1].str());
  // "./src/file.cc(123) [condition] message": the message alone, first line.
  auto first = msg.substr(0, msg.find('\n'));
  if (const auto b = first.find("] "); first.rfind("./", 0) == 0 && b != std::string::npos) first = first.substr(b + 2);
  user_error("{}: SentencePiece could not train a tokenizer: {}", text, first);
}

// One protobuf field: reads the key and skips or returns its payload.
bool read_varint(std::string_view s, std::size_t& p, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; p < s.size() && shift < 64; shift += 7) {
    const auto b = static_cast<unsigned char>(s[p++]);
    v |= std::uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// Finds field `want` of wire type `type` in a message; false when absent or malformed.
bool find_field(std::string_view msg, int want, int type, std::string_view& bytes, std::uint64_t& varint) {
  std::size_t p = 0;
  std::uint64_t key = 0, v = 0;
  while (p < msg.size() && read_varint(msg, p, key)) {
    const int field = int(key >> 3), wt = int(key & 7);
    if (wt == 0) {
      if (!read_varint(msg, p, v)) return false;
      if (field == want && type == 0) return varint = v, true;
    } else if (wt == 2) {
      if (!read_varint(msg, p, v) || v > msg.size() - p) return false;
      if (field == want && type == 2) return bytes = msg.substr(p, v), true;
      p += v;
    } else if (wt == 1 || wt == 5) {
      p += wt == 1 ? 8 : 4;
    } else {
      return false;
    }
  }
  return false;
}

}  // namespace

std::string model_type_of(std::string_view serialized) {
  std::string_view spec;
  std::uint64_t v = 0;
  // ModelProto.trainer_spec = 2; TrainerSpec.model_type = 3 (UNIGRAM 1, BPE 2, WORD 3, CHAR 4).
  if (!find_field(serialized, 2, 2, spec, v)) return "unknown";
  if (!find_field(spec, 3, 0, spec, v)) return "unigram";  // proto2 default
  static const char* names[] = {"unknown", "unigram", "bpe", "word", "char"};
  return v < 5 ? names[v] : "unknown";
}

std::string train_model(std::string_view train_text, int vocab, const std::string& model_type,
                        std::uint64_t seed, const std::string& text_name, Counters& counters) {
  sentencepiece::logging::SetMinLogLevel(3);
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned>(seed % 0xfffffffful));
  // Lossless by construction: no normalisation, spaces and line ends kept, bytes
  // for unseen characters; so the ids decode to exactly the text. Every sentence
  // is used (no sampling) and the thread count is fixed: the model is a function
  // of the text, the settings and the seed alone.
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", model_type},
      {"vocab_size", std::to_string(vocab)},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"add_dummy_prefix", "false"},
      {"split_digits", "false"},
      {"byte_fallback", "true"},
      {"user_defined_symbols", "\n"},
      {"unk_id", "0"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"character_coverage", "0.9995"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", "16384"},
      {"num_threads", "2"},
  };
  LineIterator it(train_text, counters);
  std::string serialized;
  const auto st = sentencepiece::SentencePieceTrainer::Train(args, &it, &serialized);
  if (!st.ok()) training_error(st.message(), vocab, train_text.size(), text_name);
  return serialized;
}

Model Model::load(std::string serialized, const std::string& what) {
  sentencepiece::logging::SetMinLogLevel(3);
  Model m;
  m.sp_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
  if (serialized.empty()) user_error("{}: an empty file; expected a SentencePiece model (.model)", what);
  const auto st = m.sp_->LoadFromSerializedProto(serialized);
  if (!st.ok() || m.sp_->GetPieceSize() < 1) {
    const std::string why = st.ok() ? "no pieces" : st.message();
    user_error("{}: not a SentencePiece model ({}); expected a .model file written by spm_train", what,
               why.substr(0, why.find('\n')));
  }
  m.serialized_ = std::move(serialized);
  m.model_type_ = model_type_of(m.serialized_);
  if (!m.sp_->Encode("\n", &m.newline_ids_).ok()) m.newline_ids_.clear();
  return m;
}

int Model::vocab() const { return sp_->GetPieceSize(); }

std::vector<std::uint16_t> Model::encode(std::string_view text, int threads, Counters& counters) const {
  threads = std::max(1, threads);
  // Contiguous runs of whole lines of about equal bytes, one per thread.
  std::vector<std::size_t> cuts = {0};
  for (int t = 1; t < threads; ++t) {
    auto c = text.find('\n', std::max(cuts.back(), text.size() * t / threads));
    cuts.push_back(c == std::string_view::npos ? text.size() : c + 1);
  }
  cuts.push_back(text.size());
  std::vector<std::vector<std::uint16_t>> parts(threads);
  std::vector<std::string> errors(threads);
  auto work = [&](int t) {
    std::vector<int> ids;
    for (std::size_t p = cuts[t]; p < cuts[t + 1];) {
      const auto nl = text.find('\n', p);
      const auto end = std::min(nl, cuts[t + 1]);
      const auto st = sp_->Encode(text.substr(p, end - p), &ids);
      if (!st.ok()) return void(errors[t] = st.message());
      if (nl < cuts[t + 1]) ids.insert(ids.end(), newline_ids_.begin(), newline_ids_.end());
      for (int id : ids) parts[t].push_back(static_cast<std::uint16_t>(id));
      counters.bytes_done.fetch_add(std::min(end + 1, cuts[t + 1]) - p, std::memory_order_relaxed);
      p = end + 1;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (const auto& e : errors)
    if (!e.empty()) throw std::runtime_error("SentencePiece failed to encode: " + e);
  std::vector<std::uint16_t> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

}  // namespace scalelab::tokenizer::detail
