#include <fmt/core.h>

#include <cmath>
#include <cstdlib>
#include <exception>

#include "app/commands.h"
#include "common/error.h"

namespace scalelab::app {

std::string default_db() {
  const char* env = std::getenv("SCALELAB_DB");
  return env && *env ? env : "scalelab.db";
}

CLI::Option* add_db_option(CLI::App* cmd, std::string& db) {
  db = default_db();
  return cmd->add_option("--db", db, "SQLite database (default: $SCALELAB_DB or ./scalelab.db)");
}

// CLI11's PositiveNumber prints its range ("Value 0 not in range 0.000000 to
// 1797693134862315708145274237317043567980705675258449965989174768031572607800...");
// these say what is expected, in the words of the rest of the CLI.
namespace {
CLI::Validator number_check(bool allow_zero) {
  return CLI::Validator(
      [allow_zero](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        const bool ok = end != s.c_str() && *end == '\0' && std::isfinite(v) && (allow_zero ? v >= 0 : v > 0);
        if (ok) return "";
        return fmt::format("expected a {} number, got '{}'", allow_zero ? "non-negative" : "positive", s);
      },
      allow_zero ? "NONNEGATIVE" : "POSITIVE");
}
// CLI11 says "Could not convert: --compute = lots"; this says what was expected.
std::string usage_message(CLI::App& root, const CLI::ParseError& e) {
  const std::string what = e.what(), head = "Could not convert: ";
  const auto eq = what.find(" = ");
  if (!dynamic_cast<const CLI::ConversionError*>(&e) || what.rfind(head, 0) != 0 || eq == std::string::npos)
    return what;
  const std::string name = what.substr(head.size(), eq - head.size()), value = what.substr(eq + 3);
  std::string type;
  for (auto* sub : root.get_subcommands())
    if (auto* o = sub->get_option_no_throw(name)) type = o->get_type_name();
  const char* expected = type.rfind("UINT", 0) == 0  ? "a non-negative integer"
                         : type.rfind("INT", 0) == 0 ? "an integer"
                                                     : "a number";
  return fmt::format("{}: expected {}, got '{}'", name, expected, value);
}
}  // namespace

const CLI::Validator& positive() {
  static const CLI::Validator v = number_check(false);
  return v;
}
const CLI::Validator& non_negative() {
  static const CLI::Validator v = number_check(true);
  return v;
}

}  // namespace scalelab::app

int main(int argc, char** argv) {
  using namespace scalelab;
  CLI::App root{"scalelab: plan, run and fit scaling-law experiments", "scalelab"};
  root.require_subcommand(1);
  root.set_version_flag("--version", "scalelab 0.1.0");
  app::add_data_command(root);
  app::add_train_command(root);
  app::add_runs_commands(root);
  app::add_fit_commands(root);
  app::add_sweep_commands(root);
  app::add_report_commands(root);
  app::add_emergence_command(root);
  try {
    root.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return root.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors are bad input like any other: one line, exit 2.
    fmt::print(stderr, "scalelab: error: {}\n", app::usage_message(root, e));
    return kExitUserError;
  } catch (const ExitStatus& e) {
    return e.code;
  } catch (const UserError& e) {
    fmt::print(stderr, "scalelab: error: {}\n", e.what());
    return kExitUserError;
  } catch (const ResourceError& e) {
    fmt::print(stderr, "scalelab: error: {}\n", e.what());
    return kExitResource;
  } catch (const std::exception& e) {
    fmt::print(stderr, "scalelab: internal error: {}\n", e.what());
    return 1;
  }
  return 0;
}
