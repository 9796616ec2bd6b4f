#pragma once
// Schedule arithmetic the planner needs beside lr_at (trainer/schedule.cpp), so a
// ladder forks where the trainer's own cooldown starts, by one formula.
#include <cstdint>

#include "trainer/trainer.h"

namespace scalelab::trainer {

// The first step of a WSD run's linear cooldown: the last round(decay_fraction x
// total) steps, never reaching into the warmup.
std::int64_t cooldown_start(const ScheduleConfig& s, std::int64_t total_steps);

}  // namespace scalelab::trainer
