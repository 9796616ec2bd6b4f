// μP (docs/mup.md): the rules as written there, equality with sp at the base
// width, and bit-exact resume with per-group learning rates.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "trainer/engine.h"
#include "trainer/model.h"
#include "trainer/test_util.h"
#include "trainer/trainer.h"

using namespace scalelab::trainer;
namespace fs = std::filesystem;

namespace {

using Capture = testing::RowCapture;

RunSpec mup_spec(int d_model, int base) {
  RunSpec s = testing::phrase_spec();
  s.model.d_model = d_model;
  s.model.parametrization = "mup";
  s.model.mup_base_width = base;
  s.tokens = 30 * 256;
  s.log_every = 3;
  s.eval_every = 10;
  s.eval_batches = 2;
  s.checkpoint_every = 10;
  s.schedule.warmup_steps = 3;
  return s;
}

std::vector<MetricRow> run(const RunSpec& s, const fs::path& dir, std::int64_t stop_after = -1, bool resume = false) {
  Capture c;
  auto o = testing::quiet(dir);
  o.stop_after_steps = stop_after;
  o.resume = resume;
  train(s, o, c);
  return c.rows;
}

fs::path temp_dir(const std::string& name) { return testing::temp_dir("mup", name); }

void check_same(const std::vector<MetricRow>& got, const std::vector<MetricRow>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i].step == want[i].step);
    CHECK(got[i].loss == want[i].loss);  // bit for bit
    CHECK(got[i].grad_norm == want[i].grad_norm);
    CHECK(got[i].lr == want[i].lr);
  }
}

double std_of(const torch::Tensor& t) { return t.std().item<double>(); }

}  // namespace

TEST_CASE("mup_scales: every factor is exactly 1 under sp and at the base width") {
  ModelConfig m;
  m.d_model = 128;
  for (auto [par, base] : {std::pair<const char*, int>{"sp", 0}, {"mup", 128}}) {
    m.parametrization = par;
    m.mup_base_width = base;
    const MupScales s = mup_scales(m);
    CHECK(s.width_mult == 1.0);
    CHECK(s.hidden_init == 1.0);
    CHECK(s.hidden_lr == 1.0);
    CHECK(s.attn == 1.0);
    CHECK(s.output == 1.0);
  }
  m.mup_base_width = 32;  // m = 4
  const MupScales s = mup_scales(m);
  CHECK(s.width_mult == 4.0);
  CHECK(s.hidden_init == doctest::Approx(0.5));
  CHECK(s.hidden_lr == doctest::Approx(0.25));
  CHECK(s.attn == doctest::Approx(0.5));
  CHECK(s.output == doctest::Approx(0.25));
}

TEST_CASE("parametrization_problem names the key and the fix") {
  ModelConfig m;
  CHECK(!parametrization_problem(m));
  m.mup_base_width = 64;
  CHECK(parametrization_problem(m)->what == "only used with model.parametrization = \"mup\"");
  m.parametrization = "mup";
  CHECK(!parametrization_problem(m));
  m.mup_base_width = 256;
  auto p = parametrization_problem(m);
  REQUIRE(p);
  CHECK(p->key == "model.mup_base_width");
  CHECK(p->what.find("256 is larger than model.d_model (128)") == 0);
  m.mup_base_width = 0;
  CHECK(parametrization_problem(m)->what.find("missing;") == 0);
  m.parametrization = "ntk";
  CHECK(parametrization_problem(m)->key == "model.parametrization");
  CHECK_THROWS_AS(GPT{m}, scalelab::UserError);
}

TEST_CASE("mup initialisation: hidden matrices at std/sqrt(m), embeddings and the untied head unchanged") {
  ModelConfig m;
  m.n_layer = 2;
  m.d_model = 256;
  m.n_head = 4;
  m.tie_embeddings = false;
  m.parametrization = "mup";
  m.mup_base_width = 64;  // m = 4
  torch::manual_seed(3);
  GPT g(m);
  const double proj = 0.02 / std::sqrt(2.0 * m.n_layer);
  auto hidden = g->hidden_matrices();
  REQUIRE(hidden.size() == 8);
  CHECK(std_of(hidden[0]) == doctest::Approx(0.02 / 2).epsilon(0.02));  // c_attn
  CHECK(std_of(hidden[1]) == doctest::Approx(proj / 2).epsilon(0.02));  // attn.c_proj
  CHECK(std_of(hidden[2]) == doctest::Approx(0.02 / 2).epsilon(0.02));  // c_fc
  CHECK(std_of(hidden[3]) == doctest::Approx(proj / 2).epsilon(0.02));  // mlp.c_proj
  auto named = g->named_parameters();
  CHECK(std_of(named["wte"]) == doctest::Approx(0.02).epsilon(0.02));
  CHECK(std_of(named["wpe"]) == doctest::Approx(0.02).epsilon(0.05));
  CHECK(std_of(named["lm_head"]) == doctest::Approx(0.02).epsilon(0.02));
}

TEST_CASE("mup logits carry the 1/m output multiplier") {
  ModelConfig m;
  m.n_layer = 1;
  m.d_model = 64;
  m.n_head = 2;
  m.seq_len = 16;
  auto idx = torch::randint(0, 256, {2, 16}, torch::kInt64);
  torch::manual_seed(4);
  GPT sp(m);
  m.parametrization = "mup";
  m.mup_base_width = 16;  // m = 4
  GPT mup(m);
  // Same weights apart from the init scale; copy sp's so only the forward rules differ.
  {
    torch::NoGradGuard no_grad;
    auto a = sp->parameters(), b = mup->parameters();
    for (std::size_t i = 0; i < a.size(); ++i) b[i].copy_(a[i]);
  }
  sp->eval();
  mup->eval();
  // The attention scale differs too; with one block of a single query row the softmax is 1 either way.
  auto one = idx.slice(1, 0, 1);
  CHECK(torch::allclose(mup->logits(one), sp->logits(one) / 4, 1e-5, 1e-6));
}

TEST_CASE("parameter and FLOP accounting do not depend on the parametrization") {
  ModelConfig m;
  m.d_model = 96;
  m.n_head = 3;
  const auto sp = count_params(m);
  const double sp_flops = flops_per_token(m, "6N+attn");
  m.parametrization = "mup";
  m.mup_base_width = 32;
  CHECK(count_params(m).total == sp.total);
  CHECK(count_params(m).non_embedding == sp.non_embedding);
  CHECK(flops_per_token(m, "6N+attn") == sp_flops);
  std::int64_t numel = 0;
  for (auto& p : GPT(m)->parameters()) numel += p.numel();
  CHECK(numel == sp.total);
}

TEST_CASE("mup at its base width trains bit for bit as sp") {
  RunSpec sp = mup_spec(32, 0);
  sp.model.parametrization = "sp";
  check_same(run(mup_spec(32, 32), temp_dir("at-base")), run(sp, temp_dir("sp")));
}

TEST_CASE("mup away from the base width differs from sp, and a stopped run resumes bit for bit") {
  const RunSpec s = mup_spec(64, 32);
  const auto whole = run(s, temp_dir("whole"));
  RunSpec sp = s;
  sp.model.parametrization = "sp";
  sp.model.mup_base_width = 0;
  CHECK(run(sp, temp_dir("sp-64")).back().loss != whole.back().loss);
  const fs::path dir = temp_dir("resumed");
  auto part = run(s, dir, 14);  // between checkpoints
  const auto rest = run(s, dir, -1, true);
  part.insert(part.end(), rest.begin(), rest.end());
  check_same(part, whole);
}

TEST_CASE("the optimizer gives mup's hidden matrices lr/m and everything else lr") {
  ModelConfig m;
  m.n_layer = 1;
  m.d_model = 64;
  m.n_head = 2;
  m.seq_len = 8;
  m.parametrization = "mup";
  m.mup_base_width = 16;  // m = 4
  torch::manual_seed(6);
  GPT g(m);
  OptimConfig o;
  o.weight_decay = 0;
  auto opt = make_optimizer(g, o);
  auto before = opt->params().clone();
  auto idx = torch::randint(0, 256, {2, 8}, torch::kInt64);
  opt->zero_grad();
  g->forward(idx, idx).backward();
  opt->step(1e-3);  // Adam's first step moves every coordinate with a gradient by lr * mult
  auto moved = [&](const torch::Tensor& p) {
    const auto off = p.data_ptr<float>() - opt->params().data_ptr<float>();
    return (opt->params() - before).narrow(0, off, p.numel()).abs().max().item<double>();
  };
  for (auto& h : g->hidden_matrices()) CHECK(moved(h) == doctest::Approx(0.25e-3).epsilon(1e-3));
  CHECK(moved(g->embeddings()[0]) == doctest::Approx(1e-3).epsilon(1e-3));
  CHECK(moved(g->named_parameters()["ln_f.weight"]) == doctest::Approx(1e-3).epsilon(1e-3));
}

TEST_CASE("mup at its base width computes sp's loss and gradients exactly, on both execution paths") {
  ModelConfig m;
  m.n_layer = 2;
  m.d_model = 48;
  m.n_head = 3;
  m.seq_len = 40;
  m.tie_embeddings = false;
  auto idx = torch::randint(0, 256, {2, 40}, torch::kInt64);
  for (bool kernels : {false, true}) {
    CAPTURE(kernels);
    torch::manual_seed(7);
    GPT sp(m);
    ModelConfig mm = m;
    mm.parametrization = "mup";
    mm.mup_base_width = 48;
    torch::manual_seed(7);
    GPT mup(mm);
    sp->set_cpu_kernels(kernels);
    mup->set_cpu_kernels(kernels);
    auto a = sp->forward(idx, idx), b = mup->forward(idx, idx);
    CHECK(a.item<float>() == b.item<float>());
    a.backward();
    b.backward();
    auto pa = sp->parameters(), pb = mup->parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(torch::equal(pa[i].grad(), pb[i].grad()));
  }
}
