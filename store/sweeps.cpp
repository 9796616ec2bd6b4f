// Sweep execution state: membership, leases, retries, cancellation and the
// throughput cache (schema v2). Every write is one BEGIN IMMEDIATE transaction.
#include <ctime>

#include "common/error.h"
#include "store/run_row.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace scalelab::store {

namespace {

using sql::Stmt;

std::string iso8601(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Members of a sweep, as a subquery on ?1.
constexpr std::string_view kMembers = "SELECT run_id FROM sweep_runs WHERE sweep_id = ?1";

constexpr std::string_view kLeaseCols = "run_id, owner, host, pid, coalesce(worker_pid, 0), expires_at";

Lease read_lease(const Stmt& st, int at) {
  Lease l;
  l.run_id = st.col_text(at);
  l.owner = st.col_text(at + 1);
  l.host = st.col_text(at + 2);
  l.pid = st.col_int(at + 3);
  l.worker_pid = st.col_int(at + 4);
  l.expires_at = st.col_real(at + 5);
  return l;
}

// The failure bookkeeping shared by record_failure, break_lease and fail_orphans;
// runs inside the caller's transaction.
std::string count_failure(sqlite3* db, const std::string& run_id, const std::string& error, int max_retries) {
  Stmt up(db,
          "UPDATE runs SET failures = failures + 1, error = ?2, "
          "status = CASE WHEN cancel_requested THEN 'cancelled' "
          "              WHEN failures + 1 > ?3 THEN 'failed' ELSE 'pending' END, "
          "finished_at = CASE WHEN cancel_requested OR failures + 1 > ?3 THEN ?4 ELSE NULL END "
          "WHERE id = ?1");
  up.bind_text(1, run_id).bind_text(2, error).bind_int(3, max_retries).bind_text(4, now_iso8601());
  up.run();
  Stmt st(db, "SELECT status FROM runs WHERE id = ?1");
  st.bind_text(1, run_id);
  if (!st.step()) user_error("no run '{}'", run_id);
  return st.col_text(0);
}

}  // namespace

int Store::register_sweep(const Sweep& s, const std::vector<Run>& rs) {
  if (s.id.empty()) throw std::invalid_argument("register_sweep: a sweep needs an id");
  return sql::write(db_, [&] {
    Stmt sw(db_,
            "INSERT INTO sweeps (id, name, config_toml, created_at) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, config_toml = excluded.config_toml");
    sw.bind_text(1, s.id).bind_text(2, s.name).bind_text(3, s.config_toml).bind_text(4, now_iso8601());
    sw.run();
    // A new run starts with the schema's defaults: pending, no attempts, no results.
    Stmt ins(db_,
             "INSERT INTO runs (" SCALELAB_RUN_IDENTITY_COLS ", created_at) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) "
             "ON CONFLICT (id) DO NOTHING");
    Stmt fill(db_, "UPDATE runs SET tokenizer = ?2, bytes_per_token = ?3, train_bytes_per_token = ?4 "
                   "WHERE id = ?1 AND tokenizer IS NULL AND ?2 IS NOT NULL");
    int added = 0;
    const auto now = now_iso8601();
    for (const auto& r : rs) {
      if (r.id.empty()) throw std::invalid_argument("register_sweep: a run needs an id");
      bind_run_identity(ins, r, s.id).bind_text(22, now);
      ins.run();
      added += sqlite3_changes(db_);
      // A run registered before schema v7 learns its tokenization now.
      fill.bind_text(1, r.id).bind_text_or_null(2, r.tokenizer).bind_real(3, r.bytes_per_token).bind_real(4,
          r.train_bytes_per_token);
      fill.run();
    }
    // The membership is what the config says now: an edit that drops a point
    // drops it from the sweep (its run and results stay in the database).
    Stmt del(db_, "DELETE FROM sweep_runs WHERE sweep_id = ?1");
    del.bind_text(1, s.id);
    del.run();
    Stmt mem(db_, "INSERT INTO sweep_runs (sweep_id, run_id, position) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT (sweep_id, run_id) DO NOTHING");
    for (std::size_t i = 0; i < rs.size(); ++i) {
      mem.bind_text(1, s.id).bind_text(2, rs[i].id).bind_int(3, static_cast<std::int64_t>(i));
      mem.run();
    }
    return added;
  });
}

std::vector<SweepRun> Store::sweep_runs(const std::string& sweep_id) const {
  return sql::retry(db_, [&] {
    Stmt st(db_, fmt::format(
                     "SELECT r.id, r.name, r.shape, r.status, coalesce(r.error, ''), coalesce(r.log_path, ''), "
                     "s.position, r.attempts, r.failures, r.cancel_requested, r.params_total, "
                     "r.params_non_embedding, r.steps_done, r.flops_per_token, r.planned_tokens, "
                     "coalesce(r.tokens_done, 0), coalesce(r.tokens_per_s, 0), coalesce(r.wall_s, 0), "
                     "r.final_train_loss, r.final_val_loss, coalesce(r.heartbeat_at, ''), "
                     "coalesce(r.started_at, ''), coalesce(r.finished_at, ''), r.fork_step, "
                     "CASE WHEN r.parent_id IS NOT NULL THEN r.config_toml ELSE '' END, coalesce(r.accelerator, ''), "
                     "r.peak_tflops, r.mfu, l.run_id IS NOT NULL, {} "
                     "FROM sweep_runs s JOIN runs r ON r.id = s.run_id LEFT JOIN leases l ON l.run_id = r.id "
                     "WHERE s.sweep_id = ?1 ORDER BY s.position",
                     "l.run_id, l.owner, l.host, l.pid, coalesce(l.worker_pid, 0), l.expires_at, "
                     "coalesce(r.tokenizer, ''), r.bytes_per_token, r.train_bytes_per_token"));
    st.bind_text(1, sweep_id);
    std::vector<SweepRun> out;
    while (st.step()) {
      SweepRun r;
      r.id = st.col_text(0);
      r.name = st.col_text(1);
      r.shape = st.col_text(2);
      r.status = st.col_text(3);
      r.error = st.col_text(4);
      r.log_path = st.col_text(5);
      r.position = static_cast<int>(st.col_int(6));
      r.attempts = static_cast<int>(st.col_int(7));
      r.failures = static_cast<int>(st.col_int(8));
      r.cancel_requested = st.col_int(9) != 0;
      r.params_total = st.col_int(10);
      r.params_non_embedding = st.col_int(11);
      r.steps_done = st.col_int(12);
      r.flops_per_token = st.col_real(13);
      r.planned_tokens = st.col_real(14);
      r.tokens_done = st.col_real(15);
      r.tokens_per_s = st.col_real(16);
      r.wall_s = st.col_real(17);
      r.final_train_loss = st.col_opt_real(18);
      r.final_val_loss = st.col_opt_real(19);
      r.heartbeat_at = st.col_text(20);
      r.started_at = st.col_text(21);
      r.finished_at = st.col_text(22);
      r.fork_step = st.col_opt_int(23);
      r.branch_config_toml = st.col_text(24);
      r.accelerator = st.col_text(25);
      r.peak_tflops = st.col_opt_real(26);
      r.mfu = st.col_opt_real(27);
      if (st.col_int(28)) r.lease = read_lease(st, 29);
      r.tokenizer = st.col_text(35);
      r.bytes_per_token = st.col_opt_real(36);
      r.train_bytes_per_token = st.col_opt_real(37);
      out.push_back(std::move(r));
    }
    return out;
  });
}

std::optional<std::string> Store::claim_run(const std::string& sweep_id, const Lease& l) {
  return sql::write(db_, [&]() -> std::optional<std::string> {
    Stmt pick(db_,
              "SELECT r.id FROM sweep_runs s JOIN runs r ON r.id = s.run_id "
              "WHERE s.sweep_id = ?1 AND r.status IN ('pending', 'stopped') AND r.cancel_requested = 0 "
              "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.run_id = r.id) "
              // A ladder branch waits for its fork checkpoint: the trunk writes it at
              // fork_step before it reports a later step (docs/ladders.md).
              "AND (r.parent_id IS NULL OR r.steps_done > 0 OR EXISTS (SELECT 1 FROM runs t "
              "     WHERE t.id = r.parent_id AND (t.status = 'done' OR t.steps_done > r.fork_step))) "
              "ORDER BY s.position LIMIT 1");
    pick.bind_text(1, sweep_id);
    if (!pick.step()) return std::nullopt;
    std::string id = pick.col_text(0);
    Stmt ins(db_,
             "INSERT INTO leases (run_id, owner, host, pid, worker_pid, expires_at, acquired_at) "
             "VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6)");
    ins.bind_text(1, id)
        .bind_text(2, l.owner)
        .bind_text(3, l.host)
        .bind_int(4, l.pid)
        .bind_real(5, l.expires_at)
        .bind_text(6, now_iso8601());
    ins.run();
    return id;
  });
}

void Store::set_worker(const std::string& run_id, const std::string& owner, std::int64_t worker_pid,
                       const std::string& log_path) {
  sql::write(db_, [&] {
    Stmt l(db_, "UPDATE leases SET worker_pid = ?3 WHERE run_id = ?1 AND owner = ?2");
    l.bind_text(1, run_id).bind_text(2, owner).bind_int(3, worker_pid);
    l.run();
    Stmt r(db_, "UPDATE runs SET log_path = ?2 WHERE id = ?1");
    r.bind_text(1, run_id).bind_text(2, log_path);
    r.run();
  });
}

int Store::renew_leases(const std::string& owner, double expires_at) {
  return sql::write(db_, [&] {
    Stmt st(db_, "UPDATE leases SET expires_at = ?2 WHERE owner = ?1");
    st.bind_text(1, owner).bind_real(2, expires_at);
    st.run();
    return sqlite3_changes(db_);
  });
}

void Store::release_lease(const std::string& run_id, const std::string& owner) {
  sql::write(db_, [&] {
    Stmt st(db_, "DELETE FROM leases WHERE run_id = ?1 AND owner = ?2");
    st.bind_text(1, run_id).bind_text(2, owner);
    st.run();
  });
}

std::vector<Lease> Store::leases(const std::string& sweep_id) const {
  return sql::retry(db_, [&] {
    Stmt st(db_, fmt::format("SELECT {} FROM leases WHERE run_id IN ({}) ORDER BY run_id", kLeaseCols, kMembers));
    st.bind_text(1, sweep_id);
    std::vector<Lease> out;
    while (st.step()) out.push_back(read_lease(st, 0));
    return out;
  });
}

std::string Store::break_lease(const std::string& run_id, const std::string& owner, const std::string& error,
                               int max_retries) {
  return sql::write(db_, [&]() -> std::string {
    Stmt del(db_, "DELETE FROM leases WHERE run_id = ?1 AND owner = ?2");
    del.bind_text(1, run_id).bind_text(2, owner);
    del.run();
    if (sqlite3_changes(db_) == 0) return "";
    Stmt st(db_, "SELECT status, cancel_requested FROM runs WHERE id = ?1");
    st.bind_text(1, run_id);
    if (!st.step()) return "";
    const std::string status = st.col_text(0);
    const bool cancel = st.col_int(1) != 0;
    if (status == "running") return count_failure(db_, run_id, error, max_retries);
    if (cancel && (status == "pending" || status == "stopped")) {
      Stmt c(db_, "UPDATE runs SET status = 'cancelled', finished_at = ?2 WHERE id = ?1");
      c.bind_text(1, run_id).bind_text(2, now_iso8601());
      c.run();
      return "cancelled";
    }
    return status;
  });
}

std::string Store::record_failure(const std::string& run_id, const std::string& error, int max_retries) {
  return sql::write(db_, [&] { return count_failure(db_, run_id, error, max_retries); });
}

std::vector<std::string> Store::fail_orphans(const std::string& sweep_id, double stale_s, const std::string& error,
                                             int max_retries) {
  const std::string before = iso8601(std::time(nullptr) - static_cast<std::time_t>(stale_s));
  auto find = [&] {
    Stmt st(db_, fmt::format("SELECT id FROM runs WHERE id IN ({}) AND status = 'running' "
                             "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.run_id = runs.id) "
                             "AND (heartbeat_at IS NULL OR heartbeat_at < ?2)",
                             kMembers));
    st.bind_text(1, sweep_id).bind_text(2, before);
    std::vector<std::string> ids;
    while (st.step()) ids.push_back(st.col_text(0));
    return ids;
  };
  // Orchestrators poll this every few seconds: a read first, so the write lock
  // is only taken when there is something to take back.
  if (sql::retry(db_, find).empty()) return {};
  return sql::write(db_, [&] {
    auto ids = find();  // again, under the lock
    for (auto& id : ids) count_failure(db_, id, error, max_retries);
    return ids;
  });
}

CancelResult Store::cancel_sweep(const std::string& sweep_id) {
  return sql::write(db_, [&] {
    CancelResult res;
    Stmt idle(db_, fmt::format("UPDATE runs SET status = 'cancelled', cancel_requested = 1, error = 'cancelled', "
                               "finished_at = ?2 WHERE id IN ({}) AND status IN ('pending', 'stopped') "
                               "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.run_id = runs.id)",
                               kMembers));
    idle.bind_text(1, sweep_id).bind_text(2, now_iso8601());
    idle.run();
    res.cancelled = sqlite3_changes(db_);
    Stmt busy(db_, fmt::format("UPDATE runs SET cancel_requested = 1 WHERE id IN ({}) "
                               "AND status IN ('pending', 'stopped', 'running') AND cancel_requested = 0",
                               kMembers));
    busy.bind_text(1, sweep_id);
    busy.run();
    res.requested = sqlite3_changes(db_);
    Stmt live(db_, fmt::format("SELECT {} FROM leases WHERE run_id IN ({})", kLeaseCols, kMembers));
    live.bind_text(1, sweep_id);
    while (live.step()) res.live.push_back(read_lease(live, 0));
    return res;
  });
}

bool Store::cancel_requested(const std::string& run_id) const {
  return sql::retry(db_, [&] {
    Stmt st(db_, "SELECT cancel_requested FROM runs WHERE id = ?1");
    st.bind_text(1, run_id);
    return st.step() && st.col_int(0) != 0;
  });
}

int Store::retry_sweep(const std::string& sweep_id, bool failed_only) {
  return sql::write(db_, [&] {
    Stmt st(db_, fmt::format("UPDATE runs SET status = 'pending', failures = 0, cancel_requested = 0, error = NULL, "
                             "finished_at = NULL WHERE id IN ({}) AND (status = 'failed' OR (?2 = 0 AND "
                             "status = 'cancelled')) AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.run_id = runs.id)",
                             kMembers));
    st.bind_text(1, sweep_id).bind_int(2, failed_only ? 1 : 0);
    st.run();
    int n = sqlite3_changes(db_);
    if (!failed_only) {
      // Runs asked to stop but not stopped yet go on as well.
      Stmt keep(db_, fmt::format("UPDATE runs SET cancel_requested = 0 WHERE id IN ({}) AND cancel_requested = 1",
                                 kMembers));
      keep.bind_text(1, sweep_id);
      keep.run();
    }
    return n;
  });
}

std::optional<Metric> Store::last_metric(const std::string& run_id, const std::string& split) const {
  return sql::retry(db_, [&]() -> std::optional<Metric> {
    Stmt st(db_,
            "SELECT run_id, split, step, tokens, flops, loss, lr, grad_norm, wall_s FROM metrics "
            "WHERE run_id = ?1 AND split = ?2 ORDER BY step DESC LIMIT 1");
    st.bind_text(1, run_id).bind_text(2, split);
    if (!st.step()) return std::nullopt;
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
  });
}

std::optional<double> Store::throughput(const std::string& key, const std::string& device, const std::string& host,
                                        int threads) const {
  return sql::retry(db_, [&]() -> std::optional<double> {
    Stmt st(db_,
            "SELECT tokens_per_s FROM throughput WHERE config = ?1 AND device = ?2 AND host = ?3 AND threads = ?4");
    st.bind_text(1, key).bind_text(2, device).bind_text(3, host).bind_int(4, threads);
    if (!st.step()) return std::nullopt;
    return st.col_real(0);
  });
}

void Store::put_throughput(const std::string& key, const std::string& device, const std::string& host, int threads,
                           double tokens_per_s) {
  sql::write(db_, [&] {
    Stmt st(db_,
            "INSERT INTO throughput (config, device, host, threads, tokens_per_s, measured_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (config, device, host, threads) DO UPDATE SET "
            "tokens_per_s = excluded.tokens_per_s, measured_at = excluded.measured_at");
    st.bind_text(1, key).bind_text(2, device).bind_text(3, host).bind_int(4, threads).bind_real(5, tokens_per_s)
        .bind_text(6, now_iso8601());
    st.run();
  });
}

}  // namespace scalelab::store
