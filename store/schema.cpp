#include "store/schema.h"

#include "common/error.h"
#include "store/sqlite.h"

#include <array>

namespace scalelab::store::schema {

namespace {

// Version 1. Plain tables, not STRICT ones, so a sqlite3 older than 3.37 (an older
// distribution's Python, say) can still read the file.
// Nullable REAL columns are the measured ones: SQLite stores NaN as NULL, and a
// diverged run produces NaN losses and gradient norms.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE sweeps (
  id          TEXT NOT NULL PRIMARY KEY CHECK (id <> ''),
  name        TEXT NOT NULL,
  config_toml TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE INDEX sweeps_by_name ON sweeps(name);

CREATE TABLE runs (
  id                   TEXT NOT NULL PRIMARY KEY CHECK (id <> ''),
  sweep_id             TEXT REFERENCES sweeps(id),
  name                 TEXT NOT NULL,
  config_toml          TEXT NOT NULL,
  config_hash          TEXT NOT NULL,
  shape                TEXT NOT NULL,
  n_layer              INTEGER NOT NULL,
  d_model              INTEGER NOT NULL,
  n_head               INTEGER NOT NULL,
  seq_len              INTEGER NOT NULL,
  vocab                INTEGER NOT NULL,
  params_total         INTEGER NOT NULL,
  params_non_embedding INTEGER NOT NULL,
  flops_per_token      REAL NOT NULL,
  flop_convention      TEXT NOT NULL,
  planned_tokens       REAL NOT NULL,
  status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                         ('pending', 'running', 'stopped', 'done', 'diverged', 'failed', 'cancelled')),
  attempts             INTEGER NOT NULL DEFAULT 0,
  created_at           TEXT NOT NULL,
  started_at           TEXT,
  finished_at          TEXT,
  heartbeat_at         TEXT,
  error                TEXT,
  steps_done           INTEGER NOT NULL DEFAULT 0,
  tokens_done          REAL,
  final_train_loss     REAL,
  final_val_loss       REAL,
  tokens_per_s         REAL,
  wall_s               REAL
);
CREATE INDEX runs_by_sweep ON runs(sweep_id, status);
CREATE INDEX runs_by_status ON runs(status);

CREATE TABLE metrics (
  run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  split     TEXT NOT NULL CHECK (split IN ('train', 'val')),
  step      INTEGER NOT NULL,
  tokens    REAL NOT NULL,
  flops     REAL NOT NULL,
  loss      REAL,
  lr        REAL,
  grad_norm REAL,
  wall_s    REAL,
  PRIMARY KEY (run_id, split, step)
) WITHOUT ROWID;

CREATE TABLE evals (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step   INTEGER NOT NULL,
  task   TEXT NOT NULL,
  metric TEXT NOT NULL,
  value  REAL,
  n      INTEGER NOT NULL,
  PRIMARY KEY (run_id, step, task, metric)
) WITHOUT ROWID;

CREATE TABLE fits (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at  TEXT NOT NULL,
  source      TEXT NOT NULL,
  law         TEXT NOT NULL,
  approach    TEXT NOT NULL,
  selection   TEXT CHECK (selection IS NULL OR json_valid(selection)),
  conventions TEXT CHECK (conventions IS NULL OR json_valid(conventions)),
  params      TEXT CHECK (params IS NULL OR json_valid(params)),
  objective   REAL,
  n_points    INTEGER NOT NULL,
  convergence TEXT CHECK (convergence IS NULL OR json_valid(convergence)),
  result      TEXT CHECK (result IS NULL OR json_valid(result))
);
CREATE INDEX fits_by_source ON fits(source, id);
)sql";

// Version 2: sweep execution. Membership is a table of its own because one run
// (one resolved config) can belong to several sweeps; leases and the retry and
// cancel bookkeeping let many orchestrators and workers share one file safely.
constexpr std::string_view kV2 = R"sql(
ALTER TABLE runs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN log_path TEXT;

CREATE TABLE sweep_runs (
  sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, run_id)
) WITHOUT ROWID;
CREATE INDEX sweep_runs_by_run ON sweep_runs(run_id);
INSERT INTO sweep_runs (sweep_id, run_id, position)
  SELECT sweep_id, id, rowid FROM runs WHERE sweep_id IS NOT NULL;

CREATE TABLE leases (
  run_id      TEXT NOT NULL PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  owner       TEXT NOT NULL,
  host        TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  worker_pid  INTEGER,
  expires_at  REAL NOT NULL,
  acquired_at TEXT NOT NULL
);
CREATE INDEX leases_by_owner ON leases(owner);

CREATE TABLE throughput (
  config       TEXT NOT NULL,
  device       TEXT NOT NULL,
  host         TEXT NOT NULL,
  threads      INTEGER NOT NULL,
  tokens_per_s REAL NOT NULL,
  measured_at  TEXT NOT NULL,
  PRIMARY KEY (config, device, host, threads)
) WITHOUT ROWID;
)sql";

// Version 3: sweeps on a SLURM cluster (store/cluster.h, docs/cluster.md). One
// row per run: the job that trains it now, or trained it last.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE cluster_jobs (
  run_id          TEXT NOT NULL PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  job_id          TEXT NOT NULL,
  state           TEXT NOT NULL,
  settled         INTEGER NOT NULL DEFAULT 0,
  shard           TEXT NOT NULL,
  script          TEXT NOT NULL,
  retries         INTEGER NOT NULL,
  steps_at_submit INTEGER NOT NULL DEFAULT 0,
  submitted_at    TEXT NOT NULL,
  updated_at      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX cluster_jobs_unsettled ON cluster_jobs(settled, run_id);
)sql";

// Version 4: what the data-constrained law (Muennighoff et al. 2023) needs per point,
// and the noise of each final loss. Nullable: runs trained before it, and task runs
// with an unbounded training set, have no finite unique-token count.
constexpr std::string_view kV4 = R"sql(
ALTER TABLE runs ADD COLUMN unique_tokens REAL;
ALTER TABLE runs ADD COLUMN epochs REAL;
ALTER TABLE runs ADD COLUMN final_val_loss_se REAL;
)sql";

// Version 5: WSD cooldown ladders (docs/schema.md). A branch is a run that forked
// from its trunk's checkpoint at fork_step; ordinary runs have neither. ADD COLUMN
// rather than a table rebuild: existing rows simply read NULL, which is what they
// are. The CHECK sits on fork_step because a column's CHECK may only name columns
// that already exist when it is added. No ON DELETE: deleting a trunk that still
// has branches is refused, since its branches' copied rows came from it. Deferred,
// so one transaction may add a ladder's runs in any order (register_sweep adds
// them in launch order, which need not put a trunk before its branches).
constexpr std::string_view kV5 = R"sql(
ALTER TABLE runs ADD COLUMN parent_id TEXT REFERENCES runs(id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE runs ADD COLUMN fork_step INTEGER CONSTRAINT branch_fork CHECK (
  (parent_id IS NULL AND fork_step IS NULL) OR
  (parent_id IS NOT NULL AND parent_id <> id AND fork_step IS NOT NULL AND fork_step >= 1));
CREATE INDEX runs_by_parent ON runs(parent_id, fork_step);
)sql";

// Version 6: model FLOP utilisation (docs/schema.md). Where a run trained and the
// peak its MFU is taken against, so a figure can be checked and recomputed; mfu is
// written with each tokens_per_s (heartbeat and finish) while peak_tflops is set.
// NULL in older rows and on a device with no known peak.
constexpr std::string_view kV6 = R"sql(
ALTER TABLE runs ADD COLUMN accelerator TEXT;
ALTER TABLE runs ADD COLUMN peak_tflops REAL;
ALTER TABLE runs ADD COLUMN mfu REAL;
)sql";

// Version 7: bits per byte (docs/schema.md). The tokenizer a run's data was cut
// with ("bytes", or "<kind>:<first 16 hex of the model's sha256>") and the bytes
// per token of each split, so a loss in nats per token converts to bits per byte
// (store::loss_bpb) and runs of different tokenizers are not fitted together in
// nats. NULL where unknown: runs registered before v7, task data, tokens
// directories without a meta.json.
constexpr std::string_view kV7 = R"sql(
ALTER TABLE runs ADD COLUMN tokenizer TEXT;
ALTER TABLE runs ADD COLUMN bytes_per_token REAL;
ALTER TABLE runs ADD COLUMN train_bytes_per_token REAL;
)sql";

constexpr std::array<std::string_view, 7> kMigrations{kV1, kV2, kV3, kV4, kV5, kV6, kV7};

int application_id(sqlite3* db) {
  sql::Stmt st(db, "PRAGMA application_id");
  st.step();
  return static_cast<int>(st.col_int(0));
}

// Refuses files that are some other program's database, and ones from a newer scalelab.
void check_openable(sqlite3* db, const std::string& path, int version, int target) {
  if (version == 0) {
    sql::Stmt st(db, "SELECT count(*) FROM sqlite_master");
    st.step();
    if (st.col_int(0) > 0)
      user_error("{}: not a scalelab database (it has tables but no scalelab schema version)", path);
  } else if (application_id(db) != kApplicationId) {
    user_error("{}: not a scalelab database (PRAGMA application_id is {}, expected {})", path,
               application_id(db), kApplicationId);
  }
  if (version > target)
    user_error("{}: database schema version {} is newer than this scalelab supports ({}); "
               "use a newer scalelab",
               path, version, target);
}

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

void check_identity(sqlite3* db, const std::string& path) {
  // One read transaction: another process may be creating the schema right now,
  // and its version and its tables must be seen at the same moment.
  sql::retry(db, [&] {
    sql::exec(db, "BEGIN");
    try {
      check_openable(db, path, user_version(db), static_cast<int>(kMigrations.size()));
    } catch (...) {
      sql::exec(db, "ROLLBACK");
      throw;
    }
    sql::exec(db, "COMMIT");
    return 0;
  });
}

int user_version(sqlite3* db) {
  sql::Stmt st(db, "PRAGMA user_version");
  st.step();
  return static_cast<int>(st.col_int(0));
}

void migrate(sqlite3* db, const std::string& path, std::span<const std::string_view> steps) {
  const int target = static_cast<int>(steps.size());
  // One snapshot: between two autocommit reads another process could finish
  // creating the schema, and version 0 with tables would look like a foreign file.
  const int version = sql::read(db, [&] {
    const int v = user_version(db);
    check_openable(db, path, v, target);
    return v;
  });
  if (version == target) return;

  sql::exec(db, "PRAGMA foreign_keys = OFF");
  for (;;) {
    const bool more = sql::write(db, [&] {
      // Re-read under the write lock: another process may have upgraded meanwhile.
      const int v = user_version(db);
      check_openable(db, path, v, target);
      if (v == target) return false;
      sql::exec(db, steps[v]);
      if (v == 0) sql::exec(db, fmt::format("PRAGMA application_id = {}", kApplicationId));
      sql::Stmt fk(db, "PRAGMA foreign_key_check");
      if (fk.step())
        throw std::runtime_error(fmt::format(
            "{}: migration to schema version {} would leave a foreign-key violation in table {}",
            path, v + 1, fk.col_text(0)));
      sql::exec(db, fmt::format("PRAGMA user_version = {}", v + 1));
      return v + 1 < target;
    });
    if (!more) break;
  }
}

}  // namespace scalelab::store::schema
