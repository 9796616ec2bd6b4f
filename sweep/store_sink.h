#pragma once
// Buffers the trainer's metric rows and writes them to the store in batches:
// one transaction per flush keeps logging far below 1% of step time, and the
// trainer flushes before every checkpoint, so nothing a checkpoint covers is lost.
#include <chrono>
#include <string>
#include <vector>

#include "store/store.h"
#include "trainer/trainer.h"

namespace scalelab::sweep {

class StoreSink : public trainer::MetricSink {
 public:
  StoreSink(store::Store& st, std::string run_id) : st_(st), run_id_(std::move(run_id)) {}
  ~StoreSink() override;
  void log(const trainer::MetricRow& row) override;
  void flush() override;
  void heartbeat(std::int64_t step, double tokens, double tokens_per_s) override;
  void log_eval(const trainer::EvalRow& row) override;
  // A full disk (or a store locked for minutes) met while the trainer plugin
  // called in: its exception crosses the plugin as a plain error, so the message is
  // kept here for train_run to rethrow as what it was.
  const std::string& resource_failure() const { return resource_failure_; }

 private:
  template <typename F>
  void guarded(F&& f);

  store::Store& st_;
  std::string run_id_;
  std::vector<store::Metric> buf_;
  std::vector<store::Eval> evals_;
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
  std::string resource_failure_;
};

}  // namespace scalelab::sweep
