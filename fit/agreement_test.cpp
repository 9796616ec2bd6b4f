#include "fit/agreement.h"

#include <doctest/doctest.h>

using namespace scalelab::fit;

namespace {

FitRecord with_a(const std::string& approach, const std::string& law, double v, double lo, double hi) {
  FitRecord r;
  r.approach = approach;
  r.law = law;
  r.derived.push_back({"a", v, lo, hi});
  return r;
}

std::string text(const Agreement& ag) {
  std::string s;
  for (auto& l : ag.lines) s += l + "\n";
  return s;
}

}  // namespace

TEST_CASE("the approaches' exponents a are compared by their intervals") {
  auto a2 = with_a("2", "allocation", 0.640, 0.600, 0.711);
  auto a3 = with_a("3", "chinchilla", 0.608, 0.471, 0.676);
  auto ok = allocation_agreement({a2, a3});
  CHECK(ok.compared == 2);
  CHECK(ok.consistent);
  CHECK(text(ok).find("approach 2 0.640 (0.600 .. 0.711), approach 3 chinchilla 0.608 (0.471 .. 0.676)") !=
        std::string::npos);
  CHECK(text(ok).find("the intervals overlap") != std::string::npos);

  // The tied law's a is 0.5 by construction, outside approach 2's interval here.
  FitRecord tied;
  tied.approach = "3";
  tied.law = "chinchilla-tied";
  auto bad = allocation_agreement({a2, tied});
  CHECK(!bad.consistent);
  CHECK(text(bad).find("approach 3 chinchilla-tied 0.500 (fixed by alpha = beta)") != std::string::npos);
  CHECK(text(bad).find("disagree on a (approach 2 and approach 3 chinchilla-tied)") != std::string::npos);
  CHECK(text(bad).find("fit --law chinchilla") != std::string::npos);

  // Touching intervals overlap; one record, or records without a, compare nothing.
  CHECK(allocation_agreement({with_a("1", "allocation", 0.5, 0.4, 0.6), with_a("2", "allocation", 0.7, 0.6, 0.8)})
            .consistent);
  FitRecord kaplan;
  kaplan.approach = "3";
  kaplan.law = "kaplan";
  auto none = allocation_agreement({a2, kaplan});
  CHECK(none.compared == 1);
  CHECK(none.lines.empty());
}
