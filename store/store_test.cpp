#include "store/store.h"

#include "common/error.h"
#include "store/schema.h"
#include "store/sqlite.h"
#include "store/test_util.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <regex>

using namespace scalelab;
using namespace scalelab::store;
using scalelab::store::testing::make_metric;
using scalelab::store::testing::make_run;
using scalelab::store::testing::TempDir;

namespace {

std::string pragma(const Store& s, const std::string& name) {
  sql::Stmt st(s.handle(), "PRAGMA " + name);
  REQUIRE(st.step());
  return st.col_text(0);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no UserError)";
}

}  // namespace

TEST_CASE("a fresh database gets the latest schema and the connection settings") {
  TempDir dir;
  const auto path = dir.file("s.db");
  {
    auto s = Store::open(path);
    CHECK(schema::latest() >= 1);
    CHECK(s->schema_version() == schema::latest());
    CHECK(s->path() == path);
    CHECK(pragma(*s, "journal_mode") == "wal");
    CHECK(pragma(*s, "foreign_keys") == "1");
    CHECK(pragma(*s, "synchronous") == "1");  // NORMAL
    CHECK(pragma(*s, "busy_timeout") == std::to_string(sql::busy_timeout_ms()));
    CHECK(std::stoll(pragma(*s, "application_id")) == schema::kApplicationId);
    CHECK(s->add_run(make_run("0123456789abcdef")));
  }
  auto again = Store::open(path);  // reopening migrates nothing and keeps the data
  CHECK(again->schema_version() == schema::latest());
  CHECK(again->runs().size() == 1);
}

TEST_CASE("a database from a newer scalelab is refused, naming the file and versions") {
  TempDir dir;
  const auto path = dir.file("new.db");
  Store::open(path).reset();
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sql::exec(db, "PRAGMA user_version = " + std::to_string(schema::latest() + 5));
    sqlite3_close(db);
  }
  const auto msg = error_of([&] { Store::open(path); });
  CHECK(msg.find(path) != std::string::npos);
  CHECK(msg.find("version " + std::to_string(schema::latest() + 5)) != std::string::npos);
  CHECK(msg.find("(" + std::to_string(schema::latest()) + ")") != std::string::npos);
}

TEST_CASE("files that are not scalelab stores are refused with a UserError") {
  TempDir dir;
  const auto text = dir.file("notes.txt");
  std::ofstream(text) << "this is not a database, just some text that is long enough to have a "
                         "header of the size SQLite expects to read at the start of its files\n";
  CHECK(error_of([&] { Store::open(text); }).find("not a SQLite database") != std::string::npos);

  const auto other = dir.file("other.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
    sql::exec(db, "CREATE TABLE notes (body TEXT)");
    sqlite3_close(db);
  }
  CHECK(error_of([&] { Store::open(other); }).find("not a scalelab database") != std::string::npos);

  const auto missing = dir.file("no/such/dir/s.db");
  const auto msg = error_of([&] { Store::open(missing); });
  CHECK(msg.find(missing) != std::string::npos);
  CHECK(msg.find("cannot open") != std::string::npos);
}

TEST_CASE("runs are added once and read back field for field") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  auto r = make_run("0123456789abcdef");
  CHECK(s->add_run(r));
  r.name = "changed";
  CHECK_FALSE(s->add_run(r));  // exists: nothing changes
  CHECK(s->runs().size() == 1);

  const auto got = s->run("0123456789abcdef");
  REQUIRE(got);
  CHECK(got->name == "run-0123456789abcdef");
  CHECK(got->sweep_id.empty());
  CHECK(got->shape == "L4-D128-H4-T128");
  CHECK(got->n_layer == 4);
  CHECK(got->d_model == 128);
  CHECK(got->vocab == 256);
  CHECK(got->params_total == 842496);
  CHECK(got->params_non_embedding == 790016);
  CHECK(got->flops_per_token == doctest::Approx(5.1e6));
  CHECK(got->flop_convention == "6N+attn");
  CHECK(got->planned_tokens == doctest::Approx(2e7));
  CHECK(got->status == "pending");
  CHECK(got->attempts == 0);
  CHECK_FALSE(got->created_at.empty());
  CHECK(got->started_at.empty());
  CHECK_FALSE(got->final_train_loss);

  CHECK(s->add_runs({make_run("1111aaaa"), make_run("0123456789abcdef"), make_run("2222bbbb"),
                     make_run("1111aaaa")}) == 2);
  CHECK(s->runs().size() == 3);
  CHECK(s->add_runs({}) == 0);
}

TEST_CASE("runs are found by id or by a unique prefix of at least 4 characters") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  s->add_runs({make_run("abcd1111"), make_run("abcd2222"), make_run("abce3333"), make_run("xy")});
  CHECK(s->run("abcd1")->id == "abcd1111");
  CHECK(s->run("abce")->id == "abce3333");
  CHECK(s->run("xy")->id == "xy");  // exact ids of any length
  CHECK_FALSE(s->run("abc"));       // too short to be a prefix
  CHECK_FALSE(s->run("zzzz"));
  const auto msg = error_of([&] { s->run("abcd"); });
  CHECK(msg.find("ambiguous") != std::string::npos);
  CHECK(msg.find("2 runs") != std::string::npos);
}

TEST_CASE("run status transitions stamp times, count attempts and keep the summary") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  const std::string id = "feedbeef00000001";
  s->add_run(make_run(id));

  s->mark_running(id);
  auto r = *s->run(id);
  CHECK(r.status == "running");
  CHECK(r.attempts == 1);
  CHECK_FALSE(r.started_at.empty());
  CHECK(r.heartbeat_at == r.started_at);

  s->heartbeat(id, 120, 491520, 8000.5);
  r = *s->run(id);
  CHECK(r.steps_done == 120);
  CHECK(r.tokens_done == doctest::Approx(491520));
  CHECK(r.tokens_per_s == doctest::Approx(8000.5));
  CHECK_FALSE(r.mfu);  // no peak yet

  // MFU follows the rate: live from heartbeats, final from finish_run.
  s->set_accelerator(id, "NVIDIA H100 80GB HBM3", 989);
  s->heartbeat(id, 130, 532480, 8000.5);
  r = *s->run(id);
  CHECK(r.accelerator == "NVIDIA H100 80GB HBM3");
  CHECK(*r.peak_tflops == 989);
  REQUIRE(r.mfu);
  CHECK(*r.mfu == doctest::Approx(8000.5 * r.flops_per_token / 989e12));
  s->set_accelerator(id, "cpu", std::nullopt);  // resumed where no peak is known
  r = *s->run(id);
  CHECK(r.accelerator == "cpu");
  CHECK_FALSE(r.peak_tflops);
  CHECK_FALSE(r.mfu);
  s->set_accelerator(id, "cpu", 0.5);
  s->heartbeat(id, 140, 573440, 100);

  s->set_status(id, "failed", "CUDA out of memory");
  r = *s->run(id);
  CHECK(r.status == "failed");
  CHECK(r.error == "CUDA out of memory");
  CHECK_FALSE(r.finished_at.empty());

  s->mark_running(id);  // a retry clears the previous failure
  r = *s->run(id);
  CHECK(r.status == "running");
  CHECK(r.attempts == 2);
  CHECK(r.error.empty());
  CHECK(r.finished_at.empty());

  Run summary = r;
  summary.status = "done";
  summary.steps_done = 500;
  summary.tokens_done = 2048000;
  summary.final_train_loss = 3.25;
  summary.final_val_loss = 3.5;
  summary.wall_s = 61.5;
  CHECK_FALSE(r.unique_tokens);
  summary.unique_tokens = 1024000;
  summary.epochs = 2.0;
  summary.final_val_loss_se = 0.0125;
  s->finish_run(summary);
  r = *s->run(id);
  CHECK(r.status == "done");
  CHECK(r.steps_done == 500);
  CHECK(r.unique_tokens == doctest::Approx(1024000));
  CHECK(r.epochs == doctest::Approx(2.0));
  CHECK(r.final_val_loss_se == doctest::Approx(0.0125));
  CHECK(r.final_train_loss == doctest::Approx(3.25));
  CHECK(r.final_val_loss == doctest::Approx(3.5));
  CHECK(r.wall_s == doctest::Approx(61.5));
  CHECK_FALSE(r.finished_at.empty());

  summary.status = "diverged";
  summary.final_train_loss = std::nan("");  // NaN is stored as NULL
  s->finish_run(summary);
  CHECK_FALSE(s->run(id)->final_train_loss);

  s->set_status(id, "pending");
  r = *s->run(id);
  CHECK(r.status == "pending");
  CHECK(r.finished_at.empty());
  CHECK(r.attempts == 2);

  CHECK_THROWS_AS(s->set_status(id, "exploded"), UserError);
  CHECK(error_of([&] { s->mark_running("nope"); }).find("no run 'nope'") != std::string::npos);
  CHECK_THROWS_AS(s->heartbeat("nope", 1, 1, 1), UserError);
  summary.status = "running";
  CHECK_THROWS_AS(s->finish_run(summary), std::invalid_argument);
}

TEST_CASE("sweeps are found by id, name or id prefix; runs filter by sweep") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  CHECK(s->add_sweep({"5eed000000000001", "width", "[sweep]\nname = \"width\"\n", ""}));
  CHECK_FALSE(s->add_sweep({"5eed000000000001", "other", "", ""}));
  CHECK(s->add_sweep({"5eed000000000002", "depth", "", ""}));
  CHECK(s->sweeps().size() == 2);
  CHECK(s->sweep("5eed000000000001")->name == "width");
  CHECK(s->sweep("width")->id == "5eed000000000001");
  CHECK(s->sweep("5eed000000000002")->config_toml.empty());
  CHECK_FALSE(s->sweep("nothing"));
  CHECK(error_of([&] { s->sweep("5eed"); }).find("ambiguous") != std::string::npos);

  CHECK(s->add_sweep({"c0ffee0000000003", "width", "", ""}));
  CHECK(error_of([&] { s->sweep("width"); }).find("2 sweeps are named 'width'") !=
        std::string::npos);

  s->add_runs({make_run("aaaa0001", "5eed000000000001"), make_run("aaaa0002", "5eed000000000001"),
               make_run("aaaa0003", "5eed000000000002"), make_run("aaaa0004")});
  CHECK(s->runs("5eed000000000001").size() == 2);
  CHECK(s->runs("5eed000000000002").size() == 1);
  CHECK(s->runs().size() == 4);
  CHECK(s->run("aaaa0001")->sweep_id == "5eed000000000001");
  // A run must belong to a sweep that exists.
  CHECK_THROWS_AS(s->add_run(make_run("aaaa0005", "no-such-sweep")), std::runtime_error);
}

TEST_CASE("metric writes are idempotent on (run, split, step)") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  s->add_runs({make_run("run00001"), make_run("run00002")});
  s->write_metrics({make_metric("run00001", 10, "train", 3.0), make_metric("run00001", 10, "val", 3.4),
                    make_metric("run00001", 20, "train", 2.9)});
  s->write_metrics({make_metric("run00001", 10, "train", 2.5)});  // a resumed run rewrites it
  CHECK(s->metric_count("run00001") == 3);
  CHECK(s->metric_count() == 3);

  const auto all = s->metrics("run00001");
  REQUIRE(all.size() == 3);
  CHECK(all[0].split == "train");
  CHECK(all[0].step == 10);
  CHECK(all[0].loss == doctest::Approx(2.5));
  CHECK(all[0].tokens == doctest::Approx(40960));
  CHECK(all[1].step == 20);
  CHECK(all[2].split == "val");
  CHECK(s->metrics("run00001", "val").size() == 1);
  CHECK(s->metrics("run00002").empty());

  auto diverged = make_metric("run00002", 5, "train", std::nan(""));
  diverged.grad_norm = std::numeric_limits<double>::infinity();
  s->write_metrics({diverged});
  const auto back = s->metrics("run00002");
  REQUIRE(back.size() == 1);
  CHECK(std::isnan(back[0].loss));
  CHECK(std::isinf(back[0].grad_norm));
  s->write_metrics({});
}

TEST_CASE("a metric batch is atomic: a failing row leaves none of the batch") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  s->add_run(make_run("run00001"));
  std::string msg;
  try {
    s->write_metrics({make_metric("run00001", 1, "train", 3.0), make_metric("run00001", 2, "train", 2.9),
                      make_metric("ghost", 3, "train", 2.8)});
  } catch (const std::runtime_error& e) {
    msg = e.what();
  }
  CHECK(msg.find("ghost") != std::string::npos);
  CHECK(msg.find("FOREIGN KEY") != std::string::npos);
  CHECK(s->metric_count() == 0);

  CHECK_THROWS(s->write_metrics({make_metric("run00001", 1, "train", 3.0),
                                 make_metric("run00001", 2, "test", 2.9)}));  // bad split
  CHECK(s->metric_count() == 0);
  s->write_metrics({make_metric("run00001", 1, "train", 3.0)});  // the connection still works
  CHECK(s->metric_count() == 1);
}

TEST_CASE("eval writes are idempotent on (run, step, task, metric)") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  s->add_run(make_run("run00001"));
  s->write_evals({{"run00001", 100, "hellaswag", "acc", 0.31, 1000},
                  {"run00001", 100, "hellaswag", "acc_norm", 0.33, 1000},
                  {"run00001", 100, "lambada", "acc", 0.2, 500}});
  s->write_evals({{"run00001", 100, "hellaswag", "acc", 0.32, 2000}});
  const auto all = s->evals("run00001");
  REQUIRE(all.size() == 3);
  CHECK(all[0].task == "hellaswag");
  CHECK(all[0].metric == "acc");
  CHECK(all[0].value == doctest::Approx(0.32));
  CHECK(all[0].n == 2000);
  CHECK(s->evals("run00001", "lambada").size() == 1);
  CHECK_THROWS(s->write_evals({{"ghost", 1, "t", "m", 0, 1}}));
}

TEST_CASE("fits are added, fetched by id and the latest is found") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  CHECK_FALSE(s->latest_fit());
  Fit f;
  f.source = "5eed000000000001";
  f.law = "chinchilla";
  f.approach = "3";
  f.selection = R"({"status":["done"]})";
  f.conventions = R"({"flops":"6N+attn","params":"non_embedding"})";
  f.params = R"({"E":{"value":1.69,"lo":1.6,"hi":1.8}})";
  f.objective = 0.0123;
  f.n_points = 24;
  f.convergence = R"({"starts":64,"converged":61})";
  f.result = "{}";
  const auto first = s->add_fit(f);
  f.law = "kaplan";
  f.convergence.clear();  // stored as NULL
  const auto second = s->add_fit(f);
  CHECK(second > first);

  const auto got = s->fit(first);
  REQUIRE(got);
  CHECK(got->law == "chinchilla");
  CHECK(got->params == f.params);
  CHECK(got->objective == doctest::Approx(0.0123));
  CHECK(got->n_points == 24);
  CHECK_FALSE(got->created_at.empty());
  CHECK(s->latest_fit()->id == second);
  CHECK(s->latest_fit()->convergence.empty());
  CHECK(s->fits().size() == 2);
  CHECK_FALSE(s->fit(second + 100));

  f.params = "{not json";
  CHECK_THROWS(s->add_fit(f));
  CHECK(s->fits().size() == 2);
}

TEST_CASE("the per-run metric query is a primary-key range, with no scan or sort") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  auto plan = [&](const std::string& query) {
    sql::Stmt st(s->handle(), "EXPLAIN QUERY PLAN " + query);
    std::string out;
    while (st.step()) out += st.col_text(3) + "\n";
    return out;
  };
  const auto all = plan("SELECT * FROM metrics WHERE run_id = 'x' ORDER BY split, step");
  CHECK(all.find("USING PRIMARY KEY (run_id=?)") != std::string::npos);
  CHECK(all.find("TEMP B-TREE") == std::string::npos);
  const auto one = plan("SELECT * FROM metrics WHERE run_id = 'x' AND split = 'val' ORDER BY step");
  CHECK(one.find("USING PRIMARY KEY (run_id=? AND split=?)") != std::string::npos);
  CHECK(one.find("TEMP B-TREE") == std::string::npos);
  CHECK(plan("SELECT * FROM runs WHERE sweep_id = 'x'").find("runs_by_sweep") != std::string::npos);
  CHECK(plan("SELECT * FROM runs WHERE status = 'running'").find("INDEX runs_by_status") !=
        std::string::npos);
}

TEST_CASE("now_iso8601 is UTC with second precision") {
  CHECK(std::regex_match(now_iso8601(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
}

// A size check, not a unit test: run with `store_tests -tc='*million*' --no-skip`.
TEST_CASE("reading one run's curve from a million-row metrics table is fast" * doctest::skip()) {
  constexpr int kRuns = 1000, kSteps = 1000;
  TempDir dir;
  auto s = Store::open(dir.file("big.db"));
  std::vector<Run> runs;
  for (int i = 0; i < kRuns; ++i) runs.push_back(make_run(fmt::format("{:016x}", 0x1000u + i)));
  s->add_runs(runs);
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& r : runs) {
    std::vector<Metric> batch;
    for (int step = 0; step < kSteps; ++step)
      batch.push_back(make_metric(r.id, step, step % 10 == 0 ? "val" : "train", 3.0));
    s->write_metrics(batch);
  }
  const auto t1 = std::chrono::steady_clock::now();
  REQUIRE(s->metric_count() == std::int64_t{kRuns} * kSteps);
  constexpr int kReads = 200;
  std::size_t rows = 0;
  for (int i = 0; i < kReads; ++i) rows += s->metrics(runs[(i * 7919) % kRuns].id).size();
  const auto t2 = std::chrono::steady_clock::now();
  CHECK(rows == std::size_t{kReads} * kSteps);
  const auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  MESSAGE(fmt::format("write: {:.2f} s for {} rows in {} transactions ({:.2f} us/row); "
                      "metrics(run): {:.3f} ms per {}-row read",
                      secs(t1 - t0), kRuns * kSteps, kRuns, 1e6 * secs(t1 - t0) / (kRuns * kSteps),
                      1e3 * secs(t2 - t1) / kReads, kSteps));
  CHECK(secs(t2 - t1) / kReads < 0.05);
}

TEST_CASE("a run's tokenizer and bytes per token round-trip through add_run and register_sweep") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  auto bpe = make_run("aaaa000000000001");
  bpe.tokenizer = "sentencepiece:ab12ab12ab12ab12";
  bpe.bytes_per_token = 3.5;
  bpe.train_bytes_per_token = 3.25;
  auto task = make_run("aaaa000000000002");  // no tokenizer: task data
  REQUIRE(s->add_runs({bpe, task}) == 2);
  auto text = make_run("aaaa000000000003", "sw1");
  text.tokenizer = "bytes";
  text.bytes_per_token = text.train_bytes_per_token = 1.0;
  s->register_sweep(Sweep{"sw1", "one", "", ""}, {text});

  const auto got = s->run("aaaa000000000001");
  REQUIRE(got);
  CHECK(got->tokenizer == "sentencepiece:ab12ab12ab12ab12");
  CHECK(*got->bytes_per_token == 3.5);
  CHECK(*got->train_bytes_per_token == 3.25);
  CHECK(*loss_bpb(2.0, got->bytes_per_token) == doctest::Approx(2.0 / (std::log(2.0) * 3.5)));
  const auto none = s->run("aaaa000000000002");
  CHECK(none->tokenizer.empty());
  CHECK_FALSE(none->bytes_per_token);
  CHECK_FALSE(loss_bpb(2.0, none->bytes_per_token));
  CHECK_FALSE(loss_bpb(std::nullopt, 1.0));
  const auto members = s->sweep_runs("sw1");
  REQUIRE(members.size() == 1);
  CHECK(members[0].tokenizer == "bytes");
  CHECK(*members[0].bytes_per_token == 1.0);
  CHECK(*members[0].train_bytes_per_token == 1.0);
}
