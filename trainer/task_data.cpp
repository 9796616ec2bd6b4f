#include "trainer/task_data.h"

#include <algorithm>

#include "trainer/device.h"

namespace scalelab::trainer {

std::vector<int> token_map(const tasks::Task& t, bool byte_level) {
  std::vector<int> map;
  for (int i = 0; i < t.vocab(); ++i)
    map.push_back(byte_level ? static_cast<unsigned char>(t.symbols()[std::size_t(i)][0]) : i);
  return map;
}

TaskBatch task_batch(const tasks::Task& t, const std::vector<tasks::Item>& items, const std::vector<int>& map) {
  const int P = t.prompt_len(), L = t.answer_len(), T = P + L - 1;
  const auto rows = static_cast<std::int64_t>(items.size());
  TaskBatch b;
  b.x = torch::empty({rows, T}, torch::kInt64);
  b.positions = torch::empty({rows * L}, torch::kInt64);
  b.targets = torch::empty({rows * L}, torch::kInt64);
  auto* x = b.x.data_ptr<std::int64_t>();
  auto* pos = b.positions.data_ptr<std::int64_t>();
  auto* tgt = b.targets.data_ptr<std::int64_t>();
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto& it = items[std::size_t(r)];
    std::int64_t* row = x + r * T;
    for (int i = 0; i < P; ++i) row[i] = map[std::size_t(it.prompt[std::size_t(i)])];
    for (int j = 0; j + 1 < L; ++j) row[P + j] = map[std::size_t(it.answer[std::size_t(j)])];
    for (int j = 0; j < L; ++j) {
      pos[r * L + j] = r * T + P - 1 + j;
      tgt[r * L + j] = map[std::size_t(it.answer[std::size_t(j)])];
    }
  }
  return b;
}

namespace {

torch::Tensor on(const torch::Tensor& t, const torch::Device& d) { return d.is_cpu() ? t : t.to(d); }

// Teacher-forced log-probabilities and argmax hits, then greedy decoding, for one chunk.
void predict(GPT& model, const tasks::Task& t, const std::vector<tasks::Item>& items, const std::vector<int>& map,
             const std::vector<int>& inverse, const torch::Device& device, std::vector<tasks::Prediction>& out) {
  const int P = t.prompt_len(), L = t.answer_len();
  const auto n = static_cast<std::int64_t>(items.size());
  TaskBatch b = task_batch(t, items, map);
  torch::Tensor lp, hit;
  {
    AutocastScope autocast(device);
    torch::Tensor logits = model->logits_at(on(b.x, device), on(b.positions, device)).to(torch::kFloat);
    torch::Tensor tg = on(b.targets, device).unsqueeze(1);
    lp = torch::log_softmax(logits, -1).gather(1, tg).squeeze(1).to(torch::kCPU).to(torch::kDouble);
    hit = logits.argmax(-1).eq(tg.squeeze(1)).to(torch::kCPU);
  }
  // Greedy: append the argmax answer token by token (no cache: answers are short).
  torch::Tensor cur = b.x.narrow(1, 0, P).clone();
  torch::Tensor greedy = torch::empty({n, L}, torch::kInt64);
  for (int j = 0; j < L; ++j) {
    const std::int64_t T = cur.size(1);
    torch::Tensor last = torch::arange(n, torch::kInt64) * T + (T - 1);
    torch::Tensor next;
    {
      AutocastScope autocast(device);
      next = model->logits_at(on(cur, device), on(last, device)).argmax(-1).to(torch::kCPU);
    }
    greedy.select(1, j).copy_(next);
    if (j + 1 < L) cur = torch::cat({cur, next.unsqueeze(1)}, 1);
  }
  auto* plp = lp.data_ptr<double>();
  auto* phit = hit.data_ptr<bool>();
  auto* pg = greedy.data_ptr<std::int64_t>();
  for (std::int64_t r = 0; r < n; ++r) {
    tasks::Prediction p;
    for (int j = 0; j < L; ++j) {
      p.logprob.push_back(plp[r * L + j]);
      p.argmax_ok.push_back(phit[r * L + j]);
      const std::int64_t tok = pg[r * L + j];
      p.greedy.push_back(tok >= 0 && tok < std::int64_t(inverse.size()) ? inverse[std::size_t(tok)] : -1);
    }
    out.push_back(std::move(p));
  }
}

}  // namespace

std::vector<EvalRow> evaluate_task(GPT& model, const tasks::Task& t, const std::vector<tasks::Item>& items,
                                   const std::vector<int>& map, const torch::Device& device, std::int64_t step,
                                   const std::string& label) {
  std::vector<int> inverse(std::size_t(*std::max_element(map.begin(), map.end()) + 1), -1);
  for (std::size_t i = 0; i < map.size(); ++i) inverse[std::size_t(map[i])] = static_cast<int>(i);
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<tasks::Prediction> preds;
  const std::size_t chunk = 512;
  for (std::size_t i = 0; i < items.size(); i += chunk) {
    std::vector<tasks::Item> part(items.begin() + std::ptrdiff_t(i),
                                  items.begin() + std::ptrdiff_t(std::min(items.size(), i + chunk)));
    predict(model, t, part, map, inverse, device, preds);
  }
  model->train();
  std::vector<EvalRow> rows;
  for (auto& s : tasks::score(t, items, preds))
    rows.push_back({step, label, s.metric, s.value, s.n > 0 ? s.n : std::int64_t(items.size())});
  return rows;
}

}  // namespace scalelab::trainer
