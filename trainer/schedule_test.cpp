#include <doctest/doctest.h>

#include "common/error.h"
#include "trainer/trainer.h"

using namespace scalelab::trainer;

namespace {
OptimConfig opt() {
  OptimConfig o;
  o.lr = 1e-3;
  return o;
}
ScheduleConfig sched(const char* kind, std::int64_t warm) {
  ScheduleConfig s;
  s.kind = kind;
  s.warmup_steps = warm;
  s.min_lr_ratio = 0.1;
  s.decay_fraction = 0.2;
  return s;
}
}  // namespace

TEST_CASE("total_steps rounds the token budget to whole batches") {
  RunSpec s;
  s.tokens = 1e6;
  s.batch_tokens = 4096;
  CHECK(total_steps(s) == 244);
  s.tokens = 10;
  CHECK(total_steps(s) == 1);
  s.batch_tokens = 0;
  CHECK_THROWS_AS(total_steps(s), scalelab::UserError);
}

TEST_CASE("cosine: warmup, then one half-cosine to the floor at the last step") {
  const auto s = sched("cosine", 10);
  const std::int64_t total = 101;  // decay spans steps 10..100
  CHECK(lr_at(opt(), s, 0, total) == doctest::Approx(1e-4));
  CHECK(lr_at(opt(), s, 4, total) == doctest::Approx(5e-4));
  CHECK(lr_at(opt(), s, 9, total) == doctest::Approx(1e-3));
  CHECK(lr_at(opt(), s, 10, total) == doctest::Approx(1e-3));
  CHECK(lr_at(opt(), s, 55, total) == doctest::Approx(0.55e-3));
  CHECK(lr_at(opt(), s, 100, total) == doctest::Approx(1e-4).epsilon(1e-12));
  CHECK(lr_at(opt(), s, 99, total) > lr_at(opt(), s, 100, total));
}

TEST_CASE("warmup_fraction applies when warmup_steps < 0") {
  auto s = sched("cosine", -1);
  s.warmup_fraction = 0.05;
  CHECK(lr_at(opt(), s, 0, 100) == doctest::Approx(1e-3 / 5));
  CHECK(lr_at(opt(), s, 4, 100) == doctest::Approx(1e-3));
  CHECK(lr_at(opt(), s, 99, 100) == doctest::Approx(1e-4));
}

TEST_CASE("wsd: plateau, then a linear cooldown over the last decay_fraction") {
  const auto s = sched("wsd", 10);
  const std::int64_t total = 100;  // cooldown: steps 80..99
  CHECK(lr_at(opt(), s, 0, total) == doctest::Approx(1e-4));
  CHECK(lr_at(opt(), s, 10, total) == doctest::Approx(1e-3));
  CHECK(lr_at(opt(), s, 79, total) == doctest::Approx(1e-3));
  CHECK(lr_at(opt(), s, 80, total) == doctest::Approx(1e-3 - 0.9e-3 / 20));
  CHECK(lr_at(opt(), s, 89, total) == doctest::Approx(0.55e-3));
  CHECK(lr_at(opt(), s, 99, total) == doctest::Approx(1e-4));
}

TEST_CASE("constant and unknown kinds") {
  const auto c = sched("constant", 4);
  CHECK(lr_at(opt(), c, 1, 50) == doctest::Approx(5e-4));
  CHECK(lr_at(opt(), c, 49, 50) == doctest::Approx(1e-3));
  CHECK_THROWS_AS(lr_at(opt(), sched("linear", 0), 0, 10), scalelab::UserError);
}
