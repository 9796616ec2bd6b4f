#pragma once
// The stamp on the orchestrators' log lines, local and SLURM alike.
#include <ctime>
#include <string>

namespace scalelab::sweep {

// "14:03:27" in local time: what a user watching the log compares with their clock.
inline std::string clock_time() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace scalelab::sweep
