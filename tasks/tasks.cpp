// The task-independent half: validation, the test split, the counter-based
// training sampler, formatting and scoring. The generators are in generators.cpp.
#include "tasks/tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <cmath>

#include "common/error.h"
#include "tasks/generators.h"

namespace scalelab::tasks {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  std::uint64_t x = h ^ v;
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::size_t PromptHash::operator()(const std::vector<int>& v) const {
  std::uint64_t h = 0x5ca1ab1eULL;
  for (int t : v) h = mix(h, static_cast<std::uint64_t>(t));
  return static_cast<std::size_t>(h);
}

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names{"addition", "induction", "modular", "sparse_parity"};
  return names;
}

void validate(const TaskConfig& c) {
  const auto& names = task_names();
  if (std::find(names.begin(), names.end(), c.name) == names.end())
    user_error("task.name: unknown task '{}' (expected one of addition, induction, modular, sparse_parity)", c.name);
  if (c.test_items < 1 || c.test_items > 1000000)
    user_error("task.test_items: expected an integer in [1, 1000000], got {}", c.test_items);
  if (c.name == "addition") {
    // 18 digits keep a + b inside 64 bits; the answer is digits+1 long.
    if (c.digits < 1 || c.digits > 18)
      user_error("task.digits: expected 1 to 18 digits, got {}", c.digits);
  } else if (c.name == "induction") {
    if (c.alphabet < 2 || c.alphabet > 26) user_error("task.alphabet: expected 2 to 26 letters, got {}", c.alphabet);
    if (c.segment < 2) user_error("task.segment: expected at least 2 tokens, got {}", c.segment);
    if (c.length < c.segment + 1 || c.length > 4096)
      user_error("task.length: expected more than task.segment ({}) and at most 4096 tokens, got {}", c.segment,
                 c.length);
  } else if (c.name == "modular") {
    if (c.p < 2 || c.p > 2000) user_error("task.p: expected a modulus in [2, 2000], got {}", c.p);
    if (c.op != "+" && c.op != "-" && c.op != "*")
      user_error("task.op: expected \"+\", \"-\" or \"*\", got '{}'", c.op);
    if (!(c.train_fraction > 0 && c.train_fraction < 1))
      user_error("task.train_fraction: expected a fraction in (0, 1), got {}", c.train_fraction);
  } else if (c.name == "sparse_parity") {
    if (c.subtasks < 1 || c.subtasks > 256) user_error("task.subtasks: expected 1 to 256, got {}", c.subtasks);
    if (c.bits < 1 || c.bits > 62) user_error("task.bits: expected 1 to 62 bits, got {}", c.bits);
    if (c.k < 1 || c.k > c.bits) user_error("task.k: expected 1 to task.bits ({}), got {}", c.bits, c.k);
    if (!(c.alpha >= 0 && c.alpha <= 10)) user_error("task.alpha: expected a Zipf exponent in [0, 10], got {}", c.alpha);
  }
}

std::shared_ptr<const Task> Task::shared(const TaskConfig& c) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Task>> built;
  const std::string key = fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", c.name, c.digits, c.reverse,
                                      c.alphabet, c.segment, c.length, c.p, c.op, c.train_fraction, c.subtasks,
                                      c.bits, c.k, c.alpha, c.test_items, c.seed);
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = built.find(key); it != built.end()) return it->second;
  std::shared_ptr<const Task> t = make(c);  // a bad config throws before anything is kept
  if (built.size() >= 8) built.clear();      // a sweep has a handful of tasks; bound the memory anyway
  built.emplace(key, t);
  return t;
}

std::unique_ptr<const Task> Task::make(const TaskConfig& c) {
  validate(c);
  std::unique_ptr<Task> t = make_generator(c);
  t->build();
  return t;
}

bool Task::single_char_symbols() const {
  return std::all_of(symbols_.begin(), symbols_.end(), [](const std::string& s) { return s.size() == 1; });
}

void Task::build() {
  const double space = distinct_prompts();
  // Training must keep most of the problem space: a test set of more than half of
  // it would leave the model little to learn from (and a tiny space cannot be split).
  if (name() != "modular" && double(cfg_.test_items) > space / 2)
    user_error("task.{}: the {} task has only {:.0f} distinct problems, too few for task.test_items = {} held out "
               "(at most half of them may be); {}",
               name() == "addition" ? "digits" : "test_items", name(), space, cfg_.test_items,
               name() == "addition" ? "use more digits or fewer test items" : "lower task.test_items");
  const std::size_t want = name() == "modular" ? std::min<std::size_t>(cfg_.test_items, std::size_t(space))
                                               : std::size_t(cfg_.test_items);
  std::uint64_t h = mix(cfg_.seed, 0x7e57);
  for (std::uint64_t i = 0; test_.size() < want; ++i) {
    Item it = test_candidate(mix(h, i));
    if (test_keys_.insert(it.prompt).second) test_.push_back(std::move(it));
  }
  std::unordered_set<std::vector<int>, PromptHash> seen;
  const std::uint64_t th = mix(cfg_.seed, 0x7a1);
  // Bounded: the modular training pool may be smaller than the test set.
  for (std::uint64_t i = 0; train_sample_.size() < test_.size() && i < 20 * test_.size(); ++i) {
    Item it = train_candidate(mix(th, i));
    if (!in_test(it) && seen.insert(it.prompt).second) train_sample_.push_back(std::move(it));
  }
}

Item Task::train_item(std::uint64_t seed, std::int64_t step, int micro, int row) const {
  std::uint64_t h = mix(mix(mix(mix(seed, 0x7a5c), static_cast<std::uint64_t>(step)), std::uint64_t(micro)),
                        std::uint64_t(row));
  // Rejection keeps test items out; at most half the space is held out, so this ends fast.
  for (std::uint64_t attempt = 0;; ++attempt) {
    Item it = train_candidate(mix(h, attempt));
    if (!in_test(it)) return it;
  }
}

std::string Task::format(const Item& it) const {
  std::string out;
  auto put = [&](const std::vector<int>& toks) {
    for (int t : toks) out += symbols_.at(static_cast<std::size_t>(t));
  };
  if (single_char_symbols()) {
    put(it.prompt);
    put(it.answer);
    return out;
  }
  // Multi-character symbols (modular's numbers) are space-separated.
  for (int t : it.prompt) out += symbols_.at(static_cast<std::size_t>(t)) + " ";
  for (std::size_t i = 0; i < it.answer.size(); ++i) {
    if (i) out += ' ';
    out += symbols_.at(static_cast<std::size_t>(it.answer[i]));
  }
  return out;
}

Item Task::parse(const std::string& text) const {
  std::vector<std::string> parts;
  if (single_char_symbols()) {
    for (char ch : text) parts.emplace_back(1, ch);
  } else {
    std::size_t i = 0;
    while (i < text.size()) {
      auto j = text.find(' ', i);
      if (j == std::string::npos) j = text.size();
      if (j > i) parts.push_back(text.substr(i, j - i));
      i = j + 1;
    }
  }
  if (static_cast<int>(parts.size()) != length())
    user_error("{}: '{}' has {} tokens, expected {}", name(), text, parts.size(), length());
  Item it;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto s = std::find(symbols_.begin(), symbols_.end(), parts[i]);
    if (s == symbols_.end()) user_error("{}: '{}' is not a token of the task", name(), parts[i]);
    (static_cast<int>(i) < prompt_len_ ? it.prompt : it.answer).push_back(static_cast<int>(s - symbols_.begin()));
  }
  return it;
}

double Task::chance_loss() const {
  if (name() == "induction") return std::log(double(cfg_.alphabet));
  if (name() == "addition") return std::log(10.0);
  if (name() == "modular") return std::log(double(cfg_.p));
  return std::log(2.0);
}

int edit_distance(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<Score> score(const Task& t, const std::vector<Item>& items, const std::vector<Prediction>& preds) {
  if (items.size() != preds.size() || items.empty())
    throw std::invalid_argument("tasks::score: one prediction per item, at least one item");
  const double n = double(items.size());
  const std::size_t L = items.front().answer.size();
  double exact = 0, tok_lp = 0, seq_lp = 0, tok_acc = 0, edit = 0, len = 0;
  std::vector<double> pos(L, 0);
  std::vector<double> group_ok(std::size_t(t.groups()), 0), group_n(std::size_t(t.groups()), 0);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& a = items[i].answer;
    const auto& p = preds[i];
    const bool ok = p.greedy == a;
    exact += ok;
    double s = 0, acc = 0;
    for (std::size_t j = 0; j < a.size(); ++j) {
      s += p.logprob[j];
      acc += p.argmax_ok[j];
      if (j < L && j < p.greedy.size() && p.greedy[j] == a[j]) pos[j] += 1;
    }
    seq_lp += s;
    tok_lp += s / double(a.size());
    tok_acc += acc / double(a.size());
    edit += edit_distance(p.greedy, a);
    len += double(a.size());
    if (items[i].group >= 0 && items[i].group < t.groups()) {
      group_ok[std::size_t(items[i].group)] += ok;
      group_n[std::size_t(items[i].group)] += 1;
    }
  }
  std::vector<Score> out{{"exact_match", exact / n},  {"token_logprob", tok_lp / n}, {"seq_logprob", seq_lp / n},
                         {"token_acc", tok_acc / n},  {"edit_distance", edit / n},   {"answer_len", len / n}};
  for (std::size_t j = 0; j < L; ++j) out.push_back({fmt::format("pos_acc_{}", j), pos[j] / n});
  if (t.name() == "induction") {
    out.push_back({"segment_loss", -tok_lp / n});
    out.push_back({"chance_loss", t.chance_loss()});
  }
  for (std::size_t g = 0; g < group_n.size(); ++g)
    if (group_n[g] > 0) out.push_back({fmt::format("subtask_acc_{}", g), group_ok[g] / group_n[g], std::int64_t(group_n[g])});
  return out;
}

}  // namespace scalelab::tasks
