#pragma once
// Bits per byte: losses in a unit that does not depend on the tokenizer, and the
// meta.json a tokens directory (`scalelab data tokenize`) describes itself with.
// Torch-free (scalelab_trainer_core), so the store, the fitter and the tokenizer
// share one formula and one reader.
#include <cstdint>
#include <optional>
#include <string>

namespace scalelab::trainer {

// DIR/meta.json of a tokens directory, format "scalelab-tokens-1" (docs/config.md).
struct TokensMeta {
  std::string format, tokenizer_kind, model_type, sha256, file;
  int vocab = 0;
  std::uint64_t seed = 0;
  double val_fraction = 0;
  std::string source_path, source_sha256;
  double source_bytes = 0;
  struct Split {
    double tokens = 0, bytes = 0, bytes_per_token = 0;
  } train, val;
};

// nullopt when DIR/meta.json does not exist (nanoGPT directories made by hand,
// whose losses then have no bits per byte); UserError "DIR/meta.json: KEY:
// expected ..." when it exists but is not such a file.
std::optional<TokensMeta> read_tokens_meta(const std::string& dir);

// A loss in nats per token as bits per byte: nats / (ln 2 x bytes per token), where
// bytes per token is that of the split the loss was measured on. Byte-level data
// has 1 byte per token, so there it is nats / ln 2. The one place for the formula.
double bits_per_byte(double nats_per_token, double bytes_per_token);

}  // namespace scalelab::trainer
