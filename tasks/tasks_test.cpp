#include "tasks/tasks.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"

using namespace scalelab;
using namespace scalelab::tasks;

namespace {

TaskConfig cfg(const std::string& name) {
  TaskConfig c;
  c.name = name;
  c.test_items = 500;
  if (name == "modular") c.p = 41;
  return c;
}

std::string key(const Item& it) {
  std::string s;
  for (int t : it.prompt) s += std::to_string(t) + ",";
  return s;
}

}  // namespace

TEST_CASE("every task is deterministic in its seed, and the seed matters") {
  for (const auto& name : task_names()) {
    CAPTURE(name);
    auto a = Task::make(cfg(name)), b = Task::make(cfg(name));
    auto c2 = cfg(name);
    c2.seed = 7;
    auto c = Task::make(c2);
    REQUIRE(a->test().size() == b->test().size());
    bool differs = false;
    for (std::size_t i = 0; i < a->test().size(); ++i) {
      CHECK(a->test()[i].prompt == b->test()[i].prompt);
      CHECK(a->test()[i].answer == b->test()[i].answer);
      differs |= a->test()[i].prompt != c->test()[i].prompt;
    }
    CHECK(differs);
    for (int row = 0; row < 8; ++row) {
      CHECK(a->train_item(3, 10, 0, row).prompt == b->train_item(3, 10, 0, row).prompt);
      CHECK(a->train_item(3, 10, 0, row).prompt != a->train_item(3, 11, 0, row).prompt);
    }
  }
}

TEST_CASE("no test item is ever a training item") {
  for (const auto& name : task_names()) {
    CAPTURE(name);
    auto t = Task::make(cfg(name));
    std::set<std::string> test;
    for (auto& it : t->test()) test.insert(key(it));
    CHECK(test.size() == t->test().size());  // distinct
    for (std::int64_t step = 0; step < 200; ++step)
      for (int row = 0; row < 32; ++row) CHECK(test.count(key(t->train_item(1, step, 0, row))) == 0);
    for (auto& it : t->train_sample()) CHECK(test.count(key(it)) == 0);
    CHECK(!t->train_sample().empty());
  }
}

TEST_CASE("the rejection sampler really meets test items: a dense space is still kept apart") {
  auto c = cfg("addition");
  c.digits = 2;  // 10,000 problems, 500 held out: 5% of draws are rejected
  c.test_items = 500;
  auto t = Task::make(c);
  std::set<std::string> test;
  for (auto& it : t->test()) test.insert(key(it));
  int hits = 0;
  for (int row = 0; row < 20000; ++row) hits += test.count(key(t->train_item(9, 0, 0, row)));
  CHECK(hits == 0);
}

TEST_CASE("addition answers are the sums, reversed when asked") {
  auto c = cfg("addition");
  auto t = Task::make(c);
  auto it = t->parse("123+456=9750");
  CHECK(it.answer == std::vector<int>{9, 7, 5, 0});
  for (auto& item : t->test()) {
    std::string s = t->format(item);
    int a = std::stoi(s.substr(0, 3)), b = std::stoi(s.substr(4, 3));
    std::string ans = s.substr(8);
    std::reverse(ans.begin(), ans.end());
    CHECK(std::stoi(ans) == a + b);
  }
  c.reverse = false;
  auto fwd = Task::make(c);
  auto f = fwd->test().front();
  std::string s = fwd->format(f);
  CHECK(std::stoi(s.substr(8)) == std::stoi(s.substr(0, 3)) + std::stoi(s.substr(4, 3)));
}

TEST_CASE("modular, induction and sparse parity answers are correct") {
  auto m = cfg("modular");
  m.op = "*";
  auto mt = Task::make(m);
  for (auto& it : mt->test()) CHECK(it.answer[0] == (it.prompt[0] * it.prompt[2]) % 41);
  CHECK(mt->test().size() == 500);
  // The held-out pool of 41^2 * (1 - 0.5) = 840 caps test_items.
  m.test_items = 5000;
  CHECK(Task::make(m)->test().size() == 840);
  CHECK(mt->train_items() == 41 * 41 - 840);  // a fixed training set: epochs are meaningful
  CHECK_FALSE(Task::make(cfg("addition"))->train_items());

  auto ind = Task::make(cfg("induction"));
  const auto& ic = ind->config();
  for (auto& it : ind->test()) {
    REQUIRE(int(it.prompt.size()) == ic.length + 1);
    // The answer continues a span of the prompt that starts with the prompt's last token.
    bool found = false;
    for (int s = 0; s + ic.segment <= ic.length && !found; ++s) {
      if (it.prompt[s] != it.prompt.back()) continue;
      found = std::equal(it.answer.begin(), it.answer.end(), it.prompt.begin() + s + 1);
    }
    CHECK(found);
  }

  auto sp = Task::make(cfg("sparse_parity"));
  std::set<int> groups;
  for (auto& it : sp->test()) {
    groups.insert(it.group);
    int hot = 0;
    for (int i = 0; i < sp->config().subtasks; ++i) hot += it.prompt[i];
    CHECK(hot == 1);
    CHECK(it.prompt[it.group] == 1);
    CHECK((it.answer[0] == 0 || it.answer[0] == 1));
  }
  CHECK(int(groups.size()) == sp->config().subtasks);
}

TEST_CASE("format and parse round-trip every item") {
  for (const auto& name : task_names()) {
    CAPTURE(name);
    auto t = Task::make(cfg(name));
    for (auto& it : t->test()) {
      auto back = t->parse(t->format(it));
      CHECK(back.prompt == it.prompt);
      CHECK(back.answer == it.answer);
    }
  }
  CHECK_THROWS_AS(Task::make(cfg("addition"))->parse("12+456=9750"), UserError);
  CHECK_THROWS_AS(Task::make(cfg("addition"))->parse("12x+456=9750"), UserError);
}

TEST_CASE("bad task configs are user errors naming the key") {
  auto expect = [](TaskConfig c, const std::string& key) {
    try {
      Task::make(c);
      FAIL("accepted");
    } catch (const UserError& e) {
      CHECK(std::string(e.what()).find(key) != std::string::npos);
    }
  };
  expect(cfg("subtraction"), "task.name");
  auto a = cfg("addition");
  a.digits = 0;
  expect(a, "task.digits");
  a.digits = 19;
  expect(a, "task.digits");
  a.digits = 1;  // 100 problems cannot hold out 500
  expect(a, "task.digits");
  auto m = cfg("modular");
  m.op = "/";
  expect(m, "task.op");
  m = cfg("modular");
  m.train_fraction = 1;
  expect(m, "task.train_fraction");
}

TEST_CASE("scores follow the contract's definitions") {
  auto t = Task::make(cfg("addition"));
  std::vector<Item> items(2);
  items[0].answer = {1, 2, 3, 4};
  items[1].answer = {5, 6, 7, 8};
  std::vector<Prediction> p(2);
  p[0] = {{1, 2, 3, 4}, {-0.1, -0.2, -0.3, -0.4}, {1, 1, 1, 1}};
  p[1] = {{5, 6, 0, 0}, {-1, -1, -2, -2}, {1, 0, 0, 0}};
  auto s = score(*t, items, p);
  auto get = [&](const std::string& m) {
    for (auto& x : s)
      if (x.metric == m) return x.value;
    FAIL("missing " << m);
    return 0.0;
  };
  CHECK(get("exact_match") == doctest::Approx(0.5));
  CHECK(get("seq_logprob") == doctest::Approx((-1.0 - 6.0) / 2));
  CHECK(get("token_logprob") == doctest::Approx((-0.25 - 1.5) / 2));
  CHECK(get("token_acc") == doctest::Approx((1.0 + 0.25) / 2));
  CHECK(get("edit_distance") == doctest::Approx(1.0));
  CHECK(get("pos_acc_0") == doctest::Approx(1.0));
  CHECK(get("pos_acc_2") == doctest::Approx(0.5));
  CHECK(get("answer_len") == doctest::Approx(4));
  CHECK(edit_distance({1, 2, 3}, {2, 3}) == 1);
  CHECK(edit_distance({}, {2, 3}) == 2);
}
