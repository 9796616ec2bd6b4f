// Bits per byte and the tokens directory's meta.json reader (trainer/bpb.h).
#include "trainer/bpb.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"

namespace scalelab::trainer {

namespace {

using json = nlohmann::json;

// Reads keys of one object, naming the file and the dotted key on any mismatch,
// so a hand-edited meta.json says which line to fix.
struct Reader {
  std::string file;

  const json& at(const json& obj, const std::string& path, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) user_error("{}: {}: expected a value, the key is missing", file, path);
    return *it;
  }
  const json& object(const json& obj, const std::string& path, const char* key) const {
    const auto& v = at(obj, path, key);
    if (!v.is_object()) user_error("{}: {}: expected an object", file, path);
    return v;
  }
  std::string text(const json& obj, const std::string& path, const char* key) const {
    const auto& v = at(obj, path, key);
    if (!v.is_string()) user_error("{}: {}: expected a string", file, path);
    return v.get<std::string>();
  }
  // A finite number >= 0 (> 0 when positive): every number here is a count or a ratio.
  double number(const json& obj, const std::string& path, const char* key, bool positive) const {
    const auto& v = at(obj, path, key);
    if (!v.is_number()) user_error("{}: {}: expected a number", file, path);
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < 0 || (positive && x == 0))
      user_error("{}: {}: expected a {} number, got {}", file, path, positive ? "positive" : "non-negative", v.dump());
    return x;
  }
};

TokensMeta::Split read_split(const Reader& r, const json& splits, const char* name) {
  const std::string p = std::string("splits.") + name;
  const auto& s = r.object(splits, p, name);
  TokensMeta::Split out;
  out.tokens = r.number(s, p + ".tokens", "tokens", true);
  out.bytes = r.number(s, p + ".bytes", "bytes", true);
  out.bytes_per_token = r.number(s, p + ".bytes_per_token", "bytes_per_token", true);
  // bytes_per_token is written as bytes / tokens, possibly rounded: a gross
  // mismatch means the file was edited or belongs to other data.
  if (std::abs(out.bytes_per_token - out.bytes / out.tokens) > 1e-3 * out.bytes_per_token + 1e-3)
    user_error("{}: {}.bytes_per_token: expected bytes / tokens = {:g}, got {:g}", r.file, p, out.bytes / out.tokens,
               out.bytes_per_token);
  return out;
}

TokensMeta parse(const Reader& r, const json& j) {
  if (!j.is_object()) user_error("{}: expected a JSON object", r.file);
  TokensMeta m;
  m.format = r.text(j, "format", "format");
  if (m.format != "scalelab-tokens-1")
    user_error("{}: format: expected \"scalelab-tokens-1\", got \"{}\"", r.file, m.format);
  const auto& tok = r.object(j, "tokenizer", "tokenizer");
  m.tokenizer_kind = r.text(tok, "tokenizer.kind", "kind");
  m.model_type = r.text(tok, "tokenizer.model_type", "model_type");
  m.sha256 = r.text(tok, "tokenizer.sha256", "sha256");
  if (m.sha256.size() != 64 || m.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
    user_error("{}: tokenizer.sha256: expected 64 lowercase hex digits, got \"{}\"", r.file, m.sha256);
  m.file = r.text(tok, "tokenizer.file", "file");
  const double vocab = r.number(tok, "tokenizer.vocab", "vocab", true);
  if (vocab != std::floor(vocab) || vocab > 65536)
    user_error("{}: tokenizer.vocab: expected an integer in [1, 65536] (uint16 ids), got {:g}", r.file, vocab);
  m.vocab = static_cast<int>(vocab);
  const auto dtype = r.text(j, "dtype", "dtype");
  if (dtype != "uint16") user_error("{}: dtype: expected \"uint16\", got \"{}\"", r.file, dtype);
  m.seed = static_cast<std::uint64_t>(r.number(j, "seed", "seed", false));
  m.val_fraction = r.number(j, "val_fraction", "val_fraction", false);
  const auto& src = r.object(j, "source", "source");
  m.source_path = r.text(src, "source.path", "path");
  m.source_bytes = r.number(src, "source.bytes", "bytes", false);
  m.source_sha256 = r.text(src, "source.sha256", "sha256");
  const auto& splits = r.object(j, "splits", "splits");
  m.train = read_split(r, splits, "train");
  m.val = read_split(r, splits, "val");
  return m;
}

}  // namespace

std::optional<TokensMeta> read_tokens_meta(const std::string& dir) {
  const auto path = std::filesystem::path(dir) / "meta.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  const Reader r{path.string()};
  std::ifstream in(path, std::ios::binary);
  if (!in) user_error("{}: cannot be read", r.file);
  std::stringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) user_error("{}: expected JSON, the file does not parse", r.file);
  return parse(r, j);
}

double bits_per_byte(double nats_per_token, double bytes_per_token) {
  return nats_per_token / (std::log(2.0) * bytes_per_token);
}

}  // namespace scalelab::trainer
