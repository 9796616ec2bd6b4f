#include <doctest/doctest.h>

#include <set>

#include "common/error.h"
#include "sweep/plan.h"
#include "sweep/run_config.h"
#include "sweep/sweep_config.h"
#include "sweep/test_files.h"

using namespace scalelab;
using scalelab::sweep::testing::run_config_error;
using scalelab::sweep::testing::Dir;

namespace {

const char* kAddition = R"(
[data]
kind = "task"
[task]
name = "addition"
digits = 3
test_items = 500
[model]
n_layer = 2
d_model = 16
n_head = 2
[train]
steps = 100
batch_items = 64
)";


}  // namespace

TEST_CASE("a task run config takes its shape from the task and round-trips through canonical_toml") {
  auto rc = sweep::parse_run_config(kAddition, "cfg.toml");
  const auto& s = rc.spec;
  CHECK(s.task.name == "addition");
  CHECK(s.model.seq_len == 11);  // "123+456=" + 4 answer digits - 1
  CHECK(s.model.vocab == 12);
  CHECK(s.batch_tokens == 64 * 11);
  CHECK(s.micro_batch == 64);
  CHECK(s.tokens == 100.0 * 64 * 11);
  auto text = sweep::canonical_toml(rc);
  CHECK(text.find("[task]\nname = \"addition\"\ndigits = 3\nreverse = true\ntest_items = 500\nseed = 1\n") !=
        std::string::npos);
  auto back = sweep::parse_run_config(text, "stored");
  CHECK(sweep::run_id(back) == sweep::run_id(rc));
  // The task is part of the identity.
  std::string other = kAddition;
  other.replace(other.find("digits = 3"), 10, "digits = 4");
  CHECK(sweep::run_id(sweep::parse_run_config(other, "cfg.toml")) != sweep::run_id(rc));
}

TEST_CASE("text configs without the new keys keep their canonical text (and so their run ids)") {
  Dir d;
  std::string text = "[data]\npath = \"" + d.corpus() +
                     "\"\n[model]\nn_layer = 1\nd_model = 16\nn_head = 2\nseq_len = 16\n[train]\ntokens = 1e4\n"
                     "batch_tokens = 256\n";
  auto canon = sweep::canonical_toml(sweep::parse_run_config(text, "t.toml"));
  for (auto key : {"mlp", "embedding_init_std", "embedding_weight_decay", "task_every", "[task]"})
    CHECK(canon.find(key) == std::string::npos);
  auto with = sweep::parse_run_config(text + "embedding_weight_decay = 1\n[eval]\ntask_every = 5\n[task]\nname = "
                                             "\"addition\"\ndigits = 2\n",
                                      "t.toml");
  CHECK(with.spec.optim.embedding_weight_decay == 1);
  CHECK(with.spec.task_every == 5);
  auto canon2 = sweep::canonical_toml(with);
  CHECK(sweep::run_id(sweep::parse_run_config(canon2, "stored")) == sweep::run_id(with));
}

TEST_CASE("a text run can evaluate only tasks written in single characters") {
  Dir d;
  std::string text = "[data]\npath = \"" + d.corpus() +
                     "\"\n[model]\nn_layer = 1\nd_model = 16\nn_head = 2\nseq_len = 16\n[train]\ntokens = 1e4\n"
                     "batch_tokens = 256\n[task]\nname = ";
  CHECK(sweep::parse_run_config(text + "\"induction\"\nlength = 8\nsegment = 4\n", "t.toml").spec.task.name ==
        "induction");
  CHECK(run_config_error(text + "\"modular\"\np = 11\ntest_items = 10\n").find("cfg.toml:12: task.name: the modular task "
                                                                        "cannot be evaluated on text data") == 0);
}

TEST_CASE("model options: attention-only and embedding init") {
  std::string text = kAddition;
  text.replace(text.find("n_head = 2\n"), 11, "n_head = 2\nmlp = false\nembedding_init_std = 0.1\n");
  auto rc = sweep::parse_run_config(text, "cfg.toml");
  CHECK(!rc.spec.model.mlp);
  CHECK(rc.spec.model.embedding_init_std == 0.1);
  auto back = sweep::parse_run_config(sweep::canonical_toml(rc), "stored");
  CHECK(!back.spec.model.mlp);
  CHECK(back.spec.model.embedding_init_std == 0.1);
}

TEST_CASE("bad task settings name the file, line and key") {
  auto with = [](const std::string& from, const std::string& to) {
    std::string t = kAddition;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  CHECK(run_config_error(with("name = \"addition\"", "name = \"division\"")) ==
        "cfg.toml:5: task.name: unknown task 'division'; expected addition, induction, modular or sparse_parity");
  CHECK(run_config_error(with("digits = 3", "digits = 0")) == "cfg.toml:6: task.digits: expected 1 to 18 digits, got 0");
  CHECK(run_config_error(with("digits = 3", "digits = 1")).find("cfg.toml:6: task.digits: the addition task has only 100 "
                                                         "distinct problems") == 0);
  CHECK(run_config_error(with("digits = 3", "p = 3")) == "cfg.toml:6: task.p: not used by the addition task");
  CHECK(run_config_error(with("n_head = 2", "n_head = 2\nseq_len = 5")).find("cfg.toml:12: model.seq_len: the addition "
                                                                    "items need at least 11 positions") == 0);
  CHECK(run_config_error(with("[task]\nname = \"addition\"\ndigits = 3\ntest_items = 500\n", "")).find("data.kind") !=
        std::string::npos);
  CHECK(run_config_error(with("steps = 100", "steps = 100\ntokens = 5")).find("train.steps: give steps or tokens") !=
        std::string::npos);
}

TEST_CASE("sweep axes for width, depth and training fraction") {
  Dir d;
  auto sc = sweep::load_sweep_config(d.write("w.toml", R"(
[data]
kind = "task"
[task]
name = "modular"
p = 31
test_items = 200
[model]
n_head = 2
[train]
steps = 10
batch_items = 16
[axes]
d_model = [8, 16]
n_layer = [1, 2]
train_fraction = [0.3, 0.6]
seed = [1, 2]
)"));
  auto plan = sweep::make_plan(sc);
  CHECK(plan.runs.size() == 16);
  std::set<std::string> shapes;
  std::set<double> fractions;
  for (auto& r : plan.runs) {
    shapes.insert(r.record.shape);
    fractions.insert(r.config.spec.task.train_fraction);
    CHECK(r.record.seq_len == 4);  // "a + b =" and the answer, less one
    CHECK(r.record.vocab == 33);
  }
  CHECK(shapes == std::set<std::string>{"L1-D8-H2-T4", "L1-D16-H2-T4", "L2-D8-H2-T4", "L2-D16-H2-T4"});
  CHECK(fractions == std::set<double>{0.3, 0.6});

  auto err = [&](const std::string& body) {
    try {
      sweep::load_sweep_config(d.write("bad.toml", body));
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const std::string head = "[data]\nkind = \"task\"\n[task]\nname = \"addition\"\ndigits = 2\ntest_items = 100\n"
                           "[model]\nn_layer = 1\nn_head = 2\n[train]\nsteps = 10\n[axes]\n";
  CHECK(err(head + "d_model = [8, 9]\n").find("bad.toml:13: axes.d_model[1]: 9 is not divisible") !=
        std::string::npos);
  std::string fixed = head;
  fixed.replace(fixed.find("n_head = 2\n"), 11, "n_head = 2\nd_model = 8\n");
  CHECK(err(fixed + "train_fraction = [0.5]\n").find("bad.toml:14: axes.train_fraction: only used with") !=
        std::string::npos);
  CHECK(err(head + "d_model = [8]\nparams = [1e4]\n").find("axes.d_model") != std::string::npos);
}
