// `scalelab data tokenize`: validate, split, train or load, encode, write
// (tokenizer/tokenizer.h). Nothing is written until every check has passed and
// all the work is done in memory.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "tokenizer/output.h"
#include "tokenizer/spm.h"
#include "tokenizer/tokenizer.h"

namespace scalelab::tokenizer {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string read_text(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) user_error("{}: no such file; expected a UTF-8 text file to tokenize", path);
  if (fs::is_directory(path, ec)) user_error("{}: a directory; expected a UTF-8 text file to tokenize", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) user_error("{}: cannot read; expected a readable UTF-8 text file", path);
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().empty()) user_error("{}: an empty file; expected text to tokenize", path);
  return s.str();
}

std::string read_model(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) user_error("--model {}: no such file; expected a SentencePiece .model", path);
  if (!fs::is_regular_file(path, ec)) user_error("--model {}: not a file; expected a SentencePiece .model", path);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void check_flags(const Options& o) {
  if (!o.model_type.empty() && o.model_type != "bpe" && o.model_type != "unigram")
    user_error("--model-type {}: expected bpe or unigram", o.model_type);
  if (o.model.empty() && o.vocab == 0)
    user_error("--vocab is required to train a tokenizer: expected an integer in [{}, {}] (or --model FILE)",
               kMinVocab, kMaxVocab);
  if (o.vocab != 0 && (o.vocab < kMinVocab || o.vocab > kMaxVocab))
    user_error("--vocab {}: expected an integer in [{}, {}] ({} fixed pieces: 256 bytes, <unk>, newline; "
               "uint16 ids end at {})",
               o.vocab, kMinVocab, kMaxVocab, kFixedPieces, kMaxVocab);
  if (!(o.val_fraction > 0 && o.val_fraction < 1))
    user_error("--val-fraction {:g}: expected a number in (0, 1)", o.val_fraction);
  if (o.out.empty()) user_error("--out: expected a folder to write the tokens into");
}

// An existing model must fit in uint16 and agree with the flags given with it.
detail::Model load_given_model(const Options& o) {
  auto m = detail::Model::load(read_model(o.model), "--model " + o.model);
  if (m.vocab() > kMaxVocab)
    user_error("--model {}: {} pieces; expected at most {} (train.bin holds uint16 ids)", o.model, m.vocab(),
               kMaxVocab);
  if (o.vocab != 0 && o.vocab != m.vocab())
    user_error("--vocab {}: --model {} holds {} pieces; expected --vocab {} or no --vocab", o.vocab, o.model,
               m.vocab(), m.vocab());
  if (!o.model_type.empty() && o.model_type != m.model_type())
    user_error("--model-type {}: --model {} is a {} model; expected --model-type {} or none", o.model_type, o.model,
               m.model_type(), m.model_type());
  return m;
}

// Phase, done/total and ETA on stderr, about every 2 s, once a phase has run 2 s:
// short inputs print nothing.
class Progress {
 public:
  Progress(bool on, const detail::Counters& c, std::uint64_t lines, std::uint64_t bytes)
      : on_(on), c_(c), lines_(lines), bytes_(bytes) {
    if (on_) thread_ = std::thread([this] { loop(); });
  }
  ~Progress() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void phase(std::string name, bool encoding) {
    std::lock_guard lk(mu_);
    phase_ = std::move(name), encoding_ = encoding, start_ = Clock::now();
  }

 private:
  void loop() {
    std::unique_lock lk(mu_);
    while (!cv_.wait_for(lk, std::chrono::seconds(2), [this] { return stop_; })) {
      if (phase_.empty()) continue;
      const double s = std::chrono::duration<double>(Clock::now() - start_).count();
      if (s < 2) continue;
      if (!encoding_) {
        fmt::print(stderr, "tokenize: {} | lines {}/{} read | {:.0f}s\n", phase_, c_.lines_read.load(), lines_, s);
        continue;
      }
      const double done = double(c_.bytes_done.load()), frac = done / double(std::max<std::uint64_t>(bytes_, 1));
      fmt::print(stderr, "tokenize: {} | {:.1f}/{:.1f} MB | {:.0f}s | ETA {:.0f}s\n", phase_, done / 1e6,
                 bytes_ / 1e6, s, frac > 0 ? s * (1 - frac) / frac : 0.0);
    }
  }
  bool on_;
  const detail::Counters& c_;
  std::uint64_t lines_, bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, encoding_ = false;
  std::string phase_;
  Clock::time_point start_;
  std::thread thread_;
};

SplitStats stats(std::uint64_t tokens, std::uint64_t bytes) {
  return {tokens, bytes, tokens ? double(bytes) / double(tokens) : 0.0};
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

std::size_t split_point(std::string_view text, double val_fraction) {
  const auto target = static_cast<std::size_t>(std::llround((1 - val_fraction) * double(text.size())));
  if (target == 0 || target >= text.size()) return text.size();
  if (text[target - 1] == '\n') return target;
  const auto after = text.find('\n', target);
  if (after != std::string_view::npos && after + 1 < text.size()) return after + 1;
  const auto before = text.rfind('\n', target - 1);
  return before == std::string_view::npos ? text.size() : before + 1;
}

Result tokenize(const Options& o) {
  const auto t0 = Clock::now();
  check_flags(o);
  const std::string text = read_text(o.text);
  std::optional<detail::Model> given;
  if (!o.model.empty()) given = load_given_model(o);

  const auto cut = split_point(text, o.val_fraction);
  if (cut == 0 || cut >= text.size())
    user_error("{}: no line boundary to hold out the last {:g} of it as validation; expected text of several lines",
               o.text, o.val_fraction);
  const std::string_view train_text(text.data(), cut), val_text(text.data() + cut, text.size() - cut);

  detail::Identity id;
  id.source_path = fs::canonical(o.text).string();
  id.source_sha256 = sha256_hex(text);
  id.source_bytes = text.size();
  id.val_fraction = o.val_fraction;
  id.seed = o.seed;
  id.model_type = given ? given->model_type() : (o.model_type.empty() ? "bpe" : o.model_type);
  id.model_sha256 = given ? sha256_hex(given->serialized()) : "";
  id.vocab = given ? given->vocab() : int(o.vocab);

  Result r;
  r.out = o.out, r.model_type = id.model_type, r.vocab = id.vocab;
  if (detail::check_out(o.out, id, o.force) == detail::OutState::up_to_date) {
    r.up_to_date = true;
    std::ifstream in(fs::path(o.out) / "meta.json");
    std::ostringstream s;
    s << in.rdbuf();
    r.meta_json = s.str();
    r.total_s = since(t0);
    return r;
  }

  detail::Counters counters;
  const auto lines = std::uint64_t(std::count(train_text.begin(), train_text.end(), '\n'));
  Progress progress(o.progress, counters, lines, text.size());
  const auto t1 = Clock::now();
  if (!given) {
    progress.phase(fmt::format("training {} tokenizer, vocab {}", id.model_type, id.vocab), false);
    given = detail::Model::load(detail::train_model(train_text, id.vocab, id.model_type, o.seed, o.text, counters),
                                "the trained tokenizer");
  }
  r.train_s = since(t1);
  const auto t2 = Clock::now();
  progress.phase("encoding", true);
  const auto train_ids = given->encode(train_text, o.encode_threads, counters);
  const auto val_ids = given->encode(val_text, o.encode_threads, counters);
  r.encode_s = since(t2);
  if (train_ids.empty() || val_ids.empty())
    user_error("{}: the {} split encodes to no tokens; expected text the tokenizer can encode", o.text,
               train_ids.empty() ? "train" : "validation");

  r.sha256 = sha256_hex(given->serialized());
  r.train = stats(train_ids.size(), train_text.size());
  r.val = stats(val_ids.size(), val_text.size());
  r.meta_json = detail::meta_json(id, r.sha256, r.train, r.val);
  detail::write_out(o.out, given->serialized(), train_ids, val_ids, r.meta_json);
  r.total_s = since(t0);
  return r;
}

}  // namespace scalelab::tokenizer
