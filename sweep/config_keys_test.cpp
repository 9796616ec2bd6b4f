// The key table (config/) seen from both parsers: every key reaches the run,
// sweep and run configs agree, the shipped configs plan, and run ids stay put.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "config/config.h"
#include "sweep/plan.h"
#include "sweep/run_config.h"
#include "sweep/sweep_config.h"
#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;
namespace fs = std::filesystem;

namespace {

// Every key set away from its default, over a text run and one run per task.
const char* kText = R"([data]
kind = "text"
path = "CORPUS"
val_fraction = 0.02
[model]
n_layer = 2
d_model = 32
n_head = 2
seq_len = 16
vocab = 300
tie_embeddings = false
bias = false
dropout = 0.1
mlp = false
embedding_init_std = 0.05
parametrization = "mup"
mup_base_width = 16
[train]
tokens = 8192
batch_tokens = 512
micro_batch = 8
lr = 0.002
beta1 = 0.8
beta2 = 0.9
eps = 1e-6
weight_decay = 0.05
grad_clip = 0.5
seed = 3
schedule = "wsd"
warmup_fraction = 0.1
warmup_steps = 3
min_lr_ratio = 0.2
decay_fraction = 0.3
embedding_weight_decay = 0.5
[eval]
every = 7
batches = 3
log_every = 2
task_every = 5
final_tokens = 4096
[checkpoint]
every = 9
[flops]
convention = "6N"
params = "total"
[task]
name = "addition"
digits = 2
reverse = false
test_items = 50
seed = 4
)";

const char* kShapeRule = R"([data]
path = "CORPUS"
[model]
params = 2e5
aspect_ratio = 16
head_dim = 16
seq_len = 32
[train]
tokens = 1e5
batch_tokens = 1024
)";

const char* kModular = R"([data]
kind = "task"
[task]
name = "modular"
p = 11
op = "*"
train_fraction = 0.4
[model]
n_layer = 1
d_model = 16
n_head = 2
[train]
steps = 20
batch_items = 8
warmup_steps = 1
)";

const char* kInduction = R"([data]
kind = "task"
[task]
name = "induction"
alphabet = 8
segment = 4
length = 12
[model]
n_layer = 1
d_model = 16
n_head = 2
[train]
steps = 20
batch_items = 8
)";

const char* kParity = R"([data]
kind = "task"
[task]
name = "sparse_parity"
subtasks = 4
bits = 10
k = 2
alpha = 1.2
[model]
n_layer = 1
d_model = 16
n_head = 2
[train]
steps = 20
batch_items = 8
)";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

std::string without_line(const std::vector<std::string>& lines, std::size_t skip) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (i != skip) out += lines[i] + "\n";
  return out;
}

// The canonical text of a config, or the error it raises.
std::string canonical_or_error(const std::string& text) {
  try {
    return sweep::canonical_toml(sweep::parse_run_config(text, "cfg.toml"));
  } catch (const UserError& e) {
    return std::string("error: ") + e.what();
  }
}

// Runs with the shipped data paths resolve against the current directory; a
// fixed one makes their ids the same on every machine.
class InDirectory {
 public:
  explicit InDirectory(const fs::path& p) : old_(fs::current_path()) { fs::current_path(p); }
  ~InDirectory() { fs::current_path(old_); }

 private:
  fs::path old_;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const fs::path kConfigs = fs::path(SCALELAB_SOURCE_DIR) / "configs";

// `text` with CORPUS replaced by a corpus that exists.
std::string with_corpus(const Dir& d, const std::string& text) { return read_file(d.write("c.toml", text)); }

std::string with_warmup_steps(const Dir& d, const std::string& v) {
  std::string text = with_corpus(d, kText);
  return text.replace(text.find("warmup_steps = 3"), 16, "warmup_steps = " + v);
}

}  // namespace

TEST_CASE("every key of the table round-trips and changes the run it is set in") {
  Dir d;
  std::set<std::string> covered;
  for (std::string text : {kText, kShapeRule, kModular, kInduction, kParity}) {
    text = with_corpus(d, text);
    auto rc = sweep::parse_run_config(text, "cfg.toml");
    auto canon = sweep::canonical_toml(rc);
    auto back = sweep::parse_run_config(canon, "canonical");
    CHECK(sweep::canonical_toml(back) == canon);
    CHECK(sweep::run_id(back) == sweep::run_id(rc));
    // Leaving a key out must change the run (or be an error): a key that is
    // accepted and never read is the bug this table exists to prevent.
    auto lines = lines_of(text);
    std::string table;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto& l = lines[i];
      if (l.rfind("[", 0) == 0) {
        table = l.substr(1, l.size() - 2);
        continue;
      }
      const auto name = l.substr(0, l.find(' '));
      if (name == "kind" || name == "path") continue;  // the defaults, spelt out
      covered.insert(table + "." + name);
      CHECK_MESSAGE(canonical_or_error(without_line(lines, i)) != canon, table, ".", name, " is not read");
    }
  }
  covered.insert({"data.kind", "data.path", "task.name"});
  for (auto& k : config::keys())
    CHECK_MESSAGE(covered.count(std::string(k.table) + "." + std::string(k.name)), "no test sets ", k.table, ".", k.name);
}

TEST_CASE("a sweep config gives the same run as the equivalent run config") {
  Dir d;
  // The third leaves warmup to warmup_fraction, which both resolve to steps.
  std::string by_fraction = kText;
  by_fraction.erase(by_fraction.find("warmup_steps = 3\n"), 17);
  for (std::string text : {std::string(kText), std::string(kModular), by_fraction}) {
    // The sweep splits the keys over a base file and the file itself.
    auto at = text.find("[train]");
    d.write("base.toml", text.substr(0, at));
    auto sweep_path = d.write("s.toml", "name = \"s\"\nmode = \"grid\"\nextends = \"base.toml\"\n" + text.substr(at));
    auto sc = sweep::load_sweep_config(sweep_path);
    auto plan = sweep::make_plan(sc);
    REQUIRE(plan.runs.size() == 1);
    auto rc = sweep::parse_run_config(with_corpus(d, text), "r.toml");
    CHECK(plan.runs[0].record.config_toml == sweep::canonical_toml(rc));
    CHECK(plan.runs[0].record.id == sweep::run_id(rc));
  }
}

TEST_CASE("both parsers take warmup_steps = -1 (from warmup_fraction) and reject less") {
  Dir d;
  auto with = [&](const std::string& v) { return with_warmup_steps(d, v); };
  // -1 resolves when the config is read (0.1 of 20 steps), as the planner resolves it, so
  // the canonical TOML and the id name the schedule that runs.
  CHECK(sweep::parse_run_config(with("-1"), "cfg.toml").spec.schedule.warmup_steps == 2);
  auto run_err = sweep::testing::run_config_error(with("-2"));
  CHECK(run_err.find("train.warmup_steps: expected a non-negative integer (or -1 for warmup_fraction)") !=
        std::string::npos);
  auto s = d.write("s.toml", "mode = \"grid\"\n" + with("-2"));
  CHECK_THROWS_WITH_AS(sweep::load_sweep_config(s), doctest::Contains("expected a non-negative integer (or -1"),
                       UserError);
}

TEST_CASE("every shipped config plans") {
  // A base file (one another config extends) holds no runs of its own.
  std::set<std::string> bases;
  for (auto& e : fs::directory_iterator(kConfigs))
    for (auto& o : fs::directory_iterator(kConfigs))
      if (read_file(o.path()).find("extends = \"" + e.path().filename().string() + "\"") != std::string::npos)
        bases.insert(e.path().filename().string());
  int planned = 0;
  for (auto& e : fs::directory_iterator(kConfigs)) {
    if (e.path().extension() != ".toml" || bases.count(e.path().filename().string())) continue;
    CAPTURE(e.path().string());
    auto plan = sweep::make_plan(sweep::load_sweep_config(e.path().string(), false));
    CHECK(!plan.runs.empty());
    ++planned;
  }
  CHECK(planned >= 6);
  CHECK(bases.count("base-kjv.toml"));
}

TEST_CASE("pinned run ids: the shipped configs keep their identities") {
  // Taken from the release before the key table; a change here retrains every
  // user's runs, so it must be deliberate. run-tiny's changed once, on purpose:
  // a run config now resolves warmup_fraction to steps as a sweep always did
  // (it was 6b9eb4fee03a3d6a, with warmup_steps = -1), so the same run has one id.
  InDirectory root("/");
  auto tiny = sweep::parse_run_config(read_file(kConfigs / "run-tiny.toml"), "run-tiny.toml", false);
  CHECK(tiny.spec.schedule.warmup_steps == 13);  // 0.05 of 256 steps
  CHECK(sweep::run_id(tiny) == "99a829061a3e21e8");

  auto quick = sweep::make_plan(sweep::load_sweep_config((kConfigs / "quickstart.toml").string(), false));
  // The quickstart became a ladder with a learning rate per size (issue 14): new ids, once.
  const auto& small = sweep::find_run(quick, "quickstart/L1-D8-H1-T64/C1.5e+11/D6.31M");
  CHECK(small.record.id == "82692e5f49639ef0");
  CHECK(small.config.spec.optim.lr == 0.0268);

  // Grokking's ids changed with the fix: its embedding decay is now applied.
  auto grok = sweep::make_plan(sweep::load_sweep_config((kConfigs / "grokking-modular.toml").string(), false));
  const auto& g = sweep::find_run(grok, "grokking-modular/L1-D64-H4-T4/frac0.15/seed1");
  CHECK(g.config.spec.optim.embedding_weight_decay == 1.0);
  CHECK(g.record.id == "011f86e32ccee9bf");
}

TEST_CASE("find_run takes a name or a unique id prefix") {
  InDirectory root("/");
  auto plan = sweep::make_plan(sweep::load_sweep_config((kConfigs / "quickstart.toml").string(), false));
  CHECK(&sweep::find_run(plan, "82692e5f") == &sweep::find_run(plan, "quickstart/L1-D8-H1-T64/C1.5e+11/D6.31M"));
  CHECK_THROWS_WITH_AS(sweep::find_run(plan, "nope"), doctest::Contains("no planned run"), UserError);
  CHECK_THROWS_WITH_AS(sweep::find_run(plan, ""), doctest::Contains("no planned run"), UserError);
}

// ---- μP keys (docs/mup.md): both parsers, the width axis, the one-line errors ----

TEST_CASE("mup keys: a run config records them, a width axis keeps the base and varies the width") {
  Dir d;
  const std::string run = d.write("r.toml", sweep::testing::tiny_run());
  const auto sp = sweep::parse_run_config(read_file(run), "r.toml");
  const std::string mup_text = read_file(run);
  auto mup = sweep::parse_run_config(
      mup_text.substr(0, mup_text.find("[train]")) + "parametrization = \"mup\"\nmup_base_width = 32\n" +
          mup_text.substr(mup_text.find("[train]")),
      "r.toml");
  CHECK(sweep::canonical_toml(mup).find("parametrization = \"mup\"\nmup_base_width = 32\n") != std::string::npos);
  CHECK(sweep::canonical_toml(sp).find("parametrization") == std::string::npos);  // sp ids unchanged
  CHECK(sweep::run_id(mup) != sweep::run_id(sp));

  auto sweep_with = [&](const std::string& model_extra) {
    auto text = sweep::testing::tiny_grid("d_model = [32, 64, 128]\ntokens = [1e4]\n");
    const std::string rule = "seq_len = 32\nhead_dim = 16\naspect_ratio = 16\n";
    text.replace(text.find(rule), rule.size(), "seq_len = 32\nn_head = 2\nn_layer = 1\n" + model_extra);
    return d.write("s.toml", text);
  };
  auto plan = sweep::make_plan(sweep::load_sweep_config(sweep_with("parametrization = \"mup\"\nmup_base_width = 32\n")));
  REQUIRE(plan.runs.size() == 3);
  std::set<int> widths;
  for (auto& r : plan.runs) {
    widths.insert(r.config.spec.model.d_model);
    CHECK(r.config.spec.model.mup_base_width == 32);
    CHECK(r.record.config_toml.find("mup_base_width = 32") != std::string::npos);
  }
  CHECK(widths == std::set<int>{32, 64, 128});
  // The planner sees every width, whichever axis or rule made it.
  const auto wide_base = sweep::load_sweep_config(sweep_with("parametrization = \"mup\"\nmup_base_width = 64\n"));
  const auto msg = sweep::testing::user_error_of([&] { sweep::make_plan(wide_base); }, "planned");
  CHECK_MESSAGE(msg.find("s.toml:9: model.mup_base_width: 64 is larger than model.d_model (32)") != std::string::npos, msg);
}

TEST_CASE("mup keys: bad values are one line naming the key") {
  Dir d;
  const std::string base = read_file(d.write("r.toml", sweep::testing::tiny_run()));
  auto with = [&](const std::string& extra) {
    std::string t = base;
    return t.insert(t.find("[train]"), extra);
  };
  struct Case {
    std::string extra, want;
  };
  for (auto& c : std::vector<Case>{
           {"parametrization = \"ntk\"\n", "cfg.toml:9: model.parametrization: expected one of \"sp\", \"mup\", got \"ntk\""},
           {"parametrization = \"mup\"\n", "cfg.toml:4: model.mup_base_width: missing; model.parametrization = \"mup\" needs"},
           {"parametrization = \"mup\"\nmup_base_width = 128\n",
            "cfg.toml:10: model.mup_base_width: 128 is larger than model.d_model (64)"},
           {"mup_base_width = 32\n", "cfg.toml:9: model.mup_base_width: only used with model.parametrization = \"mup\""},
           {"parametrization = \"mup\"\nmup_base_width = 0\n", "model.mup_base_width: expected a positive integer"},
       }) {
    auto msg = sweep::testing::run_config_error(with(c.extra));
    CHECK_MESSAGE(msg.find(c.want) != std::string::npos, msg);
    CHECK(msg.find('\n') == std::string::npos);
  }
}
