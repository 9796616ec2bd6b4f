#pragma once
// The coordinate check (Yang et al. 2022, Tensor Programs V, appendix D.1): train
// models of growing width for a few Adam steps at one fixed learning rate on one
// fixed batch, then measure the RMS of every layer's output. Under μP the sizes
// stay put as width grows; under sp some grow with it. Shared by the unit test
// (trainer/mup_coord_test.cpp) and the benchmark (bench/mup_coord.cpp).
#include <string>
#include <vector>

#include "trainer/trainer.h"

namespace scalelab::trainer {

struct CoordCheck {
  std::vector<int> widths{32, 64, 128, 256, 512};
  int base_width = 32;  // mup_base_width under mup
  int n_layer = 2, n_head = 4, seq_len = 32, vocab = 256;
  int batch = 8;  // sequences in the one fixed batch
  std::string text_path;  // bytes of this file at evenly spaced offsets; empty: random tokens
  int steps = 4;  // Adam steps before the measurement
  double lr = 1e-2;
  int seeds = 2;  // RMS averaged over model seeds
};

struct CoordTable {
  std::string parametrization;
  std::vector<int> widths;
  std::vector<std::string> layers;       // embed, h0.attn, h0.mlp, ..., logits
  std::vector<std::vector<double>> rms;  // [layer][width]
  double ratio(std::size_t layer) const;  // max / min across widths
  std::size_t row(const std::string& layer) const;
};

CoordTable coord_check(const CoordCheck& c, const std::string& parametrization);
std::string format_table(const CoordTable& t);  // rows: layer; columns: width, then max/min

}  // namespace scalelab::trainer
