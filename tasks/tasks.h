#pragma once
// Capability tasks for emergence experiments: seeded, deterministic generators
// of (prompt, answer) token items, a held-out test set that never overlaps the
// training items, a counter-based training sampler (so a resumed run draws the
// same batches), and the scoring of greedy / teacher-forced predictions into the
// metrics of the `evals` table. Torch-free; the trainer runs the model.
// docs/emergence.md describes every task, its tokens and its parameters.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace scalelab::tasks {

struct TaskConfig {
  std::string name;  // "" (no task) | "addition" | "induction" | "modular" | "sparse_parity"
  // addition: operands of `digits` digits (zero-padded), answer digits+1 long, written reversed when asked
  int digits = 3;
  bool reverse = true;
  // induction: `length` random tokens from an alphabet of `alphabet` letters, then a
  // repeat of a `segment`-token span of them taken at a random offset
  int alphabet = 16;
  int segment = 12;
  int length = 40;
  // modular: (a op b) mod p over all p^2 pairs; train_fraction of them train, the rest are held out
  int p = 97;
  std::string op = "+";  // "+" | "-" | "*"
  double train_fraction = 0.5;
  // sparse_parity (Michaud et al. 2023): `subtasks` parities of `k` of `bits` bits, the
  // subtask named by a one-hot prefix, trained with Zipf(alpha) subtask frequencies
  int subtasks = 8;
  int bits = 24;
  int k = 3;
  double alpha = 1.4;

  int test_items = 1000;  // held-out items evaluated (fewer when the held-out pool is smaller: modular)
  std::uint64_t seed = 1; // fixes the test set and the task's structure; the run's seed orders training
};

// Checks names and ranges; throws UserError naming the key (e.g. "task.digits: ...").
void validate(const TaskConfig& c);
const std::vector<std::string>& task_names();

struct Item {
  std::vector<int> prompt, answer;
  int group = -1;  // sparse_parity: the subtask
};

struct PromptHash {
  std::size_t operator()(const std::vector<int>& v) const;
};

class Task {
 public:
  // Builds the task and its test set; throws UserError for a bad config.
  static std::unique_ptr<const Task> make(const TaskConfig& c);
  // The same, built once per distinct config in this process: a sweep's planner
  // parses every run's config, and a test set of 1e6 items takes seconds to draw.
  static std::shared_ptr<const Task> shared(const TaskConfig& c);
  virtual ~Task() = default;

  const TaskConfig& config() const { return cfg_; }
  const std::string& name() const { return cfg_.name; }
  // Token id -> its text. Every symbol of addition, induction and sparse_parity is
  // one character, so those tasks can also be posed to a byte-level text model.
  const std::vector<std::string>& symbols() const { return symbols_; }
  int vocab() const { return static_cast<int>(symbols_.size()); }
  bool single_char_symbols() const;
  int prompt_len() const { return prompt_len_; }
  int answer_len() const { return answer_len_; }
  int length() const { return prompt_len_ + answer_len_; }

  const std::vector<Item>& test() const { return test_; }
  // A fixed sample of training items (as many as the test set, at most), for "<name>/train".
  const std::vector<Item>& train_sample() const { return train_sample_; }
  bool in_test(const Item& it) const { return test_keys_.count(it.prompt) > 0; }
  // The training item for one batch row: a pure function of its arguments, never a test item.
  Item train_item(std::uint64_t seed, std::int64_t step, int micro, int row) const;

  std::string format(const Item& it) const;  // e.g. "123+456=9750"
  Item parse(const std::string& text) const; // inverse of format; throws UserError
  int groups() const { return groups_; }     // subtasks (sparse_parity), else 0
  // Size of a fixed training set (modular's train_fraction of the pairs); nullopt where
  // items are drawn from a space too large to repeat in practice.
  virtual std::optional<std::int64_t> train_items() const { return std::nullopt; }
  double chance_loss() const;                // ln(alphabet) for induction, else ln(answer symbols)

 protected:
  explicit Task(const TaskConfig& c) : cfg_(c) {}
  // A random item drawn from hash h: training candidates and test candidates.
  virtual Item train_candidate(std::uint64_t h) const = 0;
  virtual Item test_candidate(std::uint64_t h) const { return train_candidate(h); }
  virtual double distinct_prompts() const = 0;  // size of the space test items come from
  void build();                                 // test set and training sample

  TaskConfig cfg_;
  std::vector<std::string> symbols_;
  int prompt_len_ = 0, answer_len_ = 0, groups_ = 0;
  std::vector<Item> test_, train_sample_;
  std::unordered_set<std::vector<int>, PromptHash> test_keys_;
};

std::uint64_t mix(std::uint64_t h, std::uint64_t v);  // splitmix64 chaining

// What the model produced for one item: its greedy answer, and per answer token
// the teacher-forced log-probability of the target and whether its argmax was the target.
struct Prediction {
  std::vector<int> greedy;
  std::vector<double> logprob;
  std::vector<char> argmax_ok;
};

struct Score {
  std::string metric;
  double value = 0;
  std::int64_t n = 0;  // items behind the value; 0: all the items scored
};

// The contract's metrics (docs/emergence.md) for items scored by the model.
std::vector<Score> score(const Task& t, const std::vector<Item>& items, const std::vector<Prediction>& preds);
int edit_distance(const std::vector<int>& a, const std::vector<int>& b);

}  // namespace scalelab::tasks
