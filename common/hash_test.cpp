#include "common/hash.h"

#include <doctest/doctest.h>

TEST_CASE("fnv1a64 matches the published test vectors") {
  CHECK(scalelab::fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(scalelab::fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(scalelab::fnv1a64("foobar") == 0x85944171f73967e8ULL);
  CHECK(scalelab::hex64(0xabcULL) == "0000000000000abc");
}
