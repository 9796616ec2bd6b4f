// Figure 1: loss curves, one line per run coloured by model size. A cooldown
// ladder's trunks are drawn thick and its branches only from their fork on: a
// branch's rows before its fork are copies of its trunk's, and drawn once per
// branch they would hide the trunk under a bundle of identical lines.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "common/table.h"
#include "reports/figures.h"

namespace scalelab::reports {

namespace {

struct Branch {
  const DrawnCurve* curve;
  const store::Run* run;
  const DrawnCurve* trunk;
  double fork_tokens;
};

// How each drawn curve takes part in a ladder; every curve is in exactly one list.
struct Ladder {
  std::vector<const DrawnCurve*> plain, trunks;
  std::vector<Branch> branches;
  bool any() const { return !trunks.empty() || !branches.empty(); }
};

// The trainer logs tokens = step x tokens per step, and a branch has its trunk's batch.
double tokens_per_step(const store::Run& r) {
  return r.steps_done > 0 && r.tokens_done > 0 ? r.tokens_done / static_cast<double>(r.steps_done) : 0;
}

// A trunk is a run in scope that a run in scope forked from. A run is drawn as
// a branch only when its trunk's curve is drawn too (the part cut from the
// branch is the trunk's line); otherwise, e.g. in a grid sweep that shares the
// branch's id, it is drawn whole: it equals the independent run.
Ladder classify(const Curves& c, const std::vector<store::Run>& runs) {
  std::map<std::string, const store::Run*> run_of;
  for (auto& r : runs) run_of.emplace(r.id, &r);
  std::map<std::string, const DrawnCurve*> curve_of;
  for (auto& x : c.runs) curve_of.emplace(x.run_id, &x);
  std::set<std::string> trunk_ids, branch_ids;
  for (auto& r : runs)
    if (!r.parent_id.empty() && r.fork_step && run_of.count(r.parent_id)) trunk_ids.insert(r.parent_id);
  Ladder l;
  for (auto& x : c.runs) {
    auto r = run_of.find(x.run_id);
    if (r == run_of.end() || !trunk_ids.count(r->second->parent_id) || !r->second->fork_step) continue;
    auto tc = curve_of.find(r->second->parent_id);
    double tps = tokens_per_step(*r->second);
    if (!(tps > 0)) tps = tokens_per_step(*run_of.at(r->second->parent_id));
    if (tc == curve_of.end() || !(tps > 0)) continue;  // no trunk line, or the fork has no place on the axis
    l.branches.push_back({&x, r->second, tc->second, static_cast<double>(*r->second->fork_step) * tps});
    branch_ids.insert(x.run_id);
  }
  for (auto& x : c.runs)
    if (!branch_ids.count(x.run_id)) (trunk_ids.count(x.run_id) ? l.trunks : l.plain).push_back(&x);
  return l;
}

// ys at x, interpolated linearly in log x and log y: on log-log axes, the point
// lies on the drawn segment. Outside the curve, its nearest end.
double loglog_at(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  auto it = std::lower_bound(xs.begin(), xs.end(), x);
  if (it == xs.begin()) return ys.front();
  if (it == xs.end()) return ys.back();
  const std::size_t i = static_cast<std::size_t>(it - xs.begin());
  const double w = std::log(x / xs[i - 1]) / std::log(xs[i] / xs[i - 1]);
  return ys[i - 1] * std::pow(ys[i] / ys[i - 1], w);
}

struct Point {
  double tokens, flops, loss, N;
};

// Where the branch leaves its trunk: on the trunk's drawn line.
Point fork_point(const Branch& b) {
  const auto& t = *b.trunk;
  return {b.fork_tokens, loglog_at(t.tokens, t.flops, b.fork_tokens), loglog_at(t.tokens, t.loss, b.fork_tokens),
          b.curve->N};
}

// The branch from its fork on: the fork point, then its own rows after it.
DrawnCurve after_fork(const Branch& b) {
  const Point f = fork_point(b);
  DrawnCurve out{b.curve->run_id, b.curve->N, {f.tokens}, {f.flops}, {f.loss}};
  const auto& c = *b.curve;
  for (std::size_t i = 0; i < c.tokens.size(); ++i)
    if (c.tokens[i] > b.fork_tokens * (1 + 1e-9))
      out.tokens.push_back(c.tokens[i]), out.flops.push_back(c.flops[i]), out.loss.push_back(c.loss[i]);
  return out;
}

// A finished branch's point in every fit: fit::dataset_from_runs's loss at D = tokens_done.
std::optional<Point> end_point(const Branch& b) {
  const store::Run& r = *b.run;
  const auto L = r.final_val_loss ? r.final_val_loss : r.final_train_loss;
  if (r.status != "done" || !L || !(r.tokens_done > 0)) return std::nullopt;
  return Point{r.tokens_done, r.tokens_done * r.flops_per_token, *L, b.curve->N};
}

struct Extents {
  LogExtent tokens, flops, loss, N;
  void add(double t, double f, double l) { tokens.add(t), flops.add(f), loss.add(l); }
};

void line_block(Blocks& b, const std::string& name, const std::string& what, const std::vector<const DrawnCurve*>& cs,
                Extents& e) {
  b.block(name, what);
  for (auto* r : cs) {
    b.gap();
    for (std::size_t i = 0; i < r->tokens.size(); ++i) {
      b.row({r->tokens[i], r->flops[i], r->loss[i], r->N});
      e.add(r->tokens[i], r->flops[i], r->loss[i]);
    }
    e.N.add(r->N);
  }
}

void point_block(Blocks& b, const std::string& name, const std::string& what, const std::vector<Point>& ps,
                 Extents& e) {
  b.block(name, what);
  for (auto& p : ps) b.row({p.tokens, p.flops, p.loss, p.N}), e.add(p.tokens, p.flops, p.loss);
}

std::string curves_about(const Curves& c, const Ladder& l) {
  std::string s = fmt::format(
      "{} loss of {} runs, {} of {} rows (a row per log-spaced bin; training loss: the bin's mean); "
      "columns: tokens flops loss N; one run per line block",
      c.split, c.runs.size(), c.points_kept, c.rows_read);
  if (l.any()) s += fmt::format("; here the {} runs outside a ladder, its trunks and branches below", l.plain.size());
  return s;
}

// What the plot draws, block by block: a ladder's blocks exist only in a ladder's data.
struct Drawn {
  std::string data;
  Extents e;
  bool plain = false, trunks = false, branches = false, ends = false;
};

// A ladder's blocks: trunks whole, branches from their fork, their forks and end points.
void ladder_blocks(const Ladder& l, Blocks& b, Drawn& d) {
  d.trunks = !l.trunks.empty();
  if (d.trunks)
    line_block(b, "trunks", "ladder trunks (constant learning rate after warmup), whole; columns: tokens flops loss N",
               l.trunks, d.e);
  std::vector<DrawnCurve> parts;
  std::vector<const DrawnCurve*> lines;
  std::vector<Point> forks, ends;
  for (auto& br : l.branches) {
    parts.push_back(after_fork(br));
    forks.push_back(fork_point(br));
    if (auto p = end_point(br)) ends.push_back(*p);
  }
  for (auto& p : parts) lines.push_back(&p);
  d.branches = !parts.empty();
  d.ends = !ends.empty();
  if (d.branches) {
    line_block(b, "branches",
               "cooldown branches from their fork on (before it their rows are the trunk's): the fork point on the "
               "trunk's line, then the branch's rows; columns: tokens flops loss N",
               lines, d.e);
    point_block(b, "forks", "where each branch forks from its trunk; columns: tokens flops loss N", forks, d.e);
  }
  if (d.ends)
    point_block(b, "ends",
                "each finished branch's final loss at its tokens, the point a fit uses; columns: tokens flops loss N",
                ends, d.e);
}

Drawn curve_data(const Curves& c, const Ladder& l) {
  Drawn d;
  Blocks b;
  // Without a ladder, exactly the data file every report wrote before ladders existed.
  if (!l.any() || !l.plain.empty()) line_block(b, "curves", curves_about(c, l), l.plain, d.e);
  d.plain = !l.plain.empty();
  if (l.any()) ladder_blocks(l, b, d);
  d.data = b.str();
  return d;
}

std::string plot_items(const Drawn& d, const std::string& file, int col) {
  std::vector<std::string> items;
  auto add = [&](const char* block, const std::string& style) {
    items.push_back(fmt::format("{} using {}:3:4 {}", Blocks::ref(file, block), col, style));
  };
  if (d.plain) add("curves", "with lines lw 1.3*LW lc palette");
  if (d.trunks) add("trunks", "with lines lw 3*LW lc palette");
  if (d.branches) add("branches", "with lines lw 1.1*LW lc palette");
  if (d.branches) add("forks", "with points pt 6 ps 1.2*PS lw 1.2*LW lc palette");
  if (d.ends) add("ends", "with points pt 7 ps 1.1*PS lc palette");
  std::string s = "plot ";
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", \\\n  " : "") + items[i];
  return s + "\n";
}

// The legend strip of a ladder's figures: what the line weights and markers mean (colour is N).
std::vector<std::string> ladder_legend(const Drawn& d) {
  const std::string grey = " lc rgb '#555555' title ";
  std::vector<std::string> out;
  if (d.trunks) out.push_back("keyentry with lines lw 3*LW" + grey + sq("trunk (constant LR)"));
  if (d.branches) out.push_back("keyentry with lines lw 1.1*LW" + grey + sq("cooldown branch"));
  if (d.branches) out.push_back("keyentry with points pt 6 ps 1.2*PS lw 1.2*LW" + grey + sq("fork"));
  if (d.ends) out.push_back("keyentry with points pt 7 ps 1.1*PS" + grey + sq("final loss (a fit's point)"));
  return out;
}

std::string ladder_caption(const Ladder& l) {
  if (!l.any()) return "";
  std::string s = fmt::format(
      " Thick lines are the {} ladder trunk(s): constant learning rate after warmup, one per size.", l.trunks.size());
  if (l.branches.empty()) return s + " No cooldown branch has forked from them yet.";
  return s + fmt::format(
                 " Each thin line of a trunk's colour is one of its {} cooldown branches, drawn from its fork (open "
                 "circle) to its final loss (filled dot), the point a fit uses; before the fork a branch's curve is "
                 "its trunk's.",
                 l.branches.size());
}

}  // namespace

std::vector<Figure> loss_curve_figures(const Curves& c, FigureContext& cx) {
  if (c.runs.empty()) {
    cx.notes.push_back("No loss curves: no run in scope has written metric rows yet.");
    return {};
  }
  const Ladder ladder = classify(c, cx.data.runs);
  const Drawn d = curve_data(c, ladder);
  const Extents& e = d.e;
  double nlo = e.N.lo, nhi = e.N.hi;
  if (!(nhi > 0)) nlo = 1, nhi = 10;
  if (nhi <= nlo * 1.01) nlo /= 1.5, nhi *= 1.5;
  const std::string split = c.split == "val" ? "validation" : "training";
  const std::string file = "loss_curves.dat";
  auto panel = [&](const std::string& xlabel, const LogExtent& x, int col) {
    std::string p;
    p += "set xlabel " + sq(xlabel) + "\n";
    p += "set ylabel " + sq(split + " loss (nats/token)") + "\n";
    p += cx.axis("x", x.lo, x.hi * 1.05);
    p += cx.axis("y", e.loss.lo * 0.98, e.loss.hi * 1.02);
    p += cx.colour_scale("parameters N", nlo, nhi);
    return p + plot_items(d, file, col);
  };
  const std::string about = fmt::format(
      "{} runs, {} loss. Curves are downsampled for drawing only ({} of {} rows drawn); fits use every row.{}",
      c.runs.size(), split, c.points_kept, c.rows_read, ladder_caption(ladder));
  Figure tokens;
  tokens.name = "loss_vs_tokens";
  tokens.title = "Loss curves against tokens";
  tokens.caption = fmt::format("{} loss against training tokens, log-log, one line per run coloured by N. {}",
                               split == "validation" ? "Validation" : "Training", about);
  tokens.data_file = file;
  tokens.data = d.data;
  tokens.panels = {panel("training tokens D", e.tokens, 1)};
  tokens.panel_titles = {split + " loss vs tokens"};
  if (ladder.any() && !cx.term) tokens.legend = ladder_legend(d);
  std::vector<Figure> out{tokens};
  if (e.flops.hi > 0) {
    Figure flops;
    flops.name = "loss_vs_flops";
    flops.title = "Loss curves against compute";
    flops.caption = fmt::format(
        "{} loss against training compute (tokens x each run's FLOPs per token, as its trainer counted them), "
        "log-log, coloured by N. Where the lines cross, a larger model starts to pay for itself. {}",
        split == "validation" ? "Validation" : "Training", about);
    flops.data_file = file;  // the same data: written once
    flops.data = tokens.data;
    flops.panels = {panel("training compute C (FLOPs)", e.flops, 2)};
    flops.panel_titles = {split + " loss vs FLOPs"};
    flops.legend = tokens.legend;
    out.push_back(flops);
  }
  if (c.missing > 0)
    cx.notes.push_back(
        fmt::format("{} run(s) have no {} loss rows and are not drawn in the loss curves.", c.missing, c.split));
  return out;
}

}  // namespace scalelab::reports
