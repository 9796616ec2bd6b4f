#include "store/schema.h"

#include "common/error.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "store/test_util.h"

#include <doctest/doctest.h>

#include <array>
#include <cmath>

using namespace scalelab;
using namespace scalelab::store;
using scalelab::store::testing::TempDir;

namespace {

// A raw connection, as Store::open would have it before migrating.
struct Db {
  explicit Db(const std::string& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, sql::kBusyTimeoutMs);
    sql::exec(db, "PRAGMA journal_mode = WAL");
  }
  ~Db() { sqlite3_close(db); }
  bool has_table(const std::string& name) const {
    sql::Stmt st(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
    st.bind_text(1, name);
    st.step();
    return st.col_int(0) == 1;
  }
  sqlite3* db = nullptr;
};

constexpr std::array<std::string_view, 3> kSteps{
    "CREATE TABLE a (x INTEGER)",
    "ALTER TABLE a ADD COLUMN y TEXT; INSERT INTO a (x, y) VALUES (1, 'one')",
    "CREATE TABLE b (z INTEGER)",
};

}  // namespace

TEST_CASE("an older database is upgraded step by step to the newest version") {
  TempDir dir;
  Db d(dir.file("m.db"));
  schema::migrate(d.db, "m.db", std::span(kSteps).first(1));
  CHECK(schema::user_version(d.db) == 1);
  CHECK_FALSE(d.has_table("b"));

  schema::migrate(d.db, "m.db", kSteps);
  CHECK(schema::user_version(d.db) == 3);
  CHECK(d.has_table("b"));
  sql::Stmt st(d.db, "SELECT y FROM a");
  REQUIRE(st.step());
  CHECK(st.col_text(0) == "one");

  schema::migrate(d.db, "m.db", kSteps);  // already there: nothing runs twice
  CHECK(schema::user_version(d.db) == 3);
}

TEST_CASE("a failing migration step leaves the database at the previous version, unchanged") {
  TempDir dir;
  Db d(dir.file("m.db"));
  schema::migrate(d.db, "m.db", std::span(kSteps).first(1));
  const std::array<std::string_view, 2> bad{kSteps[0], "CREATE TABLE c (z); CREATE TABLE a (x)"};
  CHECK_THROWS(schema::migrate(d.db, "m.db", bad));
  CHECK(schema::user_version(d.db) == 1);
  CHECK_FALSE(d.has_table("c"));
}

TEST_CASE("a migration that would break a foreign key is rolled back") {
  TempDir dir;
  Db d(dir.file("m.db"));
  const std::array<std::string_view, 2> steps{
      "CREATE TABLE p (id INTEGER PRIMARY KEY); "
      "CREATE TABLE c (p_id INTEGER REFERENCES p(id)); INSERT INTO p VALUES (1); "
      "INSERT INTO c VALUES (1)",
      "DELETE FROM p"};
  CHECK_THROWS_WITH_AS(schema::migrate(d.db, "m.db", steps),
                       doctest::Contains("foreign-key violation in table c"), std::runtime_error);
  CHECK(schema::user_version(d.db) == 1);
}

TEST_CASE("the real migrations create every table") {
  TempDir dir;
  Db d(dir.file("m.db"));
  schema::migrate(d.db, "m.db", schema::migrations());
  CHECK(schema::user_version(d.db) == schema::latest());
  for (const auto* t : {"sweeps", "runs", "metrics", "evals", "fits"}) CHECK(d.has_table(t));
}

TEST_CASE("a version 3 database gains the data-constrained columns, its runs reading back unset") {
  TempDir dir;
  const std::string path = dir.file("v3.db");
  {
    Db d(path);
    schema::migrate(d.db, path, schema::migrations().first(3));
    REQUIRE(schema::user_version(d.db) == 3);
    sql::exec(d.db,
              "INSERT INTO runs (id, name, config_toml, config_hash, shape, n_layer, d_model, n_head, seq_len, "
              "vocab, params_total, params_non_embedding, flops_per_token, flop_convention, planned_tokens, "
              "status, created_at, steps_done, tokens_done, final_val_loss) VALUES ('0123456789abcdef', 'old', "
              "'', '0123456789abcdef', 'L1-D8-H1-T8', 1, 8, 1, 8, 256, 100, 80, 1e3, '6N', 1e5, 'done', "
              "'2026-01-01T00:00:00Z', 10, 1e5, 2.5)");
  }
  auto s = Store::open(path);
  CHECK(s->schema_version() == schema::latest());  // through v4 and on
  Db d(path);
  std::vector<std::string> cols;
  sql::Stmt st(d.db, "SELECT name FROM pragma_table_info('runs') WHERE name IN "
                     "('unique_tokens', 'epochs', 'final_val_loss_se') ORDER BY cid");
  while (st.step()) cols.push_back(st.col_text(0));
  CHECK(cols == std::vector<std::string>{"unique_tokens", "epochs", "final_val_loss_se"});
  auto r = s->run("0123");
  REQUIRE(r);
  CHECK(r->final_val_loss == doctest::Approx(2.5));
  CHECK(r->tokens_done == doctest::Approx(1e5));
  CHECK_FALSE(r->unique_tokens);
  CHECK_FALSE(r->epochs);
  CHECK_FALSE(r->final_val_loss_se);
  CHECK(r->parent_id.empty());  // v5: not a branch
  CHECK_FALSE(r->fork_step);
  CHECK(r->accelerator.empty());  // v6: trained before MFU was recorded
  CHECK_FALSE(r->peak_tflops);
  CHECK_FALSE(r->mfu);
  CHECK(r->tokenizer.empty());  // v7: registered before tokenizers were recorded
  CHECK_FALSE(r->bytes_per_token);
  CHECK_FALSE(loss_bpb(r->final_val_loss, r->bytes_per_token));
}

TEST_CASE("a version 6 database gains the tokenizer columns; set_tokenization fills them") {
  TempDir dir;
  const std::string path = dir.file("v6.db");
  {
    Db d(path);
    schema::migrate(d.db, path, schema::migrations().first(6));
    REQUIRE(schema::user_version(d.db) == 6);
    sql::exec(d.db,
              "INSERT INTO runs (id, name, config_toml, config_hash, shape, n_layer, d_model, n_head, seq_len, "
              "vocab, params_total, params_non_embedding, flops_per_token, flop_convention, planned_tokens, "
              "status, created_at, steps_done, tokens_done, final_val_loss, accelerator) VALUES "
              "('0123456789abcdef', 'old', '', '0123456789abcdef', 'L1-D8-H1-T8', 1, 8, 1, 8, 256, 100, 80, 1e3, "
              "'6N', 1e5, 'done', '2026-01-01T00:00:00Z', 10, 1e5, 2.5, 'cpu')");
  }
  auto s = Store::open(path);
  CHECK(s->schema_version() == 7);
  auto r = s->run("0123");
  REQUIRE(r);
  CHECK(r->accelerator == "cpu");  // v6 data untouched
  CHECK(r->tokenizer.empty());
  CHECK_FALSE(r->bytes_per_token);
  CHECK_FALSE(r->train_bytes_per_token);
  r->tokenizer = "bytes";
  r->bytes_per_token = r->train_bytes_per_token = 1.0;
  s->set_tokenization(*r);
  r = s->run("0123");
  CHECK(r->tokenizer == "bytes");
  CHECK(*r->bytes_per_token == 1.0);
  CHECK(*loss_bpb(r->final_val_loss, r->bytes_per_token) == doctest::Approx(2.5 / std::log(2.0)));
}
