#include <doctest/doctest.h>

#include <cmath>

#include "trainer/progress.h"

using namespace scalelab::trainer;

TEST_CASE("progress line and JSON event") {
  ProgressState s;
  s.step = 120;
  s.total_steps = 500;
  s.tokens = 491520;
  s.total_tokens = 2048000;
  s.loss = 2.345;
  s.tok_per_s = 12300;
  s.eta_s = 31;
  CHECK(progress_line(s, true) ==
        "step 120/500 | tokens 492k/2.05M | loss 2.345 (3.38 bpb) | 12.3k tok/s | ETA 31s");
  CHECK(progress_line(s, false) == "step 120/500 | tokens 492k/2.05M | loss 2.345 | 12.3k tok/s | ETA 31s");
  s.eta_s = 185;
  CHECK(progress_line(s, false).ends_with("ETA 3m05s"));
  CHECK(progress_json(s) ==
        "{\"event\":\"progress\",\"step\":120,\"total_steps\":500,\"tokens\":491520,\"loss\":2.345,"
        "\"tok_per_s\":12300.0,\"eta_s\":185.0}");
  s.loss = std::nan("");
  s.eta_s = NAN;
  CHECK(progress_json(s).find("\"loss\":null") != std::string::npos);
  CHECK(progress_json(s).find("\"eta_s\":null") != std::string::npos);
  s.loss.reset();
  CHECK(progress_line(s, true).find("loss - |") != std::string::npos);
}
