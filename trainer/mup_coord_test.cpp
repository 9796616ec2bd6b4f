// The coordinate check (trainer/mup_coord.h), as the unit test: on the phrase
// corpus (bench_mup_coord: on KJV), the same widths 32..512 and three seeds.
#include <doctest/doctest.h>

#include "trainer/mup_coord.h"
#include "trainer/test_util.h"

using namespace scalelab::trainer;

TEST_CASE("coordinate check: under mup every layer stays within 2x from width 32 to 512; under sp the logits grow") {
  CoordCheck c;
  c.seeds = 3;  // one seed's attention rows wander (2.4x at seed 1)
  c.text_path = testing::phrase_corpus();  // random tokens carry too little signal: see docs/mup.md
  const CoordTable mup = coord_check(c, "mup");
  const CoordTable sp = coord_check(c, "sp");
  MESSAGE("\n" << format_table(sp) << format_table(mup));
  for (std::size_t l = 0; l < mup.layers.size(); ++l) {
    CAPTURE(mup.layers[l]);
    CHECK(mup.ratio(l) <= 2.0);
  }
  const auto logits = sp.row("logits");
  CHECK(sp.ratio(logits) > 4.0);
  CHECK(sp.rms[logits].back() > sp.rms[logits].front());  // it grows, not shrinks
  // At the base width the two parametrizations are one model.
  for (std::size_t l = 0; l < mup.layers.size(); ++l) CHECK(mup.rms[l][0] == sp.rms[l][0]);
}
