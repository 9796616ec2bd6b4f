#pragma once
// Errors a user can fix (bad config, missing file, bad flag) versus bugs.
// The CLI prints a UserError as one line and exits with code 2.
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace scalelab {

struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void user_error(fmt::format_string<Args...> f, Args&&... args) {
  throw UserError(fmt::format(f, std::forward<Args>(args)...));
}

// The machine, not the input: a full disk, a database locked for minutes. Nothing
// was lost and the same command works once the resource is back (exit code 4).
struct ResourceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void resource_error(fmt::format_string<Args...> f, Args&&... args) {
  throw ResourceError(fmt::format(f, std::forward<Args>(args)...));
}

// Exit codes, documented in the README: 0 ok, 1 internal error, 2 bad input,
// 3 the run diverged (a result, but one a script must not mistake for success),
// 4 out of a resource (disk full, database locked): rerun once it is back.
inline constexpr int kExitUserError = 2;
inline constexpr int kExitDiverged = 3;
inline constexpr int kExitResource = 4;

// Thrown to end the program with a specific code after output was printed.
struct ExitStatus {
  int code;
};

}  // namespace scalelab
