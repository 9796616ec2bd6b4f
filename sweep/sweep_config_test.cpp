#include "sweep/sweep_config.h"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;

namespace {

const char* kIsoflop = R"(name = "iso"
mode = "isoflop"
[data]
path = "CORPUS"
[model]
seq_len = 64
head_dim = 16
aspect_ratio = 16
[train]
batch_tokens = 1024
lr = 2e-3
[axes]
compute = [1e12, 4e12]
seed = [1, 2]
[isoflop]
sizes = 4
span = 16
)";

std::string error_of(const std::string& path) {
  return sweep::testing::user_error_of([&] { sweep::load_sweep_config(path); }, "config was accepted: " + path);
}

}  // namespace

TEST_CASE("an isoflop sweep config reads every section") {
  Dir d;
  auto path = d.write("iso.toml", kIsoflop);
  auto sc = sweep::load_sweep_config(path);
  CHECK(sc.name == "iso");
  CHECK(sc.mode == "isoflop");
  CHECK(sc.compute == std::vector<double>{1e12, 4e12});
  CHECK(sc.seed == std::vector<std::uint64_t>{1, 2});
  CHECK(sc.isoflop.sizes == 4);
  CHECK(sc.isoflop.span == 16);
  CHECK(sc.shape_rule.head_dim == 16);
  CHECK(sc.base.model.seq_len == 64);
  CHECK(sc.base.batch_tokens == 1024);
  CHECK(sc.base.optim.lr == 2e-3);
  CHECK(sc.base.data.path == d.corpus());
  CHECK(sc.origin.at("axes.compute") == path + ":13");
  CHECK(sc.execution.devices == std::vector<std::string>{"cpu"});
  // The identity is the name and the absolute path; the contents may change.
  auto again = sweep::load_sweep_config(d.write("iso.toml", std::string(kIsoflop) + "tokens_per_param = 10\n"));
  CHECK(sweep::sweep_id(again) == sweep::sweep_id(sc));
}

TEST_CASE("log ranges, token multipliers and durations") {
  Dir d;
  auto sc = sweep::load_sweep_config(d.write("grid.toml", R"(
[data]
path = "CORPUS"
[model]
seq_len = 32
[axes]
params = {min = 1e4, max = 1e6, points = 3}
tokens.per_param = [5, 20]
lr = {min = 1e-3, max = 4e-3, points = 3}
[filters]
max_est_runtime = "2m"
[execution]
devices = "cuda:0, cuda:1"
lease_ttl = "90s"
)"));
  CHECK(sc.mode == "grid");
  CHECK(sc.name == "grid");
  REQUIRE(sc.params.size() == 3);
  CHECK(sc.params[1] == doctest::Approx(1e5));
  CHECK(sc.tokens_per_param == std::vector<double>{5, 20});
  CHECK(sc.lr[1] == doctest::Approx(2e-3));
  CHECK(sc.filters.max_est_runtime_s == 120);
  CHECK(sc.execution.devices == std::vector<std::string>{"cuda:0", "cuda:1"});
  CHECK(sc.execution.lease_ttl_s == 90);
  CHECK(sweep::parse_duration("1.5h") == 5400);
  CHECK(sweep::parse_duration("45") == 45);
  CHECK(std::isnan(sweep::parse_duration("ten minutes")));
}

TEST_CASE("extends layers a base under the file, key by key") {
  Dir d;
  d.write("base.toml", R"(
[data]
path = "CORPUS"
[model]
seq_len = 64
head_dim = 16
[train]
batch_tokens = 2048
lr = 1e-3
warmup_fraction = 0.1
[axes]
compute = {min = 1e12, max = 1e13, points = 3}
[execution]
retries = 5
)");
  d.write("mid.toml", "extends = \"base.toml\"\n[train]\nlr = 3e-3\n");
  auto top = d.write("top.toml", R"(extends = "mid.toml"
mode = "isoflop"
[train]
batch_tokens = 1024
[axes]
compute = [2e12]
)");
  auto sc = sweep::load_sweep_config(top);
  CHECK(sc.base.optim.lr == 3e-3);                    // mid over base
  CHECK(sc.base.batch_tokens == 1024);                // top over base
  CHECK(sc.base.schedule.warmup_fraction == 0.1);     // base kept
  CHECK(sc.compute == std::vector<double>{2e12});     // axes are replaced whole
  CHECK(sc.execution.retries == 5);
  REQUIRE(sc.files.size() == 3);
  CHECK(sc.files.front() == d.path("base.toml"));
  CHECK(sc.origin.at("train.lr") == d.path("mid.toml") + ":3");
  CHECK(sc.origin.at("train.warmup_fraction") == d.path("base.toml") + ":10");
  CHECK(sc.resolved_toml.find("warmup_fraction") != std::string::npos);

  // An error in a base file names the base file and its line.
  d.write("base.toml", "[data]\npath = \"CORPUS\"\n[model]\nseq_len = 64\n[train]\nwarmup_fraction = 2\n");
  auto msg = error_of(top);
  CHECK_MESSAGE(msg.find(d.path("base.toml") + ":6: train.warmup_fraction: expected a number in [0, 0.5]") == 0, msg);
}

TEST_CASE("malformed sweep configs get one-line errors naming file, line and key") {
  Dir d;
  struct Case {
    std::string text, want;
  };
  // Each case starts from the valid isoflop config.
  auto with = [](std::string from, std::string to) {
    std::string s = kIsoflop;
    auto at = s.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    return s.replace(at, from.size(), to);
  };
  std::vector<Case> cases = {
      {with("[axes]", "[axes"), "c.toml:12: invalid TOML"},
      {with("mode = \"isoflop\"", "mode = \"lattice\""), "c.toml:2: mode: expected one of \"grid\", \"isoflop\""},
      {with("sizes = 4", "sizez = 4"), "c.toml:16: isoflop.sizez: unknown key (did you mean 'sizes'?)"},
      {with("compute = [1e12, 4e12]", "compute = [1e12, -4e12]"), "c.toml:13: axes.compute[1]: expected a positive number"},
      {with("compute = [1e12, 4e12]", "compute = []"), "c.toml:13: axes.compute: expected at least one value"},
      {with("compute = [1e12, 4e12]", "compute = {min = 1e12, max = 1e11, points = 3}"),
       "c.toml:13: axes.compute.max: must be at least min"},
      {with("compute = [1e12, 4e12]", "compute = {min = 1e12, max = 1e13}"), "c.toml:13: axes.compute.points: missing"},
      {with("compute = [1e12, 4e12]", "compute = \"lots\""), "c.toml:13: axes.compute: expected a list of numbers"},
      {with("seed = [1, 2]", "seed = [1, -2]"), "c.toml:14: axes.seed[1]: expected a non-negative integer"},
      {with("seed = [1, 2]", "params = [1e5]"), "c.toml:14: axes.params: not used in isoflop mode"},
      {with("batch_tokens = 1024", "batch_tokens = 1000"), "c.toml:10: train.batch_tokens: must be a multiple of model.seq_len (64), got 1000"},
      {with("seq_len = 64", "seq_len = 64\nn_layer = 2"), "c.toml:7: model.n_layer: not used in isoflop mode"},
      {with("span = 16", "span = 0.5"), "c.toml:17: isoflop.span: expected a number in [1, 1000000], got 0.5"},
      {with("[isoflop]", "[execution]\ndevices = \"tpu\"\n[isoflop]"), "c.toml:16: execution.devices: expected cpu, cuda"},
      {with("[isoflop]", "[filters]\nmax_est_runtime = \"soon\"\n[isoflop]"), "c.toml:16: filters.max_est_runtime:"},
      {with("[isoflop]", "[execution]\nretries = -1\n[isoflop]"), "c.toml:16: execution.retries: expected an integer in"},
      {with("path = \"CORPUS\"", "path = \"/no/such/corpus.txt\""), "c.toml:4: data.path: no such file"},
      {with("[axes]\ncompute = [1e12, 4e12]", "[axes]"), "axes.compute: missing"},
      {"extends = \"nowhere.toml\"\n", "c.toml:1: extends: no such file"},
      {"extends = \"c.toml\"\n", "c.toml:1: extends:"},
      {"[data]\npath = \"CORPUS\"\n[model]\nseq_len = 32\n[axes]\nparams = [1e5]\n", "axes.tokens: missing"},
      {"[data]\npath = \"CORPUS\"\n[model]\nseq_len = 32\n[axes]\ntokens = [1e6]\n", "axes.params: missing"},
      {"[data]\npath = \"CORPUS\"\n[model]\nseq_len = 32\n[axes]\nparams = [1e5]\ntokens = {per_param = [0]}\n",
       "c.toml:7: axes.tokens.per_param[0]: expected a positive number"},
  };
  for (auto& c : cases) {
    CAPTURE(c.text);
    auto msg = error_of(d.write("c.toml", c.text));
    CHECK_MESSAGE(msg.find(c.want) != std::string::npos, msg);
    if (c.want.rfind("c.toml", 0) == 0 || c.want.rfind("axes", 0) == 0)
      CHECK_MESSAGE(msg.rfind(d.dir() + "/", 0) == 0, "error should start with the file path: " << msg);
    CHECK(msg.find('\n') == std::string::npos);
  }
}
