#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>

#include "trainer/prefetch.h"

using namespace scalelab::trainer;

namespace {
// A batch that names its (step, micro), counting how often one is made.
struct Maker {
  std::atomic<int> made{0};
  std::atomic<std::int64_t> fail_at{-1};
  Batch operator()(std::int64_t step, int micro) {
    ++made;
    if (step == fail_at) throw std::runtime_error("no batch " + std::to_string(step));
    return Batch{torch::full({1}, step, torch::kLong), torch::full({1}, micro, torch::kLong)};
  }
};
bool is(const Batch& b, std::int64_t step, int micro) {
  return b.x.item<std::int64_t>() == step && b.y.item<std::int64_t>() == micro;
}
}  // namespace

TEST_CASE("Prefetcher yields every (step, micro) in training order from its first step") {
  Maker mk;
  Prefetcher p([&](std::int64_t s, int m) { return mk(s, m); }, 3, 5, 4);
  for (std::int64_t step = 5; step < 25; ++step)
    for (int micro = 0; micro < 3; ++micro) CHECK(is(p.get(step, micro), step, micro));
  CHECK(mk.made >= 60);
  CHECK(mk.made <= 60 + 4);  // never more than `depth` ahead
}

TEST_CASE("Prefetcher asked out of order makes that batch itself and restarts after it") {
  Maker mk;
  Prefetcher p([&](std::int64_t s, int m) { return mk(s, m); }, 2, 0, 3);
  CHECK(is(p.get(0, 0), 0, 0));
  CHECK(is(p.get(7, 1), 7, 1));  // a jump ahead (a resume)
  CHECK(is(p.get(8, 0), 8, 0));
  CHECK(is(p.get(8, 1), 8, 1));
  CHECK(is(p.get(3, 0), 3, 0));  // and back
  CHECK(is(p.get(3, 1), 3, 1));
  CHECK(is(p.get(4, 0), 4, 0));
}

TEST_CASE("Prefetcher rethrows a failure at the batch that failed, then carries on") {
  Maker mk;
  mk.fail_at = 2;
  Prefetcher p([&](std::int64_t s, int m) { return mk(s, m); }, 1, 0, 2);
  CHECK(is(p.get(0, 0), 0, 0));
  CHECK(is(p.get(1, 0), 1, 0));
  CHECK_THROWS_WITH_AS(p.get(2, 0), "no batch 2", std::runtime_error);
  mk.fail_at = -1;
  CHECK(is(p.get(2, 0), 2, 0));
  CHECK(is(p.get(3, 0), 3, 0));
}

TEST_CASE("Prefetcher shuts down cleanly with batches queued or being made") {
  Maker mk;
  { Prefetcher p([&](std::int64_t s, int m) { return mk(s, m); }, 4, 0, 8); }
  {
    Prefetcher p([&](std::int64_t s, int m) { return mk(s, m); }, 4, 0, 8);
    CHECK(is(p.get(0, 0), 0, 0));
  }
  CHECK(mk.made >= 1);
}
