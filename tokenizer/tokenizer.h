#pragma once
// `scalelab data tokenize`: a SentencePiece tokenizer trained on (or loaded for)
// any UTF-8 text, and the text encoded into a nanoGPT tokens directory
// (train.bin, val.bin, tokenizer.model, meta.json; format in docs/data.md).
// Torch-free: the CLI links it, the trainer only reads what it writes.
#include <cstdint>
#include <string>
#include <string_view>

namespace scalelab::tokenizer {

// Vocabulary bounds: 256 byte-fallback pieces, <unk> and the newline piece are
// always in the vocabulary (kFixedPieces), so 259 is the least that holds one
// character; 65535 is the most uint16 ids (train.bin) can hold with room for
// nothing else. The text itself may ask for more (one piece per character).
inline constexpr int kFixedPieces = 258;
inline constexpr int kMinVocab = kFixedPieces + 1;
inline constexpr int kMaxVocab = 65535;

struct Options {
  std::string text;               // the source, any UTF-8 file
  std::string out;                // the tokens directory to write
  std::int64_t vocab = 0;         // 0: what --model holds (required when training)
  std::string model_type;         // bpe | unigram; empty: bpe, or what --model is
  std::string model;              // an existing .model to use instead of training
  double val_fraction = 0.01;     // the tail of the text held out, cut at a line boundary
  std::uint64_t seed = 1;
  int encode_threads = 2;         // encoding only: training always uses 2, see docs/data.md
  bool force = false;             // replace an --out holding another tokenizer's files
  bool progress = true;           // phase, done/total and ETA on stderr for long inputs
};

struct SplitStats {
  std::uint64_t tokens = 0, bytes = 0;
  double bytes_per_token = 0;
};

struct Result {
  bool up_to_date = false;  // DIR already held this source tokenized this way: nothing written
  std::string out, sha256, model_type, meta_json;
  int vocab = 0;
  SplitStats train, val;
  double train_s = 0, encode_s = 0, total_s = 0;  // seconds: tokenizer training, encoding, all
};

// Validates everything before writing anything (UserError naming the flag or
// file on bad input), then writes DIR atomically: into DIR.tmp-<pid>, renamed
// into place once complete.
Result tokenize(const Options& opt);

// The same through the plugin scalelab-tokenizer.so (tokenizer/module.cpp), for
// the CLI: SentencePiece's bundled protobuf must not share a process with
// LibTorch's. Library scalelab_tokenizer_loader; links no SentencePiece.
Result tokenize_isolated(const Options& opt);
inline constexpr int kPluginAbi = 1;  // bump when Options or Result change layout
enum PluginStatus { kPluginOk = 0, kPluginUserError = 1, kPluginInternalError = 2, kPluginResourceError = 3 };

// The byte offset where the validation split starts: the first line start at or
// after (1 - val_fraction) of the text, else the last line start before it; so
// both splits are whole lines. Returns text.size() when no line boundary fits.
std::size_t split_point(std::string_view text, double val_fraction);

// Lowercase hex SHA-256 (FIPS 180-4): the tokenizer's and the source's identity.
std::string sha256_hex(std::string_view data);

}  // namespace scalelab::tokenizer
