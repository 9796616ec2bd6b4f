#pragma once
// Internal to sweep/slurm*.cpp: running SLURM's command-line tools.
#include <string>
#include <vector>

namespace scalelab::sweep::slurm::detail {

struct Cmd {
  int rc = -1;
  std::string out, err;
};

// Runs argv without a shell (no quoting to get wrong), capturing stdout and stderr.
Cmd run_cmd(const std::vector<std::string>& args);
// The last non-empty line of a tool's output (sbatch --parsable prints the id last).
std::string first_line(std::string s);
bool on_path(const std::string& exe);

}  // namespace scalelab::sweep::slurm::detail
