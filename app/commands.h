#pragma once
// Every `scalelab` subcommand registers itself on the root CLI11 app.
// One file per command group; each reads the store and calls into a module's
// public header, never another module's internals.
#include <CLI/CLI.hpp>

#include <string>

namespace scalelab::app {

// The database a command uses unless --db says otherwise: $SCALELAB_DB or ./scalelab.db.
std::string default_db();
// Adds the shared `--db PATH` option to a subcommand.
CLI::Option* add_db_option(CLI::App* cmd, std::string& db);
// Flag checks with plain messages: "expected a positive number, got '0'".
const CLI::Validator& positive();
const CLI::Validator& non_negative();

void add_data_command(CLI::App& root);
void add_train_command(CLI::App& root);
void add_runs_commands(CLI::App& root);  // runs, curves
void add_fit_commands(CLI::App& root);   // fit, forecast
void add_sweep_commands(CLI::App& root);  // plan, sweep, status, cancel, retry
void add_report_commands(CLI::App& root);  // report, export
void add_emergence_command(CLI::App& root);

}  // namespace scalelab::app
