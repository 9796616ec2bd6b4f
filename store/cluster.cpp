#include "store/cluster.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "store/sqlite.h"

namespace scalelab::store {

namespace fs = std::filesystem;
using sql::Stmt;

std::string job_owner(const std::string& job_id) { return "slurm:" + job_id; }

namespace {

void insert_job(sqlite3* db, const ClusterJob& j, const std::string& state) {
  Stmt ins(db,
           "INSERT OR REPLACE INTO cluster_jobs (run_id, job_id, state, settled, shard, script, retries, "
           "steps_at_submit, submitted_at, updated_at) VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?8)");
  ins.bind_text(1, j.run_id)
      .bind_text(2, j.job_id)
      .bind_text(3, state)
      .bind_text(4, j.shard)
      .bind_text(5, j.script)
      .bind_int(6, j.retries)
      .bind_int(7, j.steps_at_submit)
      .bind_text(8, now_iso8601());
  ins.run();
}

}  // namespace

void record_job(Store& st, const ClusterJob& j, const std::string& claim_owner, const std::string& log_path) {
  sqlite3* db = st.handle();
  sql::write(db, [&] {
    insert_job(db, j, j.state);
    // A job outlives any orchestrator: its lease never expires, and only the job's
    // final state (seen by settle) releases it. Host "slurm" is no machine's name,
    // so no local orchestrator mistakes it for one of its own dead workers.
    Stmt l(db, "UPDATE leases SET owner = ?3, host = 'slurm', pid = 0, worker_pid = NULL, expires_at = 1e15 "
               "WHERE run_id = ?1 AND owner = ?2");
    l.bind_text(1, j.run_id).bind_text(2, claim_owner).bind_text(3, job_owner(j.job_id));
    l.run();
    // A submission is an attempt, even if the task dies before the trainer starts.
    Stmt r(db, "UPDATE runs SET log_path = ?2, attempts = attempts + 1 WHERE id = ?1");
    r.bind_text(1, j.run_id).bind_text(2, log_path);
    r.run();
  });
}

void record_submitting(Store& st, const std::vector<ClusterJob>& rows, const std::string& claim_owner) {
  sqlite3* db = st.handle();
  sql::write(db, [&] {
    for (auto& j : rows) {
      insert_job(db, j, kSubmitting);
      // Host and pid stay the submitter's: a restart needs them to tell whether it is gone.
      Stmt l(db, "UPDATE leases SET owner = ?3, worker_pid = NULL, expires_at = 1e15 WHERE run_id = ?1 AND owner = ?2");
      l.bind_text(1, j.run_id).bind_text(2, claim_owner).bind_text(3, job_owner(j.job_id));
      l.run();
      if (sqlite3_changes(db) == 0)
        throw std::runtime_error("record_submitting: run " + j.run_id + " is no longer claimed by " + claim_owner);
    }
  });
}

bool confirm_submission(Store& st, const std::string& run_id, const std::string& job_name, const std::string& job_id) {
  sqlite3* db = st.handle();
  return sql::write(db, [&] {
    Stmt up(db, "UPDATE cluster_jobs SET job_id = ?3, state = 'PENDING', updated_at = ?4 "
                "WHERE run_id = ?1 AND job_id = ?2 AND state = ?5");
    up.bind_text(1, run_id).bind_text(2, job_name).bind_text(3, job_id).bind_text(4, now_iso8601()).bind_text(5, kSubmitting);
    up.run();
    if (sqlite3_changes(db) == 0) return false;
    Stmt l(db, "UPDATE leases SET owner = ?3, host = 'slurm', pid = 0, worker_pid = NULL, expires_at = 1e15 "
               "WHERE run_id = ?1 AND owner = ?2");
    l.bind_text(1, run_id).bind_text(2, job_owner(job_name)).bind_text(3, job_owner(job_id));
    l.run();
    Stmt sh(db, "SELECT shard FROM cluster_jobs WHERE run_id = ?1");
    sh.bind_text(1, run_id);
    const std::string log = sh.step() ? (fs::path(sh.col_text(0)).parent_path() / "worker.log").string() : "";
    Stmt r(db, "UPDATE runs SET log_path = ?2, attempts = attempts + 1 WHERE id = ?1");
    r.bind_text(1, run_id).bind_text(2, log);
    r.run();
    return true;
  });
}

void abandon_submission(Store& st, const std::string& run_id, const std::string& job_name) {
  sqlite3* db = st.handle();
  sql::write(db, [&] {
    Stmt del(db, "DELETE FROM cluster_jobs WHERE run_id = ?1 AND job_id = ?2 AND state = ?3");
    del.bind_text(1, run_id).bind_text(2, job_name).bind_text(3, kSubmitting);
    del.run();
    Stmt l(db, "DELETE FROM leases WHERE run_id = ?1 AND owner = ?2");
    l.bind_text(1, run_id).bind_text(2, job_owner(job_name));
    l.run();
  });
}

void set_job_state(Store& st, const std::string& run_id, const std::string& state) {
  sqlite3* db = st.handle();
  sql::write(db, [&] {
    Stmt up(db, "UPDATE cluster_jobs SET state = ?2, updated_at = ?3 WHERE run_id = ?1 AND state <> ?2");
    up.bind_text(1, run_id).bind_text(2, state).bind_text(3, now_iso8601());
    up.run();
  });
}

void settle_job(Store& st, const std::string& run_id, const std::string& state) {
  sqlite3* db = st.handle();
  sql::write(db, [&] {
    Stmt up(db, "UPDATE cluster_jobs SET state = ?2, settled = 1, updated_at = ?3 WHERE run_id = ?1");
    up.bind_text(1, run_id).bind_text(2, state).bind_text(3, now_iso8601());
    up.run();
    Stmt del(db, "DELETE FROM leases WHERE run_id = ?1 AND owner LIKE 'slurm:%'");
    del.bind_text(1, run_id);
    del.run();
  });
}

std::vector<ClusterJob> cluster_jobs(const Store& st, const std::string& sweep_id, bool unsettled_only) {
  sqlite3* db = st.handle();
  return sql::retry(db, [&] {
    Stmt q(db,
           "SELECT j.run_id, j.job_id, j.state, j.settled, j.shard, j.script, j.retries, j.steps_at_submit, "
           "j.submitted_at, j.updated_at FROM cluster_jobs j JOIN sweep_runs s ON s.run_id = j.run_id "
           "WHERE s.sweep_id = ?1 AND (?2 = 0 OR j.settled = 0) ORDER BY s.position");
    q.bind_text(1, sweep_id).bind_int(2, unsettled_only ? 1 : 0);
    std::vector<ClusterJob> out;
    while (q.step()) {
      ClusterJob j;
      j.run_id = q.col_text(0);
      j.job_id = q.col_text(1);
      j.state = q.col_text(2);
      j.settled = q.col_int(3) != 0;
      j.shard = q.col_text(4);
      j.script = q.col_text(5);
      j.retries = static_cast<int>(q.col_int(6));
      j.steps_at_submit = q.col_int(7);
      j.submitted_at = q.col_text(8);
      j.updated_at = q.col_text(9);
      out.push_back(std::move(j));
    }
    return out;
  });
}

std::string shard_path(const std::string& runs_dir, const std::string& run_id) {
  return (fs::path(runs_dir) / run_id / "result.db").string();
}

void seed_shard(const Run& run, const std::string& path, const std::vector<Run>& ladder) {
  fs::create_directories(fs::path(path).parent_path());
  auto shard = Store::open(path, Store::Journal::Delete);
  // A trunk before its branches, a branch's trunk before it: the parent row comes first.
  std::vector<Run> rows;
  if (!run.parent_id.empty()) rows = ladder;
  rows.push_back(run);
  if (run.parent_id.empty()) rows.insert(rows.end(), ladder.begin(), ladder.end());
  for (auto& r : rows) r.sweep_id.clear();  // the shard holds no sweeps table rows
  shard->add_runs(rows);
}

std::optional<Run> ingest_shard(Store& main, const std::string& run_id, const std::string& path) {
  if (!fs::exists(path)) return std::nullopt;
  auto shard = Store::open(path, Store::Journal::Delete);
  auto run = shard->run(run_id);
  if (!run) return std::nullopt;
  // Rows below the main store's newest step are already there (a resumed task
  // rewrites them with identical values), so only the tail is copied.
  std::vector<Metric> fresh;
  for (const char* split : {"train", "val"}) {
    auto last = main.last_metric(run_id, split);
    for (auto& m : shard->metrics(run_id, split))
      if (!last || m.step >= last->step) fresh.push_back(std::move(m));
  }
  if (!fresh.empty()) main.write_metrics(fresh);
  auto evals = shard->evals(run_id);
  if (!evals.empty()) main.write_evals(evals);
  sqlite3* db = main.handle();
  sql::write(db, [&] {
    Stmt up(db,
            "UPDATE runs SET steps_done = ?2, tokens_done = ?3, tokens_per_s = ?4, wall_s = ?5, "
            "heartbeat_at = ?6, started_at = coalesce(?7, started_at), attempts = max(attempts, ?8), "
            "final_train_loss = ?9, final_val_loss = ?10, unique_tokens = ?11, epochs = ?12, "
            "final_val_loss_se = ?13, accelerator = ?14, peak_tflops = ?15, mfu = ?16 WHERE id = ?1");
    up.bind_text(1, run_id)
        .bind_int(2, run->steps_done)
        .bind_real(3, run->tokens_done)
        .bind_real(4, run->tokens_per_s)
        .bind_real(5, run->wall_s)
        .bind_text_or_null(6, run->heartbeat_at)
        .bind_text_or_null(7, run->started_at)
        .bind_int(8, run->attempts)
        .bind_real(9, run->final_train_loss)
        .bind_real(10, run->final_val_loss)
        .bind_real(11, run->unique_tokens)
        .bind_real(12, run->epochs)
        .bind_real(13, run->final_val_loss_se)
        .bind_text_or_null(14, run->accelerator)
        .bind_real(15, run->peak_tflops)
        .bind_real(16, run->mfu);
    up.run();
  });
  return run;
}

}  // namespace scalelab::store
