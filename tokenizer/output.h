#pragma once
// The tokens directory on disk: is DIR already this tokenization, someone
// else's, or free; meta.json; and the atomic write (tokenizer/output.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace scalelab::tokenizer::detail {

// What makes two tokenizations the same: the source, the split and the
// tokenizer (its sha256 when it is given as --model; else the settings that
// determine the trained one).
struct Identity {
  std::string source_path, source_sha256;
  std::uint64_t source_bytes = 0;
  double val_fraction = 0;
  std::uint64_t seed = 0;
  std::string model_type, model_sha256;  // model_sha256 empty: trained here
  int vocab = 0;
};

enum class OutState { free, up_to_date };

// free: DIR is absent or empty (or --force). up_to_date: DIR holds exactly this
// tokenization, intact. Anything else is a UserError naming --out.
OutState check_out(const std::string& out, const Identity& id, bool force);

// meta.json, format scalelab-tokens-1 (docs/data.md).
std::string meta_json(const Identity& id, const std::string& model_sha256, const SplitStats& train,
                      const SplitStats& val);

// Writes DIR.tmp-<pid>/{train.bin,val.bin,tokenizer.model,meta.json}, fsyncs,
// then renames it to DIR (replacing an old DIR only after the new one is whole).
void write_out(const std::string& out, const std::string& model, const std::vector<std::uint16_t>& train,
               const std::vector<std::uint16_t>& val, const std::string& meta);

}  // namespace scalelab::tokenizer::detail
