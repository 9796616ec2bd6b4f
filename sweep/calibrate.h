#pragma once
// Measured training throughput, for plan estimates: a few real optimizer steps
// of a run's shape on the chosen device, cached in the store per shape, device,
// host and thread count so a plan is measured once and then answers at once.
#include <functional>
#include <map>
#include <string>

#include "store/store.h"
#include "trainer/trainer.h"

namespace scalelab::sweep {

struct CalibrationOptions {
  std::string device = "cpu";
  int threads = 1;
  double seconds = 1.0;  // timed steps per shape, after one warm-up step
};

// What throughput depends on besides the device: shape, vocab, batch layout.
std::string throughput_key(const trainer::RunSpec& spec);

// Trains `spec` in a scratch directory until `seconds` of steps are timed;
// returns tokens per second. Throws UserError for a bad device or data.
double measure_throughput(const trainer::RunSpec& spec, const CalibrationOptions& opt);

class Calibrator {
 public:
  // `cache` may be null (nothing is remembered between processes). `say` hears
  // one line per shape measured, so a slow first plan is not silent.
  Calibrator(store::Store* cache, CalibrationOptions opt, std::function<void(const std::string&)> say = {});
  double tokens_per_s(const trainer::RunSpec& spec);
  int measured() const { return measured_; }

 private:
  store::Store* cache_;
  CalibrationOptions opt_;
  std::function<void(const std::string&)> say_;
  std::string host_;
  std::map<std::string, double> memo_;
  int measured_ = 0;
};

std::string host_name();

}  // namespace scalelab::sweep
