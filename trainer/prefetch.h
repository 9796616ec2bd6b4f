#pragma once
// Training batches prepared one step ahead on a background thread, in pinned
// memory on CUDA, so that the host's sampling and copying overlaps the device's
// work on the current step. Batches are a pure function of (step, micro), so a
// prefetched batch is exactly the one the step would have sampled itself.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "trainer/data.h"

namespace scalelab::trainer {

class Prefetcher {
 public:
  using Make = std::function<Batch(std::int64_t step, int micro)>;
  // Keeps up to `depth` batches ready, walking (step, micro) in training order
  // from (first_step, 0) with micro_steps batches per step.
  Prefetcher(Make make, int micro_steps, std::int64_t first_step, int depth);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The batch for (step, micro). Asked in order it is usually ready; asked out of
  // order (a resume elsewhere, a repeated step) it is made here and the
  // background thread restarts after it. A failure of `make` is rethrown here, for
  // that batch; asking for it again makes it afresh.
  Batch get(std::int64_t step, int micro);

 private:
  struct Key {
    std::int64_t step = 0;
    int micro = 0;
    bool operator==(const Key& o) const { return step == o.step && micro == o.micro; }
  };
  Key after(Key k) const { return k.micro + 1 < micro_steps_ ? Key{k.step, k.micro + 1} : Key{k.step + 1, 0}; }
  void run();

  Make make_;
  const int micro_steps_, depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  struct Made {
    Key key;
    Batch batch;
    std::exception_ptr error;  // what `make` threw instead, rethrown by get()
  };
  std::deque<Made> ready_;
  Key next_;                  // what the thread makes next
  std::uint64_t restarts_ = 0;  // a batch made before the latest restart is dropped
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace scalelab::trainer
