// The size of a run's training split without opening the corpus, so the planner
// can warn about repeated data before anything trains. Kept torch-free, and equal
// to what Corpus::open and train() find (trainer/data_test.cpp checks it).
#include <cmath>
#include <filesystem>
#include <system_error>

#include "common/error.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

namespace fs = std::filesystem;

SplitSizes split_sizes(const RunSpec& s) {
  std::error_code ec;
  SplitSizes out;
  if (s.data.kind == "text") {
    const auto size = fs::file_size(s.data.path, ec);
    if (ec) return out;
    // The same rounding as Corpus::open, so the split matches byte for byte.
    const auto n = static_cast<std::int64_t>(size);
    const auto val = static_cast<std::int64_t>(std::llround(s.data.val_fraction * double(n)));
    out.train = double(n - val);
    out.val = double(val);
  } else if (s.data.kind == "tokens") {
    if (const auto size = fs::file_size(fs::path(s.data.path) / "train.bin", ec); !ec) out.train = double(size / 2);
    if (const auto size = fs::file_size(fs::path(s.data.path) / "val.bin", ec); !ec) out.val = double(size / 2);
  }
  return out;
}

std::optional<double> unique_train_tokens(const RunSpec& s) {
  if (s.data.kind == "text" || s.data.kind == "tokens") return split_sizes(s).train;
  if (s.data.kind == "task" && !s.task.name.empty()) {
    try {
      if (auto items = tasks::Task::shared(s.task)->train_items()) return double(*items) * s.model.seq_len;
    } catch (const UserError&) {
      // A bad task config is reported where it is trained; here its size is just unknown.
    }
  }
  return std::nullopt;
}

}  // namespace scalelab::trainer
