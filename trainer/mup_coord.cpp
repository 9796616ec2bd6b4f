#include "trainer/mup_coord.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>

#include "common/error.h"
#include "trainer/engine.h"
#include "trainer/model.h"

namespace scalelab::trainer {

namespace {

ModelConfig coord_model(const CoordCheck& c, int width, const std::string& parametrization) {
  ModelConfig m;
  m.n_layer = c.n_layer;
  m.d_model = width;
  m.n_head = c.n_head;
  m.seq_len = c.seq_len;
  m.vocab = c.vocab;
  m.parametrization = parametrization;
  m.mup_base_width = parametrization == "mup" ? c.base_width : 0;
  return m;
}

// The RMS of each probed layer after c.steps steps of one seed's model.
std::map<std::string, double> one_run(const CoordCheck& c, const ModelConfig& m, const torch::Tensor& x,
                                      const torch::Tensor& y, std::uint64_t seed) {
  torch::manual_seed(seed);
  GPT g(m);
  g->set_cpu_kernels(true);  // the path a CPU run takes
  g->train();
  OptimConfig o;
  o.lr = c.lr;
  o.weight_decay = 0;  // decay and clipping would blur what the parametrization alone does
  auto opt = make_optimizer(g, o);
  for (int s = 0; s < c.steps; ++s) {
    opt->zero_grad();
    g->forward(x, y).backward();
    opt->step(c.lr);
  }
  std::map<std::string, double> out;
  g->set_probe([&](const std::string& layer, const torch::Tensor& t) {
    out[layer] = t.pow(2).mean().sqrt().item<double>();
  });
  torch::NoGradGuard no_grad;
  g->logits(x);
  return out;
}

// Inputs and next-byte targets [batch, seq_len]: byte windows spread over the file.
std::pair<torch::Tensor, torch::Tensor> text_batch(const CoordCheck& c) {
  std::ifstream f(c.text_path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::size_t span = std::size_t(c.seq_len) + 1;
  if (text.size() < span * std::size_t(c.batch)) user_error("{}: too short for the coordinate check's batch", c.text_path);
  auto w = torch::empty({c.batch, c.seq_len + 1}, torch::kInt64);
  const std::size_t stride = (text.size() - span) / std::size_t(c.batch);
  for (int b = 0; b < c.batch; ++b)
    for (std::size_t i = 0; i < span; ++i) w[b][std::int64_t(i)] = static_cast<unsigned char>(text[b * stride + i]);
  return {w.slice(1, 0, c.seq_len).contiguous(), w.slice(1, 1).contiguous()};
}

std::vector<std::string> layer_names(int n_layer) {
  std::vector<std::string> v{"embed"};
  for (int i = 0; i < n_layer; ++i)
    for (const char* part : {"attn", "mlp"}) v.push_back(fmt::format("h{}.{}", i, part));
  v.push_back("logits");
  return v;
}

}  // namespace

double CoordTable::ratio(std::size_t layer) const {
  const auto& r = rms.at(layer);
  return *std::max_element(r.begin(), r.end()) / *std::min_element(r.begin(), r.end());
}

std::size_t CoordTable::row(const std::string& layer) const {
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i] == layer) return i;
  throw std::out_of_range("no layer " + layer);
}

CoordTable coord_check(const CoordCheck& c, const std::string& parametrization) {
  CoordTable t;
  t.parametrization = parametrization;
  t.widths = c.widths;
  t.layers = layer_names(c.n_layer);
  t.rms.assign(t.layers.size(), std::vector<double>(c.widths.size(), 0.0));
  torch::manual_seed(12345);  // one batch for every width and seed
  auto [x, y] = c.text_path.empty()
                    ? std::pair{torch::randint(0, c.vocab, {c.batch, c.seq_len}, torch::kInt64),
                                torch::randint(0, c.vocab, {c.batch, c.seq_len}, torch::kInt64)}
                    : text_batch(c);
  for (std::size_t w = 0; w < c.widths.size(); ++w) {
    const ModelConfig m = coord_model(c, c.widths[w], parametrization);
    for (int seed = 1; seed <= c.seeds; ++seed) {
      const auto got = one_run(c, m, x, y, std::uint64_t(seed));
      for (std::size_t l = 0; l < t.layers.size(); ++l) t.rms[l][w] += got.at(t.layers[l]) / c.seeds;
    }
  }
  return t;
}

std::string format_table(const CoordTable& t) {
  std::string out = fmt::format("{:<8}", t.parametrization);
  for (int w : t.widths) out += fmt::format(" {:>9}", w);
  out += fmt::format(" {:>8}\n", "max/min");
  for (std::size_t l = 0; l < t.layers.size(); ++l) {
    out += fmt::format("{:<8}", t.layers[l]);
    for (double v : t.rms[l]) out += fmt::format(" {:>9.4f}", v);
    out += fmt::format(" {:>8.2f}\n", t.ratio(l));
  }
  return out;
}

}  // namespace scalelab::trainer
