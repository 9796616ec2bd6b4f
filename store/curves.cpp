// The store's bulk reads for reports and exports: loss curves, thinned for
// drawing or whole, and every metric row streamed.
#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "common/error.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace scalelab::store {

namespace {

using sql::Stmt;
using Row = std::array<double, 3>;  // tokens, flops, loss

void append(Curve& c, const Row& r) {
  c.tokens.push_back(r[0]);
  c.flops.push_back(r[1]);
  c.loss.push_back(r[2]);
}

// Gathers one curve's drawable rows into log-spaced bins in tokens. The bins
// start at the first drawable row, which is only known once it is read.
class Binner {
 public:
  Binner(Curve& c, const Downsample& d, double tokens_end) : c_(c), d_(d), tokens_end_(tokens_end) {}

  void add(const Row& r) {
    last_ = r;
    if (d_.bins == 0) return append(c_, r);
    if (std::isnan(lt0_)) {
      lt0_ = std::log10(r[0]);
      width_ = std::max(std::log10(tokens_end_) - lt0_, 1e-6) / d_.bins;
    }
    const long b = static_cast<long>((std::log10(r[0]) - lt0_) / width_);
    if (b != bin_) flush(), bin_ = b;
    rows_.push_back(r);
  }

  void finish() {
    flush();
    if (!c_.tokens.empty() && c_.tokens.back() != last_[0]) append(c_, last_);  // the final loss, exactly
  }

 private:
  void flush() {
    if (rows_.empty()) return;
    Row mid = rows_[rows_.size() / 2];
    if (d_.mean) {
      double sum = 0;
      for (auto& x : rows_) sum += x[2];
      mid[2] = sum / static_cast<double>(rows_.size());
    }
    append(c_, mid);
    rows_.clear();
  }

  Curve& c_;
  const Downsample& d_;
  double tokens_end_;
  double lt0_ = NAN, width_ = 0;
  long bin_ = -1;
  std::vector<Row> rows_;  // the current bin's
  Row last_{NAN, NAN, NAN};
};

// `st` is bound to the run and split, and not yet stepped.
Curve read_curve(Stmt& st, const Run& r, const Downsample& d) {
  Curve c;
  c.run_id = r.id;
  Binner bins(c, d, std::max({r.tokens_done, r.planned_tokens, 1.0}));
  while (st.step()) {
    ++c.rows_read;
    const Row row{st.col_real(0), st.col_real(1), st.col_real(2)};
    if (row[0] > 0 && std::isfinite(row[2])) bins.add(row);
  }
  bins.finish();
  return c;
}

}  // namespace

std::vector<Curve> Store::curves(const std::vector<Run>& runs, const std::string& split,
                                 const Downsample& d) const {
  if (d.bins < 0) throw std::invalid_argument("curves: bins must be 0 (every row) or more");
  return sql::read(db_, [&] {
    // Each curve is one range scan of the primary key (run_id, split, step).
    Stmt st(db_, "SELECT tokens, flops, loss FROM metrics WHERE run_id = ?1 AND split = ?2 ORDER BY step");
    std::vector<Curve> out;
    out.reserve(runs.size());
    for (const auto& r : runs) {
      st.reset();
      st.bind_text(1, r.id).bind_text(2, split);
      out.push_back(read_curve(st, r, d));
    }
    return out;
  });
}

void Store::each_metric(const std::vector<Run>& runs, const std::function<void(const Metric&)>& fn) const {
  bool delivered = false;
  sql::read(db_, [&] {
    // A retry after rows went out would hand them to fn twice.
    if (delivered)
      user_error("{}: the database was locked in the middle of reading its metrics; run the command again", path_);
    Stmt st(db_,
            "SELECT split, step, tokens, flops, loss, lr, grad_norm, wall_s FROM metrics "
            "WHERE run_id = ?1 ORDER BY split, step");
    Metric m;
    for (const auto& r : runs) {
      st.reset();
      st.bind_text(1, r.id);
      m.run_id = r.id;
      while (st.step()) {
        m.split = st.col_text(0);
        m.step = st.col_int(1);
        m.tokens = st.col_real(2);
        m.flops = st.col_real(3);
        m.loss = st.col_real(4);
        m.lr = st.col_real(5);
        m.grad_norm = st.col_real(6);
        m.wall_s = st.col_real(7);
        delivered = true;
        fn(m);
      }
    }
  });
}

}  // namespace scalelab::store
