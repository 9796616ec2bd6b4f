#include <cerrno>
#include "store/sqlite.h"

#include "common/error.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <thread>

namespace scalelab::store::sql {

std::string db_path(sqlite3* db) {
  const char* f = db ? sqlite3_db_filename(db, "main") : nullptr;
  return f && *f ? f : ":memory:";
}

namespace {

std::string brief(std::string_view sql) {
  constexpr std::size_t kMax = 60;
  std::string s;
  for (char c : sql) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && (s.empty() || s.back() == ' ')) continue;
    s += c;
  }
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

}  // namespace

void fail(sqlite3* db, int rc, std::string_view context) {
  const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const std::string path = db_path(db);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Busy(msg);
    case SQLITE_CANTOPEN:
      user_error("{}: cannot open the database ({}); check that its directory exists and is writable",
                 path, msg);
    case SQLITE_NOTADB:
      user_error("{}: not a SQLite database ({})", path, msg);
    case SQLITE_CORRUPT:
      user_error("{}: the database is corrupt ({}); restore it from a backup", path, msg);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      user_error("{}: cannot write the database ({}); the file and its directory must be writable "
                 "(WAL mode keeps -wal and -shm files next to it)",
                 path, msg);
    case SQLITE_FULL:
      resource_error("{}: the disk is full ({}); free space and run the command again", path, msg);
    case SQLITE_IOERR:
      if (db && (sqlite3_system_errno(db) == ENOSPC || sqlite3_system_errno(db) == EDQUOT))
        resource_error("{}: the disk is full ({}); free space and run the command again", path, msg);
      user_error("{}: I/O error ({}); is the file on a local disk?", path, msg);
    default:
      throw std::runtime_error(fmt::format("{}: {}: {}", path, brief(context), msg));
  }
}

void exec(sqlite3* db, std::string_view sql) {
  const std::string s(sql);
  const int rc = sqlite3_exec(db, s.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, sql);
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, sql);
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

namespace {
void check_bind(sqlite3* db, sqlite3_stmt* st, int rc) {
  if (rc != SQLITE_OK) fail(db, rc, sqlite3_sql(st));
}
}  // namespace

Stmt& Stmt::bind_text(int i, std::string_view v) {
  check_bind(db_, stmt_,
             sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  return *this;
}

Stmt& Stmt::bind_text_or_null(int i, std::string_view v) {
  if (v.empty()) {
    check_bind(db_, stmt_, sqlite3_bind_null(stmt_, i));
    return *this;
  }
  return bind_text(i, v);
}

Stmt& Stmt::bind_int(int i, std::int64_t v) {
  check_bind(db_, stmt_, sqlite3_bind_int64(stmt_, i, v));
  return *this;
}

Stmt& Stmt::bind_int(int i, const std::optional<std::int64_t>& v) {
  if (!v) {
    check_bind(db_, stmt_, sqlite3_bind_null(stmt_, i));
    return *this;
  }
  return bind_int(i, *v);
}

Stmt& Stmt::bind_real(int i, double v) {
  check_bind(db_, stmt_, std::isnan(v) ? sqlite3_bind_null(stmt_, i) : sqlite3_bind_double(stmt_, i, v));
  return *this;
}

Stmt& Stmt::bind_real(int i, const std::optional<double>& v) {
  if (!v) {
    check_bind(db_, stmt_, sqlite3_bind_null(stmt_, i));
    return *this;
  }
  return bind_real(i, *v);
}

bool Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, rc, sqlite3_sql(stmt_));
}

void Stmt::run() {
  while (step()) {
  }
  reset();
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Stmt::col_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::string Stmt::col_text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::int64_t Stmt::col_int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<std::int64_t> Stmt::col_opt_int(int col) const {
  if (col_null(col)) return std::nullopt;
  return sqlite3_column_int64(stmt_, col);
}

double Stmt::col_real(int col) const {
  return col_null(col) ? std::nan("") : sqlite3_column_double(stmt_, col);
}

std::optional<double> Stmt::col_opt_real(int col) const {
  if (col_null(col)) return std::nullopt;
  return sqlite3_column_double(stmt_, col);
}

Tx::Tx(sqlite3* db, Mode mode) : db_(db) {
  exec(db, mode == Mode::Write ? "BEGIN IMMEDIATE" : "BEGIN");
}

Tx::~Tx() {
  // Some errors (I/O, disk full) already rolled the transaction back.
  if (!done_ && !sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Tx::commit() {
  exec(db_, "COMMIT");
  done_ = true;
}

std::chrono::seconds lock_wait() {
  static const std::chrono::seconds wait = [] {
    const char* v = std::getenv("SCALELAB_LOCK_WAIT_S");
    if (!v || !*v) return kRetryFor;
    char* end = nullptr;
    const long s = std::strtol(v, &end, 10);
    if (*end || s < 1 || s > 86400)
      user_error("SCALELAB_LOCK_WAIT_S: expected whole seconds from 1 to 86400, got '{}'", v);
    return std::chrono::seconds(s);
  }();
  return wait;
}

int busy_timeout_ms() {
  return static_cast<int>(std::min<long long>(kBusyTimeoutMs, lock_wait().count() * 1000));
}

Backoff::Backoff(sqlite3* db) : db_(db), start_(std::chrono::steady_clock::now()) {}

void Backoff::wait(const Busy& why) {
  using namespace std::chrono;
  if (steady_clock::now() - start_ > lock_wait()) {
    resource_error("{}: the database stayed locked for over {} s ({}); is another scalelab process "
               "stuck, or is the file on a network filesystem?",
               db_path(db_), lock_wait().count(), why.what());
  }
  // Jitter keeps processes that collided once from colliding again in lockstep.
  thread_local std::minstd_rand rng(static_cast<unsigned>(std::random_device{}()) ^
                                    static_cast<unsigned>(getpid()));
  const double base_ms = std::min(200.0, 2.0 * std::pow(2.0, std::min(attempt_, 10)));
  const double ms = base_ms * std::uniform_real_distribution<double>(0.5, 1.5)(rng);
  ++attempt_;
  std::this_thread::sleep_for(duration<double, std::milli>(ms));
}

}  // namespace scalelab::store::sql
