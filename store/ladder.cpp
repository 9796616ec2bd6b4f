// WSD cooldown ladders (schema v5): a branch is a run that forked from its
// trunk's checkpoint, and before the fork its history is the trunk's.
#include "common/error.h"
#include "store/rows.h"
#include "store/run_row.h"
#include "store/sqlite.h"
#include "store/store.h"

#include <stdexcept>

namespace scalelab::store {

namespace {

using sql::Stmt;

// Copying into a run that is not this trunk's branch at this step would give it
// someone else's curve; the run row is the record of what forked from where.
void check_branch(sqlite3* db, const std::string& path, const std::string& trunk_id,
                  const std::string& branch_id, std::int64_t fork_step) {
  Stmt st(db, "SELECT coalesce(parent_id, ''), fork_step FROM runs WHERE id = ?1");
  st.bind_text(1, branch_id);
  if (!st.step()) user_error("{}: no run '{}'", path, branch_id);
  const std::string parent = st.col_text(0);
  const auto step = st.col_opt_int(1);
  if (parent != trunk_id || step != fork_step)
    user_error("{}: run '{}' is not a branch of '{}' at step {} (its parent is '{}', fork step {})", path,
               branch_id, trunk_id, fork_step, parent, step ? std::to_string(*step) : "none");
}

// OR REPLACE, so a repeat (or a trunk that rewrote its rows on resume) leaves the
// branch with exactly the trunk's rows; only keys up to fork_step are written.
int copy_metrics(sqlite3* db, const std::string& trunk_id, const std::string& branch_id,
                 std::int64_t fork_step, const RowsAtFork& at_fork) {
  Stmt st(db,
          "INSERT OR REPLACE INTO metrics (run_id, split, step, tokens, flops, loss, lr, grad_norm, wall_s) "
          "SELECT ?2, split, step, tokens, flops, loss, lr, grad_norm, wall_s FROM metrics "
          "WHERE run_id = ?1 AND (step < ?3 OR (step = ?3 AND "
          "((split = 'train' AND ?4) OR (split = 'val' AND ?5))))");
  st.bind_text(1, trunk_id)
      .bind_text(2, branch_id)
      .bind_int(3, fork_step)
      .bind_int(4, at_fork.train ? 1 : 0)
      .bind_int(5, at_fork.val ? 1 : 0);
  st.run();
  return sqlite3_changes(db);
}

int copy_evals(sqlite3* db, const std::string& trunk_id, const std::string& branch_id, std::int64_t fork_step,
               bool at_fork) {
  Stmt st(db,
          "INSERT OR REPLACE INTO evals (run_id, step, task, metric, value, n) "
          "SELECT ?2, step, task, metric, value, n FROM evals "
          "WHERE run_id = ?1 AND (step < ?3 OR (step = ?3 AND ?4))");
  st.bind_text(1, trunk_id).bind_text(2, branch_id).bind_int(3, fork_step).bind_int(4, at_fork ? 1 : 0);
  st.run();
  return sqlite3_changes(db);
}

}  // namespace

std::vector<Run> Store::branches(const std::string& trunk_id) const {
  // A range of runs_by_parent (parent_id, fork_step, rowid): no sort.
  return sql::retry(db_, [&] {
    Stmt st(db_, fmt::format("SELECT {} FROM runs WHERE parent_id = ?1 ORDER BY fork_step, rowid", kRunCols));
    st.bind_text(1, trunk_id);
    return all_rows<Run>(st, read_run);
  });
}

int Store::copy_trunk_rows(const std::string& trunk_id, const std::string& branch_id, std::int64_t fork_step,
                           const RowsAtFork& at_fork) {
  if (fork_step < 1) throw std::invalid_argument("copy_trunk_rows: fork_step must be >= 1");
  // One transaction: a branch never shows half its inherited curve.
  return sql::write(db_, [&] {
    check_branch(db_, path_, trunk_id, branch_id, fork_step);
    const int metrics = copy_metrics(db_, trunk_id, branch_id, fork_step, at_fork);
    return metrics + copy_evals(db_, trunk_id, branch_id, fork_step, at_fork.evals);
  });
}

}  // namespace scalelab::store
