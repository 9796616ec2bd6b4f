#include "store/store.h"

#include "common/error.h"
#include "store/schema.h"
#include "store/rows.h"
#include "store/run_row.h"
#include "store/sqlite.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <filesystem>
#include <stdexcept>

namespace scalelab::store {

namespace {

using sql::Stmt;

// Shorter prefixes of a 16-hex-digit id match too many runs to be worth trying.
constexpr std::size_t kMinPrefix = 4;

constexpr std::array<std::string_view, 7> kStatuses{"pending", "running", "stopped", "done",
                                                    "diverged", "failed", "cancelled"};

void check_status(const std::string& status) {
  if (std::find(kStatuses.begin(), kStatuses.end(), status) == kStatuses.end())
    user_error("unknown run status '{}' (expected one of: {})", status, fmt::join(kStatuses, ", "));
}

bool is_terminal(std::string_view status) { return status != "pending" && status != "running"; }

constexpr std::string_view kSweepCols = "id, name, config_toml, created_at";

Sweep read_sweep(const Stmt& st) {
  return Sweep{st.col_text(0), st.col_text(1), st.col_text(2), st.col_text(3)};
}

constexpr std::string_view kInsertRun =
    "INSERT INTO runs (" SCALELAB_RUN_IDENTITY_COLS
    ", status, attempts, created_at, started_at, finished_at, "
    "heartbeat_at, error, steps_done, tokens_done, final_train_loss, final_val_loss, "
    "tokens_per_s, wall_s, unique_tokens, epochs, final_val_loss_se) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
    "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, "
    "?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37) "
    "ON CONFLICT (id) DO NOTHING";

}  // namespace

Run read_run(const Stmt& st) {
  Run r;
  r.id = st.col_text(0);
  r.sweep_id = st.col_text(1);
  r.name = st.col_text(2);
  r.config_toml = st.col_text(3);
  r.config_hash = st.col_text(4);
  r.shape = st.col_text(5);
  r.n_layer = static_cast<int>(st.col_int(6));
  r.d_model = static_cast<int>(st.col_int(7));
  r.n_head = static_cast<int>(st.col_int(8));
  r.seq_len = static_cast<int>(st.col_int(9));
  r.vocab = static_cast<int>(st.col_int(10));
  r.params_total = st.col_int(11);
  r.params_non_embedding = st.col_int(12);
  r.flops_per_token = st.col_real(13);
  r.flop_convention = st.col_text(14);
  r.planned_tokens = st.col_real(15);
  r.status = st.col_text(16);
  r.attempts = static_cast<int>(st.col_int(17));
  r.created_at = st.col_text(18);
  r.started_at = st.col_text(19);
  r.finished_at = st.col_text(20);
  r.heartbeat_at = st.col_text(21);
  r.error = st.col_text(22);
  r.steps_done = st.col_int(23);
  r.tokens_done = st.col_real(24);
  r.final_train_loss = st.col_opt_real(25);
  r.final_val_loss = st.col_opt_real(26);
  r.tokens_per_s = st.col_real(27);
  r.wall_s = st.col_real(28);
  r.unique_tokens = st.col_opt_real(29);
  r.epochs = st.col_opt_real(30);
  r.final_val_loss_se = st.col_opt_real(31);
  r.parent_id = st.col_text(32);
  r.fork_step = st.col_opt_int(33);
  r.accelerator = st.col_text(34);
  r.peak_tflops = st.col_opt_real(35);
  r.mfu = st.col_opt_real(36);
  r.tokenizer = st.col_text(37);
  r.bytes_per_token = st.col_opt_real(38);
  r.train_bytes_per_token = st.col_opt_real(39);
  return r;
}

namespace {

void bind_run(Stmt& st, const Run& r) {
  if (r.id.empty()) throw std::invalid_argument("add_run: a run needs an id");
  check_status(r.status);
  bind_run_identity(st, r, r.sweep_id)
      .bind_text(22, r.status)
      .bind_int(23, r.attempts)
      .bind_text(24, r.created_at.empty() ? now_iso8601() : r.created_at)
      .bind_text_or_null(25, r.started_at)
      .bind_text_or_null(26, r.finished_at)
      .bind_text_or_null(27, r.heartbeat_at)
      .bind_text_or_null(28, r.error)
      .bind_int(29, r.steps_done)
      .bind_real(30, r.tokens_done)
      .bind_real(31, r.final_train_loss)
      .bind_real(32, r.final_val_loss)
      .bind_real(33, r.tokens_per_s)
      .bind_real(34, r.wall_s)
      .bind_real(35, r.unique_tokens)
      .bind_real(36, r.epochs)
      .bind_real(37, r.final_val_loss_se);
}

}  // namespace

sql::Stmt& bind_run_identity(sql::Stmt& st, const Run& r, const std::string& sweep_id) {
  return st.bind_text(1, r.id)
      .bind_text_or_null(2, sweep_id)
      .bind_text(3, r.name)
      .bind_text(4, r.config_toml)
      .bind_text(5, r.config_hash)
      .bind_text(6, r.shape)
      .bind_int(7, r.n_layer)
      .bind_int(8, r.d_model)
      .bind_int(9, r.n_head)
      .bind_int(10, r.seq_len)
      .bind_int(11, r.vocab)
      .bind_int(12, r.params_total)
      .bind_int(13, r.params_non_embedding)
      .bind_real(14, r.flops_per_token)
      .bind_text(15, r.flop_convention)
      .bind_real(16, r.planned_tokens)
      .bind_text_or_null(17, r.parent_id)
      .bind_int(18, r.fork_step)
      .bind_text_or_null(19, r.tokenizer)
      .bind_real(20, r.bytes_per_token)
      .bind_real(21, r.train_bytes_per_token);
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Store::Store(std::string path) : path_(std::move(path)) {}

Store::~Store() { sqlite3_close_v2(db_); }

std::unique_ptr<Store> Store::open_existing(const std::string& path, const std::string& hint) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) user_error("{}: no such database{}", path, hint);
  // SQLite takes an empty file for an empty database, and opening would write a
  // schema into it: a command that only reads must leave the file as it found it.
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) == 0)
    user_error("{}: an empty file, not a scalelab database{}", path, hint);
  return open(path);
}

std::unique_ptr<Store> Store::open(const std::string& path, Journal journal) {
  if (path.empty()) user_error("--db: expected a database path, got an empty string");
  std::unique_ptr<Store> s(new Store(path));
  const int rc = sqlite3_open_v2(path.c_str(), &s->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                 nullptr);
  if (rc != SQLITE_OK) {
    user_error("{}: cannot open the database ({}); check that its directory exists and is writable",
               path, s->db_ ? sqlite3_errmsg(s->db_) : sqlite3_errstr(rc));
  }
  sqlite3* db = s->db_;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, sql::busy_timeout_ms());
  // Another program's SQLite file is refused before anything changes it (WAL
  // mode, for one, is written into the file).
  schema::check_identity(db, path);
  // WAL lets readers (`status`, reports) run beside one writer at a time. It is a
  // property of the file, but asking on every connection costs nothing.
  const bool wal = journal == Journal::Wal;
  const std::string mode = sql::retry(db, [&] {
    Stmt st(db, wal ? "PRAGMA journal_mode = WAL" : "PRAGMA journal_mode = DELETE");
    st.step();
    return st.col_text(0);
  });
  if (wal && mode != "wal" && mode != "memory")
    user_error("{}: cannot use WAL journal mode (SQLite kept '{}'); put the database on a local "
               "filesystem",
               path, mode);
  // In WAL mode NORMAL syncs only at checkpoints: a power loss can drop the last
  // few commits but never corrupts the file, and the trainer checkpoints only after
  // flushing metrics, so a resumed run rewrites whatever was lost (writes are
  // idempotent).
  // Outside WAL, NORMAL can corrupt the file on a power loss: shards sync fully.
  sql::exec(db, wal ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL");
  schema::migrate(db, path, schema::migrations());
  sql::exec(db, "PRAGMA foreign_keys = ON");
  return s;
}

int Store::schema_version() const {
  return sql::retry(db_, [&] { return schema::user_version(db_); });
}

// ---------------------------------------------------------------- sweeps

bool Store::add_sweep(const Sweep& s) {
  if (s.id.empty()) throw std::invalid_argument("add_sweep: a sweep needs an id");
  return sql::write(db_, [&] {
    Stmt st(db_,
            "INSERT INTO sweeps (id, name, config_toml, created_at) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (id) DO NOTHING");
    st.bind_text(1, s.id)
        .bind_text(2, s.name)
        .bind_text(3, s.config_toml)
        .bind_text(4, s.created_at.empty() ? now_iso8601() : s.created_at);
    st.run();
    return sqlite3_changes(db_) > 0;
  });
}

std::optional<Sweep> Store::sweep(const std::string& key) const {
  return sql::read(db_, [&]() -> std::optional<Sweep> {
    {
      Stmt st(db_, fmt::format("SELECT {} FROM sweeps WHERE id = ?1", kSweepCols));
      st.bind_text(1, key);
      if (st.step()) return read_sweep(st);
    }
    {
      Stmt st(db_, fmt::format("SELECT {} FROM sweeps WHERE name = ?1 ORDER BY rowid", kSweepCols));
      st.bind_text(1, key);
      auto named = all_rows<Sweep>(st, read_sweep);
      if (named.size() == 1) return named.front();
      if (named.size() > 1) {
        std::vector<std::string> ids;
        for (const auto& s : named) ids.push_back(s.id);
        user_error("{}: {} sweeps are named '{}' ({}); give a sweep id instead", path_,
                   named.size(), key, fmt::join(ids, ", "));
      }
    }
    if (key.size() < kMinPrefix) return std::nullopt;
    Stmt st(db_, fmt::format("SELECT {} FROM sweeps WHERE substr(id, 1, length(?1)) = ?1 "
                             "ORDER BY id",
                             kSweepCols));
    st.bind_text(1, key);
    auto matches = all_rows<Sweep>(st, read_sweep);
    if (matches.empty()) return std::nullopt;
    if (matches.size() > 1)
      user_error("{}: sweep id prefix '{}' is ambiguous: it matches {} sweeps; type more of the id",
                 path_, key, matches.size());
    return matches.front();
  });
}

std::vector<Sweep> Store::sweeps() const {
  return sql::retry(db_, [&] {
    Stmt st(db_, fmt::format("SELECT {} FROM sweeps ORDER BY created_at, rowid", kSweepCols));
    return all_rows<Sweep>(st, read_sweep);
  });
}

// ---------------------------------------------------------------- runs

bool Store::add_run(const Run& r) { return add_runs({r}) == 1; }

int Store::add_runs(const std::vector<Run>& rs) {
  if (rs.empty()) return 0;
  return sql::write(db_, [&] {
    Stmt st(db_, kInsertRun);
    int added = 0;
    for (const auto& r : rs) {
      naming_row(
          [&] {
            bind_run(st, r);
            st.run();
          },
          fmt::format("adding run '{}'", r.id));
      added += sqlite3_changes(db_);
    }
    return added;
  });
}

std::optional<Run> Store::run(const std::string& key) const {
  return sql::read(db_, [&]() -> std::optional<Run> {
    {
      Stmt st(db_, fmt::format("SELECT {} FROM runs WHERE id = ?1", kRunCols));
      st.bind_text(1, key);
      if (st.step()) return read_run(st);
    }
    if (key.size() < kMinPrefix) return std::nullopt;
    // A scan, but of the runs table only: thousands of rows, not the metrics.
    Stmt st(db_, fmt::format("SELECT {} FROM runs WHERE substr(id, 1, length(?1)) = ?1 "
                             "ORDER BY id LIMIT 2",
                             kRunCols));
    st.bind_text(1, key);
    auto matches = all_rows<Run>(st, read_run);
    if (matches.empty()) return std::nullopt;
    if (matches.size() > 1) {
      Stmt count(db_, "SELECT count(*) FROM runs WHERE substr(id, 1, length(?1)) = ?1");
      count.bind_text(1, key);
      count.step();
      user_error("{}: run id prefix '{}' is ambiguous: it matches {} runs; type more of the id",
                 path_, key, count.col_int(0));
    }
    return matches.front();
  });
}

std::vector<Run> Store::runs(const std::string& sweep_id) const {
  return sql::retry(db_, [&] {
    if (sweep_id.empty()) {
      Stmt st(db_, fmt::format("SELECT {} FROM runs ORDER BY rowid", kRunCols));
      return all_rows<Run>(st, read_run);
    }
    Stmt st(db_, fmt::format("SELECT {} FROM runs WHERE sweep_id = ?1 ORDER BY rowid", kRunCols));
    st.bind_text(1, sweep_id);
    return all_rows<Run>(st, read_run);
  });
}

namespace {
void require_changed(sqlite3* db, const std::string& path, const std::string& id) {
  if (sqlite3_changes(db) == 0) user_error("{}: no run '{}'", path, id);
}
}  // namespace

void Store::mark_running(const std::string& id) {
  sql::write(db_, [&] {
    Stmt st(db_,
            "UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = ?2, "
            "heartbeat_at = ?2, finished_at = NULL, error = NULL WHERE id = ?1");
    st.bind_text(1, id).bind_text(2, now_iso8601());
    st.run();
    require_changed(db_, path_, id);
  });
}

void Store::heartbeat(const std::string& id, std::int64_t steps_done, double tokens_done,
                      double tokens_per_s) {
  sql::write(db_, [&] {
    Stmt st(db_,
            "UPDATE runs SET heartbeat_at = ?2, steps_done = ?3, tokens_done = ?4, "
            "tokens_per_s = ?5, mfu = " SCALELAB_MFU_SQL("?5") " WHERE id = ?1");
    st.bind_text(1, id)
        .bind_text(2, now_iso8601())
        .bind_int(3, steps_done)
        .bind_real(4, tokens_done)
        .bind_real(5, tokens_per_s);
    st.run();
    require_changed(db_, path_, id);
  });
}

void Store::set_accelerator(const std::string& id, const std::string& accelerator,
                            std::optional<double> peak_tflops) {
  sql::write(db_, [&] {
    Stmt st(db_, "UPDATE runs SET accelerator = ?2, peak_tflops = ?3, mfu = NULL WHERE id = ?1");
    st.bind_text(1, id).bind_text_or_null(2, accelerator).bind_real(3, peak_tflops);
    st.run();
    require_changed(db_, path_, id);
  });
}

void Store::finish_run(const Run& r) {
  check_status(r.status);
  if (r.status == "running")
    throw std::invalid_argument("finish_run: 'running' is not a terminal or resting status");
  sql::write(db_, [&] {
    Stmt st(db_,
            "UPDATE runs SET status = ?2, error = ?3, steps_done = ?4, tokens_done = ?5, "
            "final_train_loss = ?6, final_val_loss = ?7, tokens_per_s = ?8, wall_s = ?9, "
            "finished_at = ?10, unique_tokens = ?11, epochs = ?12, final_val_loss_se = ?13, "
            "mfu = " SCALELAB_MFU_SQL("?8") " WHERE id = ?1");
    st.bind_text(1, r.id)
        .bind_text(2, r.status)
        .bind_text_or_null(3, r.error)
        .bind_int(4, r.steps_done)
        .bind_real(5, r.tokens_done)
        .bind_real(6, r.final_train_loss)
        .bind_real(7, r.final_val_loss)
        .bind_real(8, r.tokens_per_s)
        .bind_real(9, r.wall_s)
        .bind_text(10, r.finished_at.empty() ? now_iso8601() : r.finished_at)
        .bind_real(11, r.unique_tokens)
        .bind_real(12, r.epochs)
        .bind_real(13, r.final_val_loss_se);
    st.run();
    require_changed(db_, path_, r.id);
  });
}

void Store::set_status(const std::string& id, const std::string& status, const std::string& error) {
  check_status(status);
  sql::write(db_, [&] {
    // A terminal status stamps finished_at; going back to pending clears it.
    Stmt st(db_,
            "UPDATE runs SET status = ?2, error = ?3, "
            "finished_at = CASE WHEN ?4 THEN ?5 WHEN ?2 = 'pending' THEN NULL "
            "ELSE finished_at END WHERE id = ?1");
    st.bind_text(1, id)
        .bind_text(2, status)
        .bind_text_or_null(3, error)
        .bind_int(4, is_terminal(status) ? 1 : 0)
        .bind_text(5, now_iso8601());
    st.run();
    require_changed(db_, path_, id);
  });
}

// ---------------------------------------------------------------- metrics

void Store::write_metrics(const std::vector<Metric>& ms) {
  if (ms.empty()) return;
  sql::write(db_, [&] {
    Stmt st(db_,
            "INSERT INTO metrics (run_id, split, step, tokens, flops, loss, lr, grad_norm, wall_s) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
            "ON CONFLICT (run_id, split, step) DO UPDATE SET tokens = excluded.tokens, "
            "flops = excluded.flops, loss = excluded.loss, lr = excluded.lr, "
            "grad_norm = excluded.grad_norm, wall_s = excluded.wall_s");
    for (const auto& m : ms) {
      naming_row(
          [&] {
            st.bind_text(1, m.run_id)
                .bind_text(2, m.split)
                .bind_int(3, m.step)
                .bind_real(4, m.tokens)
                .bind_real(5, m.flops)
                .bind_real(6, m.loss)
                .bind_real(7, m.lr)
                .bind_real(8, m.grad_norm)
                .bind_real(9, m.wall_s);
            st.run();
          },
          fmt::format("writing metric (run '{}', split '{}', step {})", m.run_id, m.split, m.step));
    }
  });
}

namespace {
Metric read_metric(const Stmt& st) {
  Metric m;
  m.run_id = st.col_text(0);
  m.split = st.col_text(1);
  m.step = st.col_int(2);
  m.tokens = st.col_real(3);
  m.flops = st.col_real(4);
  m.loss = st.col_real(5);
  m.lr = st.col_real(6);
  m.grad_norm = st.col_real(7);
  m.wall_s = st.col_real(8);
  return m;
}
constexpr std::string_view kMetricCols =
    "run_id, split, step, tokens, flops, loss, lr, grad_norm, wall_s";
}  // namespace

std::vector<Metric> Store::metrics(const std::string& run_id, const std::string& split) const {
  // Both forms are a range of the primary key (run_id, split, step): no sort, no scan.
  return sql::retry(db_, [&] {
    if (split.empty()) {
      Stmt st(db_, fmt::format("SELECT {} FROM metrics WHERE run_id = ?1 ORDER BY split, step",
                               kMetricCols));
      st.bind_text(1, run_id);
      return all_rows<Metric>(st, read_metric);
    }
    Stmt st(db_, fmt::format("SELECT {} FROM metrics WHERE run_id = ?1 AND split = ?2 "
                             "ORDER BY step",
                             kMetricCols));
    st.bind_text(1, run_id).bind_text(2, split);
    return all_rows<Metric>(st, read_metric);
  });
}

std::int64_t Store::metric_count(const std::string& run_id) const {
  return sql::retry(db_, [&] {
    Stmt st(db_, run_id.empty() ? "SELECT count(*) FROM metrics"
                                : "SELECT count(*) FROM metrics WHERE run_id = ?1");
    if (!run_id.empty()) st.bind_text(1, run_id);
    st.step();
    return st.col_int(0);
  });
}

}  // namespace scalelab::store
