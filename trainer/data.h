#pragma once
// Training corpora and the sampler that draws sequences from them.
//
// Splits: "text" data is one byte-level file whose last val_fraction is held out;
// "tokens" data is nanoGPT's train.bin/val.bin (uint16). A sample is a window of
// seq_len+1 tokens starting at an offset chosen inside one split, so no window
// ever crosses from train into validation.
//
// Sampling is counter-based: the window for (seed, step, micro_step, row) is a
// hash of those numbers. Resuming at step k therefore reproduces exactly the
// batches an uninterrupted run would have drawn, with no sampler state to save.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "trainer/trainer.h"

namespace scalelab::trainer {

class MappedFile;

// One split: `count` tokens of `width` bytes (1: text bytes, 2: uint16 little-endian).
struct Split {
  std::shared_ptr<const MappedFile> file;
  const unsigned char* data = nullptr;
  std::int64_t count = 0;
  int width = 1;
  std::string path;

  std::int64_t token(std::int64_t i) const;
  // Valid window starts are 0 .. count - seq_len - 1.
  std::int64_t windows(int seq_len) const { return count - seq_len; }
};

struct Batch {
  torch::Tensor x, y;  // int64 [rows, seq_len]; y is x shifted by one token
};

class Corpus {
 public:
  // Throws UserError for a missing file, a split shorter than seq_len + 1 tokens,
  // or a token id >= vocab.
  static Corpus open(const DataConfig& cfg, int seq_len, int vocab);

  Batch train_batch(std::uint64_t seed, std::int64_t step, int micro_step, int rows) const;
  // The index-th of `batches` fixed validation batches: windows evenly spaced over
  // the validation split, identical at every evaluation.
  Batch val_batch(int index, int batches, int rows) const;
  // The validation split read once in order: disjoint windows, the k-th starting at
  // k * seq_len (its targets reach one token further). val_sequences() of them fit.
  std::int64_t val_sequences() const { return (val_.count - 1) / seq_len_; }
  // Rows first .. first + rows - 1 of those windows (all < val_sequences()).
  Batch val_sequence_batch(std::int64_t first, int rows) const;

  const Split& train() const { return train_; }
  const Split& val() const { return val_; }
  bool byte_level() const { return byte_level_; }
  int seq_len() const { return seq_len_; }

 private:
  Batch gather(const Split& s, const std::int64_t* starts, int rows) const;

  Split train_, val_;
  int seq_len_ = 0;
  bool byte_level_ = true;
};

// Window start for one sampled row; exposed for tests.
std::int64_t sample_offset(std::uint64_t seed, std::int64_t step, int micro_step, int row,
                           std::int64_t windows);

}  // namespace scalelab::trainer
