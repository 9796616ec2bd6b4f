// Store::curves and Store::each_metric: the reads reports and exports use.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "store/store.h"
#include "store/test_util.h"

using namespace scalelab::store;
using scalelab::store::testing::make_metric;
using scalelab::store::testing::make_run;
using scalelab::store::testing::TempDir;

namespace {

Metric row(const std::string& run, std::int64_t step, double tokens, double loss, const std::string& split = "val") {
  Metric m = make_metric(run, step, split, loss);
  m.tokens = tokens;
  m.flops = 6 * tokens;
  return m;
}

// A run still training towards 1,000 tokens: with 2 bins, one decade each from
// its first row at 10 tokens, the rows fall into {10, 20, 30} and {100 .. 500}.
Run binned_run(Store& s) {
  Run r = make_run("00000000000000b1");
  r.planned_tokens = 1000;
  REQUIRE(s.add_run(r));
  s.write_metrics({row(r.id, 1, 10, 4.0), row(r.id, 2, 20, 3.0), row(r.id, 3, 30, 1.0), row(r.id, 4, 100, 1.9),
                   row(r.id, 5, 200, 1.8), row(r.id, 6, 300, 1.4), row(r.id, 7, 500, 1.3)});
  return r;
}

}  // namespace

TEST_CASE("curves: every drawable row in step order, one curve per run asked, in that order") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  Run a = make_run("00000000000000a1"), b = make_run("00000000000000a2"), none = make_run("00000000000000a3");
  for (auto* r : {&a, &b, &none}) REQUIRE(s->add_run(*r));
  s->write_metrics({row(a.id, 3, 300, 2.0), row(a.id, 1, 100, 3.0), row(a.id, 2, 0, 2.5), row(a.id, 4, 400, NAN),
                    row(a.id, 1, 100, 9.0, "train"), row(b.id, 1, 50, 4.0)});
  auto cs = s->curves({b, none, a}, "val");
  REQUIRE(cs.size() == 3);
  CHECK(cs[0].run_id == b.id);
  CHECK(cs[0].tokens == std::vector<double>{50});
  CHECK(cs[1].run_id == none.id);
  CHECK(cs[1].tokens.empty());
  CHECK(cs[1].rows_read == 0);
  // No tokens or no finite loss: not drawable on a log-log plot, but read.
  CHECK(cs[2].rows_read == 4);
  CHECK(cs[2].tokens == std::vector<double>{100, 300});
  CHECK(cs[2].flops == std::vector<double>{600, 1800});
  CHECK(cs[2].loss == std::vector<double>{3.0, 2.0});
  CHECK(s->curves({a}, "train")[0].loss == std::vector<double>{9.0});
}

TEST_CASE("a downsampled curve: log-spaced bins at their middle rows, or their mean loss, and the last row exactly") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  Run r = binned_run(*s);
  auto mid = s->curves({r}, "val", {2, false})[0];
  CHECK(mid.rows_read == 7);
  CHECK(mid.tokens == std::vector<double>{20, 300, 500});
  CHECK(mid.flops == std::vector<double>{120, 1800, 3000});
  CHECK(mid.loss == std::vector<double>{3.0, 1.4, 1.3});
  auto mean = s->curves({r}, "val", {2, true})[0];
  CHECK(mean.tokens == std::vector<double>{20, 300, 500});
  REQUIRE(mean.loss.size() == 3);
  CHECK(mean.loss[0] == doctest::Approx((4.0 + 3.0 + 1.0) / 3));
  CHECK(mean.loss[1] == doctest::Approx((1.9 + 1.8 + 1.4 + 1.3) / 4));
  CHECK(mean.loss[2] == 1.3);  // the final loss is never averaged away
  // More bins than rows: every row survives.
  CHECK(s->curves({r}, "val", {400, false})[0].tokens.size() == 7);
}

TEST_CASE("curves and each_metric refuse bad input and leave no transaction open when the caller throws") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  Run r = binned_run(*s);
  CHECK_THROWS_AS(s->curves({r}, "val", {-1, false}), std::invalid_argument);
  int seen = 0;
  auto stop = [&](const Metric&) {
    if (++seen == 2) throw std::runtime_error("the caller's own error");
  };
  CHECK_THROWS_WITH(s->each_metric({r}, stop), "the caller's own error");
  CHECK(seen == 2);
  // The read transaction was rolled back: a write on the same connection can begin.
  s->write_metrics({row(r.id, 8, 600, 1.2)});
  CHECK(s->curves({r}, "val")[0].tokens.size() == 8);
}

TEST_CASE("each_metric streams every row of every run from one snapshot") {
  TempDir dir;
  const auto path = dir.file("s.db");
  auto s = Store::open(path);
  Run a = make_run("00000000000000c1"), b = make_run("00000000000000c2");
  REQUIRE(s->add_run(a));
  REQUIRE(s->add_run(b));
  s->write_metrics({make_metric(a.id, 2, "val", 2.0), make_metric(a.id, 1, "val", NAN),
                    make_metric(a.id, 1, "train", 3.0), make_metric(b.id, 1, "val", 4.0)});
  auto writer = Store::open(path);
  std::vector<Metric> got;
  s->each_metric({a, b}, [&](const Metric& m) {
    // A row written by another process mid-read belongs to a later snapshot.
    if (got.empty()) writer->write_metrics({make_metric(b.id, 2, "val", 3.5)});
    got.push_back(m);
  });
  REQUIRE(got.size() == 4);
  CHECK(got[0].run_id == a.id);
  CHECK(got[0].split == "train");
  CHECK((got[1].split == "val" && got[1].step == 1 && std::isnan(got[1].loss)));
  CHECK((got[2].step == 2 && got[2].loss == 2.0 && got[2].tokens == 8192 && got[2].grad_norm == 0.5));
  CHECK((got[3].run_id == b.id && got[3].step == 1));
  CHECK(s->metrics(b.id).size() == 2);  // and the next read sees it
}
