// Addition, induction copying, modular arithmetic and multitask sparse parity.
// Each draws an item from a 64-bit hash, so every item is a pure function of
// (task seed or run seed, counters).
#include "tasks/generators.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace scalelab::tasks {

namespace {

double unit(std::uint64_t h) { return double(h >> 11) * 0x1.0p-53; }

// "123+456=" and the sum zero-padded to digits+1, reversed when asked: every item
// has the same length, and the answer's first token is the ones digit when reversed.
class Addition : public Task {
 public:
  explicit Addition(const TaskConfig& c) : Task(c) {
    for (int d = 0; d < 10; ++d) symbols_.push_back(std::to_string(d));
    symbols_.push_back("+");
    symbols_.push_back("=");
    prompt_len_ = 2 * c.digits + 2;
    answer_len_ = c.digits + 1;
    for (int i = 0; i < c.digits; ++i) range_ *= 10;
  }
  Item make(std::uint64_t a, std::uint64_t b) const {
    Item it;
    digits(a, cfg_.digits, it.prompt);
    it.prompt.push_back(kPlus);
    digits(b, cfg_.digits, it.prompt);
    it.prompt.push_back(kEq);
    digits(a + b, cfg_.digits + 1, it.answer);
    if (cfg_.reverse) std::reverse(it.answer.begin(), it.answer.end());
    return it;
  }

 protected:
  Item train_candidate(std::uint64_t h) const override { return make(h % range_, mix(h, 1) % range_); }
  double distinct_prompts() const override { return double(range_) * double(range_); }

 private:
  static constexpr int kPlus = 10, kEq = 11;
  static void digits(std::uint64_t v, int n, std::vector<int>& out) {
    std::vector<int> d(static_cast<std::size_t>(n));
    for (int i = n - 1; i >= 0; --i, v /= 10) d[static_cast<std::size_t>(i)] = static_cast<int>(v % 10);
    out.insert(out.end(), d.begin(), d.end());
  }
  std::uint64_t range_ = 1;
};

// `length` random letters, then the span starting at a random offset repeated.
// The prompt ends with the repeat's first token (unpredictable: nothing cues where
// the repeat starts); the answer is the rest of the repeat, which an induction head
// can copy.
class Induction : public Task {
 public:
  explicit Induction(const TaskConfig& c) : Task(c) {
    for (int i = 0; i < c.alphabet; ++i) symbols_.push_back(std::string(1, char('a' + i)));
    prompt_len_ = c.length + 1;
    answer_len_ = c.segment - 1;
  }

 protected:
  Item train_candidate(std::uint64_t h) const override {
    Item it;
    const auto A = std::uint64_t(cfg_.alphabet);
    for (int i = 0; i < cfg_.length; ++i) it.prompt.push_back(static_cast<int>(mix(h, std::uint64_t(i) + 2) % A));
    const int start = static_cast<int>(mix(h, 1) % std::uint64_t(cfg_.length - cfg_.segment + 1));
    it.prompt.push_back(it.prompt[std::size_t(start)]);
    for (int j = 1; j < cfg_.segment; ++j) it.answer.push_back(it.prompt[std::size_t(start + j)]);
    return it;
  }
  double distinct_prompts() const override {
    return std::pow(double(cfg_.alphabet), std::min(cfg_.length, 200));
  }
};

// "a op b =" -> c with one token per residue. The p^2 pairs are shuffled by the
// task seed; the first train_fraction of them are the training set, the rest the
// held-out pool the test set is drawn from.
class Modular : public Task {
 public:
  explicit Modular(const TaskConfig& c) : Task(c) {
    for (int i = 0; i < c.p; ++i) symbols_.push_back(std::to_string(i));
    symbols_.push_back(c.op);
    symbols_.push_back("=");
    prompt_len_ = 4;
    answer_len_ = 1;
    const std::int64_t n = std::int64_t(c.p) * c.p;
    order_.resize(static_cast<std::size_t>(n));
    std::iota(order_.begin(), order_.end(), 0);
    const std::uint64_t h = mix(c.seed, 0x90d);
    for (std::int64_t i = n - 1; i > 0; --i)
      std::swap(order_[std::size_t(i)], order_[mix(h, std::uint64_t(i)) % std::uint64_t(i + 1)]);
    n_train_ = std::clamp<std::int64_t>(std::llround(c.train_fraction * double(n)), 1, n - 1);
  }
  std::optional<std::int64_t> train_items() const override { return n_train_; }

 protected:
  Item train_candidate(std::uint64_t h) const override { return pair(order_[h % std::uint64_t(n_train_)]); }
  Item test_candidate(std::uint64_t h) const override {
    const auto held = std::uint64_t(std::int64_t(order_.size()) - n_train_);
    return pair(order_[std::size_t(n_train_) + h % held]);
  }
  double distinct_prompts() const override { return double(std::int64_t(order_.size()) - n_train_); }

 private:
  Item pair(std::int64_t k) const {
    const std::int64_t p = cfg_.p, a = k / p, b = k % p;
    std::int64_t c = cfg_.op == "+" ? a + b : cfg_.op == "-" ? a - b + p : a * b;
    Item it;
    it.prompt = {static_cast<int>(a), static_cast<int>(p), static_cast<int>(b), static_cast<int>(p + 1)};
    it.answer = {static_cast<int>(c % p)};
    return it;
  }
  std::vector<std::int64_t> order_;
  std::int64_t n_train_ = 0;
};

// One-hot subtask prefix, then the bits; the answer is the parity of the
// subtask's k bits. Training draws subtasks with Zipf(alpha) frequencies; the
// test set draws them uniformly so every subtask's accuracy is measured.
class SparseParity : public Task {
 public:
  explicit SparseParity(const TaskConfig& c) : Task(c) {
    symbols_ = {"0", "1"};
    prompt_len_ = c.subtasks + c.bits;
    answer_len_ = 1;
    groups_ = c.subtasks;
    double total = 0;
    for (int s = 0; s < c.subtasks; ++s) {
      total += std::pow(double(s + 1), -c.alpha);
      cdf_.push_back(total);
      std::vector<int> pick;
      for (std::uint64_t i = 0; int(pick.size()) < c.k; ++i) {
        int b = static_cast<int>(mix(mix(c.seed, 0x5b + std::uint64_t(s)), i) % std::uint64_t(c.bits));
        if (std::find(pick.begin(), pick.end(), b) == pick.end()) pick.push_back(b);
      }
      subsets_.push_back(pick);
    }
    for (auto& v : cdf_) v /= total;
  }

 protected:
  Item train_candidate(std::uint64_t h) const override {
    const double u = unit(mix(h, 7));
    int s = static_cast<int>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    return make(std::min(s, cfg_.subtasks - 1), mix(h, 8));
  }
  Item test_candidate(std::uint64_t h) const override {
    return make(static_cast<int>(h % std::uint64_t(cfg_.subtasks)), mix(h, 8));
  }
  double distinct_prompts() const override { return double(cfg_.subtasks) * std::pow(2.0, cfg_.bits); }

 private:
  Item make(int s, std::uint64_t bits) const {
    Item it;
    it.group = s;
    for (int i = 0; i < cfg_.subtasks; ++i) it.prompt.push_back(i == s);
    for (int i = 0; i < cfg_.bits; ++i) it.prompt.push_back(static_cast<int>((bits >> i) & 1));
    int parity = 0;
    for (int b : subsets_[std::size_t(s)]) parity ^= it.prompt[std::size_t(cfg_.subtasks + b)];
    it.answer = {parity};
    return it;
  }
  std::vector<double> cdf_;
  std::vector<std::vector<int>> subsets_;
};

}  // namespace

std::unique_ptr<Task> make_generator(const TaskConfig& c) {
  if (c.name == "addition") return std::make_unique<Addition>(c);
  if (c.name == "induction") return std::make_unique<Induction>(c);
  if (c.name == "modular") return std::make_unique<Modular>(c);
  return std::make_unique<SparseParity>(c);
}

}  // namespace scalelab::tasks
