#include "store/run_json.h"

#include <doctest/doctest.h>

using namespace scalelab;

TEST_CASE("a run converts to the object `runs --json` prints: unknown numbers as null") {
  store::Run r;
  r.id = "abc";
  r.status = "done";
  r.final_val_loss = 2.5;
  nlohmann::json j = std::vector<store::Run>{r};
  REQUIRE(j.is_array());
  CHECK(j[0]["id"] == "abc");
  CHECK(j[0]["final_val_loss"] == 2.5);
  CHECK(j[0]["final_train_loss"].is_null());
  CHECK(j[0]["error"] == "");
  // Every column (the 0.1.0 release printed 23 of them; these 41 are a superset).
  CHECK(j[0].size() == 41);
  CHECK(j[0]["tokenizer"].is_null());  // unknown: no bits per byte
  CHECK(j[0]["final_val_bpb"].is_null());
  CHECK(j[0]["mfu"].is_null());  // no peak known
  CHECK(j[0]["peak_tflops"].is_null());
  CHECK(j[0]["parent_id"].is_null());
  CHECK(j[0]["config_hash"] == "");
  CHECK(store::run_fields(r).begin().key() == "id");  // the table order, for runs.csv
  CHECK(nlohmann::json(std::vector<store::Run>{}).dump() == "[]");
}

TEST_CASE("a run with bytes per token shows its losses in bits per byte too") {
  store::Run r;
  r.final_val_loss = 2.0;
  r.final_val_loss_se = 0.02;
  r.final_train_loss = 2.2;
  r.tokenizer = "sentencepiece:ab12ab12ab12ab12";
  r.bytes_per_token = 4.0;
  r.train_bytes_per_token = 2.0;
  const auto j = store::run_fields(r);
  CHECK(j["tokenizer"] == "sentencepiece:ab12ab12ab12ab12");
  CHECK(j["final_val_bpb"].get<double>() == doctest::Approx(2.0 / (4.0 * 0.6931471805599453)));
  CHECK(j["final_val_bpb_se"].get<double>() == doctest::Approx(0.02 / (4.0 * 0.6931471805599453)));
  CHECK(j["final_train_bpb"].get<double>() == doctest::Approx(2.2 / (2.0 * 0.6931471805599453)));
}

TEST_CASE("a metric row converts without its run id") {
  store::Metric m{"abc", 7, 1024, 3e6, "val", 2.25, 1e-3, 0.5, 1.5};
  nlohmann::json j = m;
  CHECK(j.dump() == R"({"flops":3000000.0,"grad_norm":0.5,"loss":2.25,"lr":0.001,"split":"val","step":7,"tokens":1024.0,"wall_s":1.5})");
}
