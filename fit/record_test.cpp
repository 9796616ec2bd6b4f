// The typed fit record: every kind survives struct -> JSON -> struct -> JSON
// unchanged, the 0.1.0 release's records read back to the JSON they were
// stored as, byte for byte, and a record with a missing or mistyped key is
// refused by name.
#include "fit/record.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "common/error.h"
#include "fit/analysis.h"
#include "store/store.h"

using namespace scalelab;
using namespace scalelab::fit;

namespace {
const Chinchilla truth{1.8, 400, 2000, 0.34, 0.37};

// 5 budgets x 7 sizes around the optimum, 0.3% noise, each point with a training curve.
Dataset synthetic() {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> eps(0, 0.003);
  Dataset ds;
  ds.source = "synthetic";
  ds.sweep = true;
  ds.selection = {{"used", 35}};
  ds.conventions = {{"params", "total"}, {"flops", "C = 6 N D"}};
  int k = 0;
  for (double C : {1e17, 3e17, 1e18, 3e18, 1e19})
    for (int j = -3; j <= 3; ++j) {
      const double N = truth.n_opt(C) * std::pow(2.0, j / 1.5), D = C / (6 * N);
      const std::string id = fmt::format("p{}", k++);
      ds.points.push_back({N, D, C, truth.loss(N, D) * std::exp(eps(rng)), id});
      Curve c{id, N, 6 * N, {}, {}};
      for (int i = 1; i <= 40; ++i) c.tokens.push_back(D * i / 40), c.loss.push_back(truth.loss(N, D * i / 40));
      ds.curves.push_back(std::move(c));
    }
  return ds;
}

FitRecord fitted(int approach, std::optional<Law> law = std::nullopt) {
  FitOptions o;
  o.approach = approach;
  o.law = law;
  o.filter = Filter{};
  o.boot.resamples = 20;
  return fit_record(synthetic(), o);
}

// Sorted keys, numbers as written: equal text means equal keys, values and number types.
std::string canonical(const json& j) { return nlohmann::json::parse(j.dump()).dump(); }

void round_trips(FitRecord rec) {
  rec.id = 42;
  rec.created_at = "2026-12-01T00:00:00Z";
  const json j = rec.to_json();
  const FitRecord back = FitRecord::from_json(j);
  CHECK(back.to_json().dump() == j.dump());
  CHECK(back.id == 42);
  CHECK(back.part.index() == rec.part.index());
}

std::string refusal(const json& j) {
  try {
    FitRecord::from_json(j);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("each kind of fit record round-trips through its JSON") {
  const auto law = fitted(3, Law::chinchilla);
  REQUIRE(law.law_fit());
  CHECK(law.law_fit()->backtest);
  CHECK(law.law_fit()->identification);
  round_trips(law);
  const auto power = fitted(3, Law::power_c);
  REQUIRE(power.frontier_fit());
  CHECK(power.backtest()->unavailable);
  round_trips(power);
  const auto iso = fitted(2);
  REQUIRE(iso.isoflop());
  CHECK(iso.isoflop()->budgets.size() == 5);
  round_trips(iso);
  const auto env = fitted(1);
  REQUIRE(env.envelope());
  CHECK(!env.envelope()->envelope.empty());
  round_trips(env);
  // Through the store's columns too.
  store::Fit row = to_store(law);
  row.id = 7;
  row.created_at = "now";
  CHECK(canonical(record_of(row).to_json()["result"]) == canonical(law.to_json()["result"]));
}

TEST_CASE("the 0.1.0 release's records read back to the JSON they were stored as") {
  // A copy: opening a database may write to it (its journal, a migration), and the fixture stays as released.
  const auto dir = std::filesystem::temp_directory_path() / ("scalelab_record_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(SCALELAB_SOURCE_DIR "/tests/data/release-0.1.0/release.db", dir / "release.db",
                             std::filesystem::copy_options::overwrite_existing);
  auto st = store::Store::open((dir / "release.db").string());
  int read = 0;
  for (auto& row : st->fits()) {
    if (!is_loss_law(row)) {
      CHECK_THROWS_WITH_AS(loss_law_record(row), doctest::Contains("is an emergence fit"), UserError);
      continue;
    }
    CAPTURE(row.id);
    CHECK(record_of(row).to_json().dump() == from_store(row).dump());  // key order too
    ++read;
  }
  CHECK(read == 8);
  st.reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("a record missing or mistyping a required key is refused, naming the fit and the key") {
  json j = fitted(3, Law::chinchilla).to_json();
  j["id"] = 7;
  j["created_at"] = "now";
  REQUIRE(refusal(j).empty());

  json missing = j;
  missing["result"]["prediction_interval"].erase("kappa");
  CHECK(refusal(missing) == "fit 7: result.prediction_interval.kappa is missing");
  missing = j;
  missing["result"].erase("model");
  CHECK(refusal(missing) == "fit 7: result.model is missing");
  json mistyped = j;
  mistyped["n_points"] = "35";
  CHECK(refusal(mistyped) == "fit 7: n_points is a string, not an integer");
  mistyped = j;
  mistyped["result"]["backtest"]["candidates"][0]["law"] = 3;
  CHECK(refusal(mistyped) == "fit 7: result.backtest.candidates[0].law is a number, not a string");
  mistyped = j;
  mistyped["params"]["alpha"]["lo"] = "0.3";
  CHECK(refusal(mistyped) == "fit 7: params.alpha.lo is a string, not a number");

  // Fits stored before backtests have none of these: they read, and their forecasts say why there is no interval.
  json old = j;
  for (const char* k : {"backtest", "prediction_interval", "range", "identification"}) old["result"].erase(k);
  const auto rec = FitRecord::from_json(old);
  CHECK_FALSE(rec.backtest());
  const Model m = model_of(rec);
  CHECK_FALSE(m.pi.available);
  CHECK(m.pi.why == "this fit was stored without a backtest (refit it)");
  CHECK_FALSE(m.range);
}
