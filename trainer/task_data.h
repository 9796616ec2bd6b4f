#pragma once
// Capability tasks on the model: batches with targets at the answer positions
// only, and the evaluation behind the `evals` rows (teacher-forced scoring and
// greedy decoding of the answer). Item layout in a row: prompt, then the answer
// without its last token; answer token j is predicted at position prompt_len-1+j.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "tasks/tasks.h"
#include "trainer/model.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

// Task token -> model token: the identity when the task is the training data,
// the symbol's byte when a byte-level text model is evaluated on the task.
std::vector<int> token_map(const tasks::Task& t, bool byte_level);

struct TaskBatch {
  torch::Tensor x;          // int64 [rows, length-1]
  torch::Tensor positions;  // int64 [rows * answer_len], flat indices into x
  torch::Tensor targets;    // int64 [rows * answer_len]
};
TaskBatch task_batch(const tasks::Task& t, const std::vector<tasks::Item>& items, const std::vector<int>& map);

// Scores `items` (at most chunk items per forward pass) and returns the metric
// rows for `label` at `step`. Leaves the model in training mode.
std::vector<EvalRow> evaluate_task(GPT& model, const tasks::Task& t, const std::vector<tasks::Item>& items,
                                   const std::vector<int>& map, const torch::Device& device, std::int64_t step,
                                   const std::string& label);

}  // namespace scalelab::trainer
