#pragma once
// Human (stderr) and machine (stdout JSON lines) progress reports, throttled.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "trainer/trainer.h"

namespace scalelab::trainer {

struct ProgressState {
  std::int64_t step = 0, total_steps = 0;
  double tokens = 0, total_tokens = 0;
  std::optional<double> loss;  // nats/token, latest step
  double tok_per_s = 0;
  double eta_s = 0;
};

// "step 120/500 | tokens 491k/2.05M | loss 2.345 (3.38 bpb) | 12.3k tok/s | ETA 31s";
// bits per byte only for byte-level data, where a token is a byte.
std::string progress_line(const ProgressState& s, bool byte_level);
// {"event":"progress","step":..,"total_steps":..,"tokens":..,"loss":..,"tok_per_s":..,"eta_s":..}
std::string progress_json(const ProgressState& s);

class ProgressReporter {
 public:
  ProgressReporter(Progress mode, bool byte_level);
  // True when a report is due (about once a second); cheap enough to ask every step.
  bool due() const;
  void report(const ProgressState& s, bool final);

 private:
  Progress mode_;
  bool byte_level_, tty_;
  std::chrono::steady_clock::time_point last_{};
  std::size_t last_width_ = 0;
};

}  // namespace scalelab::trainer
