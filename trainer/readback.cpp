#include "trainer/readback.h"

namespace scalelab::trainer {

void Readback::push(const MetricRow& row, const torch::Tensor& loss, const torch::Tensor& grad_norm) {
  Pending p;
  p.row = row;
  const torch::Tensor both = torch::stack({loss.detach().to(torch::kFloat).reshape({}),
                                           grad_norm.detach().to(torch::kFloat).reshape({})});
  auto opts = torch::TensorOptions().dtype(torch::kFloat).pinned_memory(device_.is_cuda());
  p.host = torch::empty({2}, opts);
  p.host.copy_(both, /*non_blocking=*/device_.is_cuda());
  p.fence.record(device_);
  q_.push_back(std::move(p));
}

MetricRow Readback::take(Pending& p) {
  const float* v = p.host.data_ptr<float>();
  MetricRow r = p.row;
  r.loss = double(v[0]);
  r.grad_norm = double(v[1]);
  return r;
}

std::vector<MetricRow> Readback::ready() {
  std::vector<MetricRow> out;
  while (!q_.empty() && q_.front().fence.ready()) {
    out.push_back(take(q_.front()));
    q_.pop_front();
  }
  return out;
}

std::vector<MetricRow> Readback::drain() {
  std::vector<MetricRow> out;
  for (auto& p : q_) {
    p.fence.wait();
    out.push_back(take(p));
  }
  q_.clear();
  return out;
}

}  // namespace scalelab::trainer
