#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "common/error.h"
#include "fit/csv.h"
#include "fit/laws.h"

using namespace scalelab;
using namespace scalelab::fit;

namespace {
std::string write(const std::string& name, const std::string& text) {
  std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/scalelab_fit_" + name;
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

const CsvColumns cols{"Model Size", "Training FLOP", "", "loss"};
}  // namespace

TEST_CASE("CSV: quoted headers with spaces, \"\" escapes, CRLF; D = C/(6N)") {
  auto p = write("ok.csv", "\"Model Size\",\"Training FLOP\",note,loss\r\n"
                           "1e8,6e18,\"a, \"\"quoted\"\" note\",3.5\r\n"
                           "2e8,1.2e19,plain,3.25\r\n");
  auto r = read_csv_points(p, cols);
  REQUIRE(r.points.size() == 2);
  CHECK(r.header[0] == "Model Size");
  CHECK(r.points[0].D == doctest::Approx(1e10));  // 6e18 / (6 * 1e8)
  CHECK(r.points[1].L == 3.25);
  CHECK(r.points[1].id == "scalelab_fit_ok.csv:3");
  auto rows = parse_csv("a,b\n\"x\"\"y\",\"multi\nline\"\n", "t");
  CHECK(rows[1][0] == "x\"y");
  CHECK(rows[1][1] == "multi\nline");
}

TEST_CASE("CSV: the Epoch file, dropping the 5 highest losses") {
  auto r = read_csv_points(SCALELAB_SOURCE_DIR "/tests/data/svg_extracted_data.csv", cols, 5);
  CHECK(r.points.size() == 240);
  REQUIRE(r.dropped.size() == 5);
  CHECK(r.dropped[0].L == doctest::Approx(5.005581996196243));
  for (auto& p : r.points) CHECK(p.L < r.dropped.back().L + 1e-12);
}

TEST_CASE("CSV: bad input gives one-line errors naming the file and line or column") {
  auto e = error_of([] { read_csv_points(write("m.csv", "N,C,loss\n1,2,3\n"), cols); });
  CHECK(e.find("no column \"Model Size\"") != std::string::npos);
  CHECK(e.find("columns are: \"N\", \"C\", \"loss\"") != std::string::npos);

  e = error_of([] { read_csv_points(write("short.csv", "Model Size,Training FLOP,loss\n1e8,6e18,3\n1e8,6e18\n"), cols); });
  CHECK(e.find("short.csv:3: 2 fields, expected 3") != std::string::npos);

  e = error_of([] { read_csv_points(write("neg.csv", "Model Size,Training FLOP,loss\n1e8,6e18,-0.5\n"), cols); });
  CHECK(e.find("neg.csv:2: column \"loss\" is -0.5, losses must be positive") != std::string::npos);

  e = error_of([] { read_csv_points(write("zero.csv", "Model Size,Training FLOP,loss\n1e8,6e18,0\n"), cols); });
  CHECK(e.find("losses must be positive") != std::string::npos);

  e = error_of([] { read_csv_points(write("nan.csv", "Model Size,Training FLOP,loss\n1e8,abc,3\n"), cols); });
  CHECK(e.find("nan.csv:2: column \"Training FLOP\" is \"abc\", expected a finite number") != std::string::npos);

  e = error_of([] { read_csv_points(write("q.csv", "Model Size,Training FLOP,loss\n\"1e8,6e18,3\n"), cols); });
  CHECK(e.find("q.csv:2: unterminated quoted field") != std::string::npos);

  e = error_of([] { read_csv_points(write("empty.csv", ""), cols); });
  CHECK(e.find("empty file") != std::string::npos);

  e = error_of([] { read_csv_points("/nonexistent/x.csv", cols); });
  CHECK(e.find("cannot open CSV file /nonexistent/x.csv") != std::string::npos);

  e = error_of([] { read_csv_points(write("one.csv", "Model Size,Training FLOP,loss\n1e8,6e18,3\n"), cols, 1); });
  CHECK(e.find("would drop all 1 rows") != std::string::npos);
}

TEST_CASE("degenerate data: too few points, a single N, non-positive losses") {
  std::vector<Point> few = {{1e8, 1e9, 6e17, 3, "a"}, {2e8, 1e9, 1.2e18, 2.9, "b"}, {4e8, 1e9, 2.4e18, 2.8, "c"}};
  auto e = error_of([&] { fit_law(Law::chinchilla, few); });
  CHECK(e.find("too few points for a chinchilla fit: 3 given, at least 7 needed") != std::string::npos);

  std::vector<Point> oneN;
  for (int i = 0; i < 10; ++i) oneN.push_back({1e8, 1e9 * (i + 1), 6e17 * (i + 1), 3.0 - 0.05 * i, "r"});
  e = error_of([&] { fit_law(Law::chinchilla, oneN); });
  CHECK(e.find("1 distinct model size (N = 1e+08)") != std::string::npos);

  auto neg = oneN;
  for (int i = 0; i < 10; ++i) neg[i].N = 1e8 * (i + 1);
  neg[4].L = -1;
  neg[4].id = "run-4";
  e = error_of([&] { fit_law(Law::chinchilla, neg); });
  CHECK(e.find("point run-4: the loss is -1, expected a positive finite number") != std::string::npos);

  e = error_of([&] { fit_log_line({1e18, 1e18}, {1e8, 2e8}); });
  CHECK(e.find("2 distinct x values") != std::string::npos);
}
