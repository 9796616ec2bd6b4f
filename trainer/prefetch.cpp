#include "trainer/prefetch.h"

#include <utility>

namespace scalelab::trainer {

Prefetcher::Prefetcher(Make make, int micro_steps, std::int64_t first_step, int depth)
    : make_(std::move(make)), micro_steps_(micro_steps), depth_(depth), next_{first_step, 0} {
  thread_ = std::thread([this] { run(); });
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Prefetcher::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || ready_.size() < std::size_t(depth_); });
    if (stop_) return;
    const Key key = next_;
    const std::uint64_t restarts = restarts_;
    lock.unlock();
    Batch b;
    std::exception_ptr err;
    try {
      b = make_(key.step, key.micro);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    if (restarts == restarts_) {
      ready_.push_back(Made{key, std::move(b), err});
      next_ = after(key);
    }
    cv_.notify_all();
  }
}

Batch Prefetcher::get(std::int64_t step, int micro) {
  const Key want{step, micro};
  std::unique_lock<std::mutex> lock(mu_);
  // With nothing queued and `want` next, the thread is making it: wait for it.
  cv_.wait(lock, [&] { return !ready_.empty() || !(next_ == want); });
  if (!ready_.empty() && ready_.front().key == want) {
    Made m = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    if (m.error) std::rethrow_exception(m.error);
    return std::move(m.batch);
  }
  ready_.clear();
  ++restarts_;
  next_ = after(want);
  cv_.notify_all();
  lock.unlock();
  return make_(step, micro);
}

}  // namespace scalelab::trainer
