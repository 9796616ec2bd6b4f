// What a run may ask for before anything is allocated or registered (issue 15):
// sizes in floating point, so 1e9-wide models are refused rather than overflowing
// the integer parameter count, and an estimate of training memory to compare with
// what the machine has. Torch-free: the CLI checks these without the plugin.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "common/table.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

namespace fs = std::filesystem;

double params_estimate(const ModelConfig& m) {
  const double d = m.d_model, L = m.n_layer, V = m.vocab, T = m.seq_len;
  const double per_layer = (m.mlp ? 12 : 4) * d * d + 12 * d;  // biases and norms, roughly
  return L * per_layer + (m.tie_embeddings ? 1 : 2) * V * d + T * d + 2 * d;
}

double training_memory_bytes(const RunSpec& s) {
  const auto& m = s.model;
  const double params = params_estimate(m);
  // fp32 weights, gradients and two AdamW moments; the flat optimizer keeps one more copy.
  const double state = 20 * params;
  // Activations kept for backward, per micro-batch (Korthikanti et al. 2022, in fp32):
  // per layer about 2 * B T (34 d + 5 h T) bytes; and the logits with their gradient.
  const double B = s.micro_batch, T = m.seq_len, d = m.d_model, h = m.n_head;
  const double acts = m.n_layer * 2 * B * T * (34 * d + 5 * h * T) + 3 * 4 * B * T * m.vocab;
  return state + acts;
}

std::optional<double> available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return std::nullopt;
}

void check_size(const ModelConfig& m) {
  const double n = params_estimate(m);
  if (!(n <= kMaxParams))
    user_error("{} (n_layer {}, d_model {}, seq_len {}) has about {:.3g} parameters; at most {:.0e} are supported",
               shape_name(m), m.n_layer, m.d_model, m.seq_len, n, kMaxParams);
}

void check_memory(const RunSpec& s, const std::string& device) {
  if (device != "cpu") return;  // a GPU's memory is the trainer's to query, at start
  const auto have = available_memory_bytes();
  const double need = training_memory_bytes(s);
  if (have && need > *have)
    user_error("model, train.micro_batch: training {} at micro_batch {} needs about {}B of memory (weights, gradients, AdamW state, "
               "activations), more than the {}B this machine has available",
               shape_name(s.model), s.micro_batch, si(need), si(*have));
}

void check_data_fits(const RunSpec& s) {
  // A missing file is reported where the path is read; here only what is there is measured.
  const auto sizes = split_sizes(s);
  const bool text = s.data.kind == "text";
  auto require = [&](const std::optional<double>& count, const char* file, const char* what) {
    if (!count || *count >= s.model.seq_len + 1) return;
    const std::string path = text ? s.data.path : (fs::path(s.data.path) / file).string();
    user_error("data '{}': the {} split has {} tokens; need at least seq_len+1 = {} (use a longer corpus{})", path,
               what, *count, s.model.seq_len + 1, text ? " or adjust data.val_fraction" : "");
  };
  require(sizes.train, "train.bin", "train");
  require(sizes.val, "val.bin", "validation");
}

}  // namespace scalelab::trainer
