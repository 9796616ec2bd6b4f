#pragma once
// Decoder-only GPT in the shape of nanoGPT's model.py: token + learned position
// embeddings, pre-LayerNorm blocks (fused qkv attention, 4x GELU MLP), final
// LayerNorm, head tied to the token embedding when asked. GPT-2 initialisation,
// or under model.parametrization = "mup" μP's width scaling of it (docs/mup.md).
//
// Two interchangeable execution paths compute the same function:
//  - reference: plain LibTorch ops (any device, autocast-friendly, dropout);
//  - CPU kernels (kernels.h): oneDNN GEMMs, an in-place causal attention, fused
//    GELU, and each residual add fused into the LayerNorm after it; chosen on CPU
//    when oneDNN is available and dropout is 0.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "trainer/trainer.h"

namespace scalelab::trainer {

struct DenseImpl : torch::nn::Module {
  DenseImpl(int64_t in, int64_t out, bool bias);
  torch::Tensor weight, bias;  // weight [out, in]; bias undefined when disabled
};
TORCH_MODULE(Dense);

struct NormImpl : torch::nn::Module {
  NormImpl(int64_t d, bool bias);
  torch::Tensor weight, bias;
};
TORCH_MODULE(Norm);

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const ModelConfig& c);
  Dense c_attn{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Attention);

struct MlpImpl : torch::nn::Module {
  explicit MlpImpl(const ModelConfig& c);
  Dense c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Mlp);

struct BlockImpl : torch::nn::Module {
  explicit BlockImpl(const ModelConfig& c);
  Norm ln_1{nullptr}, ln_2{nullptr};  // ln_2 and mlp are null in attention-only blocks
  Attention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

class GPTImpl : public torch::nn::Module {
 public:
  explicit GPTImpl(const ModelConfig& cfg);

  // Mean next-token cross-entropy in nats. idx, targets: int64 [B, T<=seq_len].
  torch::Tensor forward(const torch::Tensor& idx, const torch::Tensor& targets);
  torch::Tensor logits(const torch::Tensor& idx);  // [B, T, vocab]
  // Logits only at rows flat_positions (int64, indices into B*T): [K, vocab].
  torch::Tensor logits_at(const torch::Tensor& idx, const torch::Tensor& flat_positions);
  // Mean cross-entropy at those rows against targets [K].
  torch::Tensor forward_at(const torch::Tensor& idx, const torch::Tensor& flat_positions,
                           const torch::Tensor& targets);

  void set_cpu_kernels(bool on);
  bool cpu_kernels() const { return cpu_kernels_; }
  const ModelConfig& config() const { return cfg_; }

  // AdamW groups: matrices that get weight decay, and the rest (embeddings, and
  // so the tied head, biases, LayerNorm gains). Together: every parameter once.
  std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>> param_groups();
  std::vector<torch::Tensor> embeddings() { return {wte, wpe}; }  // in the second group
  // The hidden matrices (c_attn, c_proj, c_fc, mlp.c_proj weights): μP scales their
  // init and Adam LR with width. A prefix of the first group.
  std::vector<torch::Tensor> hidden_matrices();

  // Called in forward with each layer's output ("embed", "h0.attn", "h0.mlp", ...,
  // "logits"), for the coordinate check; empty: off.
  using Probe = std::function<void(const std::string& layer, const torch::Tensor& out)>;
  void set_probe(Probe p) { probe_ = std::move(p); }

 private:
  torch::Tensor hidden(const torch::Tensor& idx);  // final-LayerNorm output [B, T, d]
  torch::Tensor block(BlockImpl& b, const torch::Tensor& x, std::size_t layer);
  torch::Tensor readout(torch::Tensor x);  // final hidden -> logits, with the output multiplier
  torch::Tensor hidden_fused(const torch::Tensor& idx);  // hidden() on the CPU kernels
  torch::Tensor attention(AttentionImpl& a, const torch::Tensor& x);
  torch::Tensor attention_heads(AttentionImpl& a, const torch::Tensor& x);  // before c_proj
  torch::Tensor dense(const DenseImpl& l, const torch::Tensor& x) const;
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& targets) const;  // mean cross-entropy
  torch::Tensor dropout(const torch::Tensor& x);
  void init_weights();

  ModelConfig cfg_;
  MupScales mup_;
  Probe probe_;
  bool cpu_kernels_ = false;
  torch::Tensor wte, wpe, lm_head;  // lm_head undefined when tied
  std::vector<Block> h;
  Norm ln_f{nullptr};
  torch::Tensor causal_mask_;  // LibTorch 1.x reference attention only
};
TORCH_MODULE(GPT);

}  // namespace scalelab::trainer
