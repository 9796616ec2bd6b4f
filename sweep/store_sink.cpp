#include "sweep/store_sink.h"

#include "common/error.h"

namespace scalelab::sweep {

template <typename F>
void StoreSink::guarded(F&& f) {
  try {
    f();
  } catch (const ResourceError& e) {
    resource_failure_ = e.what();
    throw;
  }
}

StoreSink::~StoreSink() {
  try {
    flush();
  } catch (...) {
    // Destructors must not throw; unflushed rows are recomputed on resume.
  }
}

void StoreSink::log(const trainer::MetricRow& row) {
  buf_.push_back({run_id_, row.step, row.tokens, row.flops, row.split, row.loss, row.lr, row.grad_norm, row.wall_s});
  // Rows also reach the store between checkpoints, so `status` and `curves` stay live.
  if (buf_.size() >= 256 || std::chrono::steady_clock::now() - last_flush_ > std::chrono::seconds(5)) flush();
}

void StoreSink::log_eval(const trainer::EvalRow& row) {
  // Buffered until the next flush: a task evaluation is dozens of rows at one step.
  evals_.push_back({run_id_, row.step, row.task, row.metric, row.value, row.n});
}

void StoreSink::flush() {
  last_flush_ = std::chrono::steady_clock::now();
  guarded([&] {
    if (!evals_.empty()) {
      st_.write_evals(evals_);
      evals_.clear();
    }
    if (buf_.empty()) return;
    st_.write_metrics(buf_);
    buf_.clear();
  });
}

void StoreSink::heartbeat(std::int64_t step, double tokens, double tokens_per_s) {
  guarded([&] { st_.heartbeat(run_id_, step, tokens, tokens_per_s); });
}

}  // namespace scalelab::sweep
