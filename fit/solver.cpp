#include "fit/ceres_options.h"
#include "fit/solver.h"

#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

namespace scalelab::fit::detail {

int resolve_threads(int threads, int n) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, std::min(threads, n));
}

void parallel_for(int n, int threads, const std::function<void(int, int)>& fn) {
  if (n <= 0) return;
  threads = resolve_threads(threads, n);
  if (threads == 1) {
    for (int i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  std::atomic<int> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto work = [&](int t) {
    for (int i; (i = next.fetch_add(1)) < n;) {
      try {
        fn(i, t);
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

void quiet_ceres() {
  static std::once_flag once;
  // Failed steps are counted in the convergence record, not logged.
  std::call_once(once, [] { FLAGS_minloglevel = google::GLOG_FATAL; });
}

std::vector<StartResult> multistart(const SolverFactory& factory,
                                    const std::vector<std::vector<double>>& starts, int threads,
                                    int* threads_used) {
  quiet_ceres();
  const int n = static_cast<int>(starts.size());
  const int t = resolve_threads(threads, n);
  if (threads_used) *threads_used = t;
  std::vector<std::unique_ptr<Solver>> solvers(t);
  std::vector<StartResult> out(n);
  parallel_for(n, t, [&](int i, int th) {
    if (!solvers[th]) solvers[th] = factory();
    out[i] = solvers[th]->solve(starts[i]);
  });
  return out;
}

Convergence summarize(const std::vector<StartResult>& rs, const std::vector<std::vector<double>>& starts,
                      const Grid* grid, int max_iterations) {
  Convergence c;
  c.starts = static_cast<int>(rs.size());
  c.max_iterations = max_iterations;
  double best = INFINITY;
  for (int i = 0; i < c.starts; ++i) {
    c.converged += rs[i].converged;
    c.total_iterations += rs[i].iterations;
    if (std::isfinite(rs[i].cost) && rs[i].cost < best) {  // ties: the lower index wins
      best = rs[i].cost;
      c.best_start = i;
    }
  }
  if (c.best_start < 0) return c;
  for (auto& r : rs) c.reached_best += std::isfinite(r.cost) && r.cost <= best + 1e-6 * std::fabs(best);
  c.best_start_x = starts[c.best_start];
  c.first_start_gap = best != 0 ? (rs[0].cost - best) / std::fabs(best) : 0;
  c.best_iterations = rs[c.best_start].iterations;
  if (grid) {
    const auto& x0 = starts[c.best_start];
    const auto& x = rs[c.best_start].x;
    for (std::size_t k = 0; k < grid->axes.size() && k < x0.size(); ++k) {
      auto [lo, hi] = std::minmax_element(grid->axes[k].begin(), grid->axes[k].end());
      if (x0[k] == *lo || x0[k] == *hi) c.best_start_on_grid_boundary = true;
      if (x[k] < *lo || x[k] > *hi) c.outside_grid.push_back(grid->names[k]);
    }
  }
  return c;
}

ceres::Solver::Options lsq_options(const SolveSettings& s) {
  ceres::Solver::Options o;
  o.linear_solver_type = ceres::DENSE_QR;
  o.max_num_iterations = s.max_iterations;
  o.function_tolerance = s.function_tolerance;
  o.gradient_tolerance = s.gradient_tolerance;
  o.parameter_tolerance = s.parameter_tolerance;
  o.logging_type = ceres::SILENT;
  o.minimizer_progress_to_stdout = false;
  o.num_threads = 1;
  return o;
}

namespace {
class LsqSolver final : public Solver {
 public:
  LsqSolver(int dims, const std::vector<double>& weights,
            const std::function<ceres::CostFunction*(int)>& make, const SolveSettings& s)
      : x_(dims), huber_(s.delta), options_(lsq_options(s)) {
    ceres::Problem::Options po;
    po.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
    problem_ = std::make_unique<ceres::Problem>(po);
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] <= 0) continue;
      ceres::LossFunction* loss = &huber_;
      if (weights[i] != 1) {
        scaled_.push_back(std::make_unique<ceres::ScaledLoss>(&huber_, weights[i], ceres::DO_NOT_TAKE_OWNERSHIP));
        loss = scaled_.back().get();
      }
      problem_->AddResidualBlock(make(static_cast<int>(i)), loss, x_.data());
    }
  }
  StartResult solve(std::vector<double> x) override {
    std::copy(x.begin(), x.end(), x_.begin());
    ceres::Solver::Summary summary;
    ceres::Solve(options_, problem_.get(), &summary);
    StartResult r;
    r.x = x_;
    r.cost = summary.IsSolutionUsable() ? summary.final_cost : INFINITY;
    r.converged = summary.termination_type == ceres::CONVERGENCE;
    r.iterations = static_cast<int>(summary.iterations.size());
    return r;
  }

 private:
  std::vector<double> x_;
  ceres::HuberLoss huber_;
  std::vector<std::unique_ptr<ceres::ScaledLoss>> scaled_;
  ceres::Solver::Options options_;
  std::unique_ptr<ceres::Problem> problem_;
};
}  // namespace

std::unique_ptr<Solver> make_lsq_solver(int dims, const std::vector<double>& weights,
                                        const std::function<ceres::CostFunction*(int)>& make,
                                        const SolveSettings& s) {
  return std::make_unique<LsqSolver>(dims, weights, make, s);
}

}  // namespace scalelab::fit::detail
