// Fuzzes the TOML run-config reader, sweep::parse_run_config (text in, no data
// check): `scalelab train CONFIG` and every stored resolved config go through it,
// and its contract is that any text either parses or throws UserError. A config
// that parses must also round-trip: its canonical TOML (the run's identity)
// parses again to the same canonical text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "sweep/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  scalelab::sweep::RunConfig rc;
  try {
    rc = scalelab::sweep::parse_run_config(text, "fuzz.toml", /*check_data=*/false);
  } catch (const scalelab::UserError&) {
    return 0;  // rejected with a message: the contract holds
  }
  const std::string canon = scalelab::sweep::canonical_toml(rc);
  std::string again;
  try {
    again = scalelab::sweep::canonical_toml(scalelab::sweep::parse_run_config(canon, "canonical", false));
  } catch (const scalelab::UserError& e) {
    std::fprintf(stderr, "canonical TOML does not parse again: %s\n---\n%s---\n", e.what(), canon.c_str());
    std::abort();
  }
  if (again != canon) {
    std::fprintf(stderr, "canonical TOML is not stable:\n%s---\n%s---\n", canon.c_str(), again.c_str());
    std::abort();
  }
  return 0;
}
