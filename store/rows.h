#pragma once
// Internal to store/: reading result rows and naming the row a batch write failed on,
// shared by store.cpp (sweeps, runs, metrics) and results.cpp (evals, fits).
#include <stdexcept>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "store/sqlite.h"

namespace scalelab::store {

// A failing row in a batch is named, not just "FOREIGN KEY constraint failed".
template <typename F>
void naming_row(F&& f, std::string_view what) {
  try {
    f();
  } catch (const sql::Busy&) {
    throw;
  } catch (const UserError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("{}: {}", what, e.what()));
  }
}

template <typename T, typename Read>
std::vector<T> all_rows(sql::Stmt& st, Read read) {
  std::vector<T> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

}  // namespace scalelab::store
