#include "trainer/model.h"

#include <fmt/format.h>
#include <torch/version.h>

#include <cmath>
#include <limits>
#include <string>
#include <tuple>

#include "common/error.h"
#include "trainer/gemm.h"
#include "trainer/kernels.h"

namespace scalelab::trainer {

using torch::Tensor;

DenseImpl::DenseImpl(int64_t in, int64_t out, bool with_bias) {
  weight = register_parameter("weight", torch::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}));
}

NormImpl::NormImpl(int64_t d, bool with_bias) {
  weight = register_parameter("weight", torch::ones({d}));
  if (with_bias) bias = register_parameter("bias", torch::zeros({d}));
}

AttentionImpl::AttentionImpl(const ModelConfig& c) {
  c_attn = register_module("c_attn", Dense(c.d_model, 3 * c.d_model, c.bias));
  c_proj = register_module("c_proj", Dense(c.d_model, c.d_model, c.bias));
}

MlpImpl::MlpImpl(const ModelConfig& c) {
  c_fc = register_module("c_fc", Dense(c.d_model, 4 * c.d_model, c.bias));
  c_proj = register_module("c_proj", Dense(4 * c.d_model, c.d_model, c.bias));
}

BlockImpl::BlockImpl(const ModelConfig& c) {
  ln_1 = register_module("ln_1", Norm(c.d_model, c.bias));
  attn = register_module("attn", Attention(c));
  if (!c.mlp) return;  // attention-only
  ln_2 = register_module("ln_2", Norm(c.d_model, c.bias));
  mlp = register_module("mlp", Mlp(c));
}

GPTImpl::GPTImpl(const ModelConfig& cfg) : cfg_(cfg), mup_(mup_scales(cfg)) {
  if (cfg.n_layer < 1 || cfg.d_model < 1 || cfg.n_head < 1 || cfg.seq_len < 1 || cfg.vocab < 1)
    user_error("model: n_layer, d_model, n_head, seq_len and vocab must all be >= 1");
  if (cfg.d_model % cfg.n_head != 0)
    user_error("model.d_model ({}) must be a multiple of model.n_head ({})", cfg.d_model, cfg.n_head);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1))
    user_error("model.dropout must be in [0, 1) (got {})", cfg.dropout);
  if (!(cfg.embedding_init_std > 0 && cfg.embedding_init_std <= 10))
    user_error("model.embedding_init_std must be in (0, 10] (got {})", cfg.embedding_init_std);
  if (cfg.positions != "learned")
    user_error("model.positions: unknown '{}' (only \"learned\" is supported)", cfg.positions);
  check_parametrization(cfg);
  wte = register_parameter("wte", torch::empty({cfg.vocab, cfg.d_model}));
  wpe = register_parameter("wpe", torch::empty({cfg.seq_len, cfg.d_model}));
  torch::nn::ModuleList blocks;
  for (int i = 0; i < cfg.n_layer; ++i) {
    h.push_back(Block(cfg));
    blocks->push_back(h.back());
  }
  register_module("h", blocks);
  ln_f = register_module("ln_f", Norm(cfg.d_model, cfg.bias));
  if (!cfg.tie_embeddings) lm_head = register_parameter("lm_head", torch::empty({cfg.vocab, cfg.d_model}));
#if TORCH_VERSION_MAJOR < 2
  causal_mask_ = register_buffer(
      "causal_mask", torch::ones({cfg.seq_len, cfg.seq_len}, torch::kBool).triu(1));
#endif
  init_weights();
}

void GPTImpl::init_weights() {
  torch::NoGradGuard no_grad;
  // μP: hidden matrices at variance ~ 1/fan_in relative to the base width.
  const double std = 0.02 * mup_.hidden_init;
  // GPT-2: residual-stream projections are scaled by 1/sqrt(2 * n_layer) so the
  // residual variance does not grow with depth.
  const double proj_std = std / std::sqrt(2.0 * cfg_.n_layer);
  wte.normal_(0, cfg_.embedding_init_std);
  wpe.normal_(0, cfg_.embedding_init_std);
  for (auto& b : h) {
    b->attn->c_attn->weight.normal_(0, std);
    b->attn->c_proj->weight.normal_(0, proj_std);
    if (!cfg_.mlp) continue;
    b->mlp->c_fc->weight.normal_(0, std);
    b->mlp->c_proj->weight.normal_(0, proj_std);
  }
  // An untied head keeps the base std: μP moves its width scaling into the output multiplier.
  if (lm_head.defined()) lm_head.normal_(0, 0.02);
}

void GPTImpl::set_cpu_kernels(bool on) {
  cpu_kernels_ = on && cpu::have_fast_gemm() && cfg_.dropout == 0;
}

std::vector<Tensor> GPTImpl::hidden_matrices() {
  std::vector<Tensor> out;
  for (auto& b : h) {
    out.push_back(b->attn->c_attn->weight);
    out.push_back(b->attn->c_proj->weight);
    if (!cfg_.mlp) continue;
    out.push_back(b->mlp->c_fc->weight);
    out.push_back(b->mlp->c_proj->weight);
  }
  return out;
}

std::pair<std::vector<Tensor>, std::vector<Tensor>> GPTImpl::param_groups() {
  std::vector<Tensor> decay, rest;
  for (auto& b : h) {
    std::vector<Dense> dense{b->attn->c_attn, b->attn->c_proj};
    if (cfg_.mlp) dense.insert(dense.end(), {b->mlp->c_fc, b->mlp->c_proj});
    for (Dense d : dense) {
      decay.push_back(d->weight);
      if (d->bias.defined()) rest.push_back(d->bias);
    }
  }
  if (lm_head.defined()) decay.push_back(lm_head);
  rest.push_back(wte);
  rest.push_back(wpe);
  for (auto& b : h)
    for (Norm n : {b->ln_1, b->ln_2}) {
      if (!n) continue;  // attention-only blocks have no ln_2
      rest.push_back(n->weight);
      if (n->bias.defined()) rest.push_back(n->bias);
    }
  rest.push_back(ln_f->weight);
  if (ln_f->bias.defined()) rest.push_back(ln_f->bias);
  return {decay, rest};
}

Tensor GPTImpl::dense(const DenseImpl& l, const Tensor& x) const {
  if (cpu_kernels_ && x.is_cpu()) return cpu::linear(x, l.weight, l.bias);
  return torch::nn::functional::linear(x, l.weight, l.bias);
}

Tensor GPTImpl::dropout(const Tensor& x) {
  if (cfg_.dropout == 0 || !is_training()) return x;
  return torch::dropout(x, cfg_.dropout, true);
}

Tensor GPTImpl::attention(AttentionImpl& a, const Tensor& x) {
  return dropout(dense(*a.c_proj, attention_heads(a, x)));
}

Tensor GPTImpl::attention_heads(AttentionImpl& a, const Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1), C = cfg_.d_model, H = cfg_.n_head;
  Tensor qkv = dense(*a.c_attn, x);
  Tensor y;
  if (cpu_kernels_ && x.is_cpu()) {
    y = cpu::causal_attention(qkv, H, mup_.attn);
  } else {
    auto parts = qkv.split(C, 2);
    auto heads = [&](const Tensor& t) { return t.view({B, T, H, C / H}).transpose(1, 2); };
    Tensor q = heads(parts[0]), k = heads(parts[1]), v = heads(parts[2]);
    const double p = is_training() ? cfg_.dropout : 0.0;
#if TORCH_VERSION_MAJOR >= 2
    if (mup_.attn != 1) q = q * mup_.attn;  // on top of SDPA's own 1/sqrt(d_head)
    y = at::scaled_dot_product_attention(q, k, v, {}, p, /*is_causal=*/true);
#else
    Tensor att = torch::matmul(q, k.transpose(-2, -1)) * (mup_.attn / std::sqrt(double(C / H)));
    att = att.masked_fill(causal_mask_.slice(0, 0, T).slice(1, 0, T),
                          -std::numeric_limits<float>::infinity());
    att = torch::softmax(att, -1);
    if (p > 0) att = torch::dropout(att, p, true);
    y = torch::matmul(att, v);
#endif
    y = y.transpose(1, 2).contiguous().view({B, T, C});
  }
  return y;
}

Tensor GPTImpl::block(BlockImpl& b, const Tensor& x_in, std::size_t layer) {
  const int64_t d = cfg_.d_model;
  Tensor a = attention(*b.attn, torch::layer_norm(x_in, {d}, b.ln_1->weight, b.ln_1->bias, 1e-5));
  if (probe_) probe_(fmt::format("h{}.attn", layer), a.detach());
  Tensor x = x_in + a;
  if (!cfg_.mlp) return x;
  Tensor m = torch::layer_norm(x, {d}, b.ln_2->weight, b.ln_2->bias, 1e-5);
  const DenseImpl& fc = *b.mlp->c_fc;
  m = cpu_kernels_ && m.is_cpu() ? cpu::linear_gelu(m, fc.weight, fc.bias) : torch::gelu(dense(fc, m));
  m = dense(*b.mlp->c_proj, m);
  if (probe_) probe_(fmt::format("h{}.mlp", layer), m.detach());
  return x + dropout(m);
}

// The CPU kernels' form of the blocks: each residual add, with the bias of the
// projection it adds, is fused into the LayerNorm that follows it (the next
// block's ln_1 or ln_f), so the projections run without their bias. Same function
// as block(); no probes (they want each branch's output with its bias).
Tensor GPTImpl::hidden_fused(const Tensor& idx) {
  constexpr double kEps = 1e-5;
  const int64_t T = idx.size(1);
  Tensor x = torch::embedding(wte, idx) + wpe.slice(0, 0, T);
  Tensor y = cpu::layer_norm(x, h[0]->ln_1->weight, h[0]->ln_1->bias, kEps);
  for (std::size_t i = 0; i < h.size(); ++i) {
    BlockImpl& b = *h[i];
    const NormImpl& next = i + 1 < h.size() ? *h[i + 1]->ln_1 : *ln_f;
    const DenseImpl& proj = *b.attn->c_proj;
    const NormImpl& after_attn = cfg_.mlp ? *b.ln_2 : next;
    Tensor a = cpu::linear(attention_heads(*b.attn, y), proj.weight, Tensor());
    std::tie(x, y) = cpu::add_layer_norm(x, a, proj.bias, after_attn.weight, after_attn.bias, kEps);
    if (!cfg_.mlp) continue;
    const DenseImpl &fc = *b.mlp->c_fc, &out = *b.mlp->c_proj;
    Tensor m = cpu::mlp(y, fc.weight, fc.bias, out.weight);
    std::tie(x, y) = cpu::add_layer_norm(x, m, out.bias, next.weight, next.bias, kEps);
  }
  return y;
}

Tensor GPTImpl::hidden(const Tensor& idx) {
  const int64_t T = idx.size(1);
  if (T > cfg_.seq_len) throw std::invalid_argument("sequence longer than model.seq_len");
  if (cpu_kernels_ && idx.is_cpu() && !probe_) return hidden_fused(idx);
  Tensor x = dropout(torch::embedding(wte, idx) + wpe.slice(0, 0, T));
  if (probe_) probe_("embed", x.detach());
  for (std::size_t i = 0; i < h.size(); ++i) x = block(*h[i], x, i);
  return torch::layer_norm(x, {cfg_.d_model}, ln_f->weight, ln_f->bias, 1e-5);
}

Tensor GPTImpl::readout(Tensor x) {
  const Tensor& head = lm_head.defined() ? lm_head : wte;
  // μP's 1/m output multiplier, applied to the narrower side of the head matmul.
  if (mup_.output != 1) x = x * mup_.output;
  if (cpu_kernels_ && x.is_cpu()) return cpu::linear(x, head, Tensor());
  return torch::nn::functional::linear(x, head);
}

Tensor GPTImpl::logits(const Tensor& idx) {
  Tensor lg = readout(hidden(idx));
  if (probe_) probe_("logits", lg.detach());
  return lg;
}

Tensor GPTImpl::logits_at(const Tensor& idx, const Tensor& flat_positions) {
  // Only the selected rows reach the head: on algorithmic tasks the answer is a few
  // tokens of each sequence, and the head's matmul is then a small fraction of a pass.
  return readout(hidden(idx).reshape({-1, cfg_.d_model}).index_select(0, flat_positions));
}

Tensor GPTImpl::loss(const Tensor& logits, const Tensor& targets) const {
  if (cpu_kernels_ && logits.is_cpu()) return cpu::cross_entropy(logits, targets);
  return torch::nn::functional::cross_entropy(logits, targets);
}

Tensor GPTImpl::forward_at(const Tensor& idx, const Tensor& flat_positions, const Tensor& targets) {
  return loss(logits_at(idx, flat_positions), targets);
}

Tensor GPTImpl::forward(const Tensor& idx, const Tensor& targets) {
  return loss(logits(idx).view({-1, cfg_.vocab}), targets.reshape(-1));
}

}  // namespace scalelab::trainer
