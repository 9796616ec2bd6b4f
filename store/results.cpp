// The store's result tables: task evaluations and scaling-law fits.
#include "store/rows.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace scalelab::store {

namespace {

using sql::Stmt;

constexpr std::string_view kFitCols =
    "id, created_at, source, law, approach, selection, conventions, params, objective, "
    "n_points, convergence, result";

Fit read_fit(const Stmt& st) {
  Fit f;
  f.id = st.col_int(0);
  f.created_at = st.col_text(1);
  f.source = st.col_text(2);
  f.law = st.col_text(3);
  f.approach = st.col_text(4);
  f.selection = st.col_text(5);
  f.conventions = st.col_text(6);
  f.params = st.col_text(7);
  f.objective = st.col_real(8);
  f.n_points = st.col_int(9);
  f.convergence = st.col_text(10);
  f.result = st.col_text(11);
  return f;
}

}  // namespace

// ---------------------------------------------------------------- evals

void Store::write_evals(const std::vector<Eval>& es) {
  if (es.empty()) return;
  sql::write(db_, [&] {
    Stmt st(db_,
            "INSERT INTO evals (run_id, step, task, metric, value, n) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
            "ON CONFLICT (run_id, step, task, metric) DO UPDATE SET value = excluded.value, "
            "n = excluded.n");
    for (const auto& e : es) {
      naming_row(
          [&] {
            st.bind_text(1, e.run_id)
                .bind_int(2, e.step)
                .bind_text(3, e.task)
                .bind_text(4, e.metric)
                .bind_real(5, e.value)
                .bind_int(6, e.n);
            st.run();
          },
          fmt::format("writing eval (run '{}', step {}, task '{}', metric '{}')", e.run_id, e.step,
                      e.task, e.metric));
    }
  });
}

std::vector<Eval> Store::evals(const std::string& run_id, const std::string& task) const {
  auto read = [](const Stmt& st) {
    return Eval{st.col_text(0), st.col_int(1), st.col_text(2),
                st.col_text(3), st.col_real(4), st.col_int(5)};
  };
  return sql::retry(db_, [&] {
    Stmt st(db_,
            task.empty()
                ? "SELECT run_id, step, task, metric, value, n FROM evals WHERE run_id = ?1 "
                  "ORDER BY step, task, metric"
                : "SELECT run_id, step, task, metric, value, n FROM evals WHERE run_id = ?1 "
                  "AND task = ?2 ORDER BY step, task, metric");
    st.bind_text(1, run_id);
    if (!task.empty()) st.bind_text(2, task);
    return all_rows<Eval>(st, read);
  });
}

// ---------------------------------------------------------------- fits

std::int64_t Store::add_fit(const Fit& f) {
  return sql::write(db_, [&] {
    Stmt st(db_,
            "INSERT INTO fits (created_at, source, law, approach, selection, conventions, params, "
            "objective, n_points, convergence, result) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    st.bind_text(1, f.created_at.empty() ? now_iso8601() : f.created_at)
        .bind_text(2, f.source)
        .bind_text(3, f.law)
        .bind_text(4, f.approach)
        .bind_text_or_null(5, f.selection)
        .bind_text_or_null(6, f.conventions)
        .bind_text_or_null(7, f.params)
        .bind_real(8, f.objective)
        .bind_int(9, f.n_points)
        .bind_text_or_null(10, f.convergence)
        .bind_text_or_null(11, f.result);
    naming_row([&] { st.run(); }, fmt::format("adding a {} fit of {}", f.law, f.source));
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
  });
}

std::optional<Fit> Store::fit(std::int64_t id) const {
  return sql::retry(db_, [&]() -> std::optional<Fit> {
    Stmt st(db_, fmt::format("SELECT {} FROM fits WHERE id = ?1", kFitCols));
    st.bind_int(1, id);
    if (!st.step()) return std::nullopt;
    return read_fit(st);
  });
}

std::optional<Fit> Store::latest_fit() const {
  return sql::retry(db_, [&]() -> std::optional<Fit> {
    Stmt st(db_, fmt::format("SELECT {} FROM fits ORDER BY id DESC LIMIT 1", kFitCols));
    if (!st.step()) return std::nullopt;
    return read_fit(st);
  });
}

std::vector<Fit> Store::fits() const {
  return sql::retry(db_, [&] {
    Stmt st(db_, fmt::format("SELECT {} FROM fits ORDER BY id", kFitCols));
    return all_rows<Fit>(st, read_fit);
  });
}

}  // namespace scalelab::store

