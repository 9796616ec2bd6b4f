#pragma once
// SentencePiece behind a narrow interface (its headers stay in spm.cpp): train a
// model on lines of text, load one, encode text into uint16 ids on threads.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace scalelab::tokenizer::detail {

// Counters a progress reporter reads while the work runs on other threads.
struct Counters {
  std::atomic<std::uint64_t> lines_read{0};  // sentences the trainer has taken
  std::atomic<std::uint64_t> bytes_done{0};  // bytes encoded
};

// Trains a lossless model on the lines of `train_text` (identity normalisation,
// spaces kept, byte fallback, a newline piece); returns its serialized ModelProto.
// `text_name` names the source in errors (UserError: vocabulary too small for the
// characters, or too large for the text).
std::string train_model(std::string_view train_text, int vocab, const std::string& model_type,
                        std::uint64_t seed, const std::string& text_name, Counters& counters);

class Model {
 public:
  // UserError "WHAT: not a SentencePiece model (...)" when the bytes do not load.
  static Model load(std::string serialized, const std::string& what);
  int vocab() const;
  const std::string& model_type() const { return model_type_; }  // "bpe", "unigram", ...
  const std::string& serialized() const { return serialized_; }
  // Line by line, a line's ids then the newline's, on `threads` threads over
  // contiguous runs of lines concatenated in order: the same ids for any count.
  std::vector<std::uint16_t> encode(std::string_view text, int threads, Counters& counters) const;

 private:
  std::shared_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string serialized_, model_type_;
  std::vector<int> newline_ids_;
};

// trainer_spec.model_type of a serialized ModelProto, read from the protobuf wire
// format (Debian ships no sentencepiece_model.pb.h); "unknown" if absent.
std::string model_type_of(std::string_view serialized);

}  // namespace scalelab::tokenizer::detail
