#pragma once
// A single run's config: TOML in, a validated trainer::RunSpec out, plus the
// canonical text whose hash is the run's identity. docs/config.md lists every key.
#include <string>
#include <string_view>

#include "config/config.h"
#include "store/store.h"
#include "trainer/trainer.h"

namespace scalelab::sweep {

struct RunConfig {
  std::string name;  // cosmetic; not part of the identity
  trainer::RunSpec spec;
};

// Reads and validates a run config. Relative data paths resolve against the
// current directory and are stored absolute, so a worker started anywhere finds them.
RunConfig load_run_config(const std::string& path);
// Same, from text (a stored resolved config, or a test). `source` names it in errors.
RunConfig parse_run_config(std::string_view text, const std::string& source, bool check_data = true);

// Every field explicit, shape resolved, keys sorted: the run's identity.
std::string canonical_toml(const RunConfig& rc);
std::string run_id(const RunConfig& rc);  // 16 hex digits of FNV-1a over canonical_toml

// Reads [data] (for run and sweep configs alike): the path is made absolute and,
// with check_data, must hold the data.
void read_data(const config::ReaderFor& at, const toml::table& data, trainer::RunSpec& s, bool check_data);

// model.vocab's limits: bytes need 256, uint16 tokens at most 65536.
void check_vocab(const config::TomlReader& r, const toml::table& model, const trainer::RunSpec& s);

// The store row for a new run of this config.
store::Run run_record(const RunConfig& rc, const std::string& sweep_id = "");

}  // namespace scalelab::sweep
