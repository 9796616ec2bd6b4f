#pragma once
// Small RAII layer over the SQLite C API, private to store/.
//
// Errors are sorted three ways so callers never look at result codes:
//   Busy            another connection holds a lock; retry() waits it out.
//   UserError       the file itself is the problem (cannot open, not a database,
//                   read-only, disk full, corrupt): the user can fix it.
//   runtime_error   anything else: a violated constraint or a bug.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace scalelab::store::sql {

struct Busy : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How long one lock wait may block inside SQLite's own busy handler, and how long
// retry() keeps trying in all before it gives up with a ResourceError (exit 4).
inline constexpr int kBusyTimeoutMs = 30'000;
inline constexpr std::chrono::seconds kRetryFor{120};

// kRetryFor unless SCALELAB_LOCK_WAIT_S (whole seconds, 1 .. 86400) says otherwise:
// a cluster's network filesystem may want longer, a test shorter. Read once.
std::chrono::seconds lock_wait();
// What SQLite's busy handler gets: kBusyTimeoutMs, or less when lock_wait() is shorter.
int busy_timeout_ms();

// The file behind `db`, for messages (":memory:" for an in-memory database).
std::string db_path(sqlite3* db);

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view context);

// Runs one or more ';'-separated statements that return no rows of interest.
void exec(sqlite3* db, std::string_view sql);

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are 1-based, as in SQL's ?1, ?2, ...
  Stmt& bind_text(int i, std::string_view v);
  Stmt& bind_text_or_null(int i, std::string_view v);  // "" is stored as NULL
  Stmt& bind_int(int i, std::int64_t v);
  Stmt& bind_int(int i, const std::optional<std::int64_t>& v);  // nullopt is stored as NULL
  // NaN becomes NULL (SQLite cannot store NaN); columns that may hold it are nullable.
  Stmt& bind_real(int i, double v);
  Stmt& bind_real(int i, const std::optional<double>& v);

  bool step();  // true when a row is ready; false when the statement is done
  void run();   // steps to completion, then resets for the next set of parameters
  void reset();

  // Columns are 0-based.
  bool col_null(int col) const;
  std::string col_text(int col) const;  // NULL reads as ""
  std::int64_t col_int(int col) const;
  std::optional<std::int64_t> col_opt_int(int col) const;
  double col_real(int col) const;  // NULL reads as NaN
  std::optional<double> col_opt_real(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// A write transaction is BEGIN IMMEDIATE: it takes the write lock up front, so the
// busy handler applies. A deferred transaction that upgrades from read to write
// fails at once with SQLITE_BUSY(_SNAPSHOT) when another writer committed in
// between, and no timeout helps. A read transaction (plain BEGIN) only pins one
// snapshot for several queries. Rolls back unless commit() was reached.
class Tx {
 public:
  enum class Mode { Read, Write };
  explicit Tx(sqlite3* db, Mode mode = Mode::Write);
  ~Tx();
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  void commit();

 private:
  sqlite3* db_;
  bool done_ = false;
};

// Waits between attempts with jittered exponential backoff, and turns the last
// Busy into a ResourceError once lock_wait() has passed.
class Backoff {
 public:
  explicit Backoff(sqlite3* db);
  void wait(const Busy& why);

 private:
  sqlite3* db_;
  std::chrono::steady_clock::time_point start_;
  int attempt_ = 0;
};

// Calls f until it does not throw Busy. f must be safe to repeat: it starts from
// scratch each time (a write transaction that failed was rolled back).
template <typename F>
auto retry(sqlite3* db, F&& f) -> decltype(f()) {
  Backoff backoff(db);
  for (;;) {
    try {
      return f();
    } catch (const Busy& e) {
      backoff.wait(e);
    }
  }
}

// f inside one transaction, retried as a whole on Busy.
template <typename F>
auto in_tx(sqlite3* db, Tx::Mode mode, F&& f) -> decltype(f()) {
  return retry(db, [&]() -> decltype(f()) {
    Tx tx(db, mode);
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      tx.commit();
    } else {
      auto result = f();
      tx.commit();
      return result;
    }
  });
}

// f inside one BEGIN IMMEDIATE transaction.
template <typename F>
auto write(sqlite3* db, F&& f) -> decltype(f()) {
  return in_tx(db, Tx::Mode::Write, std::forward<F>(f));
}

// f's queries all see one snapshot of the database.
template <typename F>
auto read(sqlite3* db, F&& f) -> decltype(f()) {
  return in_tx(db, Tx::Mode::Read, std::forward<F>(f));
}

}  // namespace scalelab::store::sql
