// Figure 6: emergence. Per task, a discrete metric (exact match, accuracy)
// against model size with binomial intervals, and a continuous metric of the
// same runs (log-probability, loss, edit distance) beside it on the same x
// axis: the comparison of Schaeffer et al. 2023, "Are Emergent Abilities of
// Large Language Models a Mirage?".
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "reports/figures.h"

namespace scalelab::reports {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Discrete metrics are rates of correct answers: exact match, accuracy.
bool discrete(const std::string& metric) {
  auto m = lower(metric);
  return m.find("exact") != std::string::npos || m.find("acc") != std::string::npos;
}

// Which continuous metric goes beside the discrete one: the per-token
// log-probability of the answer first (the smooth quantity the mirage argument
// is about), then any log-probability, loss, edit distance, anything else.
int continuous_rank(const std::string& metric) {
  auto m = lower(metric);
  const bool lp = m.find("logprob") != std::string::npos || m.find("log_prob") != std::string::npos;
  if (lp && (m.find("token") != std::string::npos || m.find("mean") != std::string::npos)) return 0;
  if (lp) return 1;
  if (m.find("loss") != std::string::npos) return 2;
  if (m.find("edit") != std::string::npos) return 3;
  return 4;
}

// Wilson score interval for a proportion: honest at 0 and 1, where the normal one collapses.
std::pair<double, double> wilson(double p, double n) {
  if (!(n > 0)) return {NAN, NAN};
  const double z = 1.959964, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

std::string file_stem(const std::string& task, std::set<std::string>& used) {
  std::string s;
  for (char c : task) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  if (s.empty()) s = "task";
  std::string stem = "emergence_" + s.substr(0, 40);
  for (int k = 2; used.count(stem); ++k) stem = fmt::format("emergence_{}_{}", s.substr(0, 40), k);
  used.insert(stem);
  return stem;
}

}  // namespace

std::vector<Figure> emergence_figures(const std::vector<TaskEvals>& tasks, FigureContext& cx) {
  std::vector<Figure> out;
  std::set<std::string> stems;
  for (auto& t : tasks) {
    std::set<std::string> runs;
    std::map<std::string, int> cont_runs;
    std::vector<std::string> disc;
    for (auto& e : t.final) {
      runs.insert(e.run_id);
      if (discrete(e.metric)) {
        if (std::find(disc.begin(), disc.end(), e.metric) == disc.end()) disc.push_back(e.metric);
      } else {
        ++cont_runs[e.metric];
      }
    }
    if (runs.size() < 2 || disc.empty()) {
      cx.notes.push_back(fmt::format(
          "No emergence figure for task '{}': it needs a discrete metric (exact match or accuracy) on at least 2 "
          "runs; found {} run(s){}.",
          t.task, runs.size(), disc.empty() ? " and no discrete metric" : ""));
      continue;
    }
    std::sort(disc.begin(), disc.end());
    if (disc.size() > 4) disc.resize(4);  // more would be unreadable; the export has them all
    std::string cont;
    for (auto& [m, n] : cont_runs)
      if (n >= 2 && (cont.empty() || continuous_rank(m) < continuous_rank(cont))) cont = m;

    const std::string stem = file_stem(t.task, stems);
    const std::string file = stem + ".dat";
    Blocks b;
    double nlo = INFINITY, nhi = 0, clo = INFINITY, chi = -INFINITY;
    static const char* colors[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7"};
    std::string left = "plot ";
    for (std::size_t k = 0; k < disc.size(); ++k) {
      std::map<double, std::pair<double, int>> mean;  // N -> (sum, count)
      b.block(fmt::format("discrete {}", k), "runs' final value with a 95% Wilson interval; columns: N value lo hi n");
      for (auto& e : t.final)
        if (e.metric == disc[k]) {
          auto [lo, hi] = wilson(e.value, static_cast<double>(e.n));
          b.row({e.N, e.value, lo, hi, static_cast<double>(e.n)});
          mean[e.N].first += e.value, ++mean[e.N].second;
          nlo = std::min(nlo, e.N), nhi = std::max(nhi, e.N);
        }
      b.block(fmt::format("discrete mean {}", k), "mean over runs of the same N (seeds); columns: N mean");
      for (auto& [n, s] : mean) b.row({n, s.first / s.second});
      const std::string col = sq(colors[k]);
      left += (k ? ", \\\n  " : "") + Blocks::ref(file, fmt::format("discrete {}", k)) +
              " using 1:2:3:4 with yerrorbars pt 7 ps 0.9*PS lw 1.0*LW lc rgb " + col + " title " + sq(disc[k]) +
              " noenhanced, \\\n  " + Blocks::ref(file, fmt::format("discrete mean {}", k)) +
              " using 1:2 with lines lw 2*LW lc rgb " + col;
    }
    std::string right;
    if (!cont.empty()) {
      std::map<double, std::pair<double, int>> mean;
      b.block("continuous", fmt::format("runs' final value; columns: N value"));
      for (auto& e : t.final)
        if (e.metric == cont) {
          b.row({e.N, e.value});
          mean[e.N].first += e.value, ++mean[e.N].second;
          clo = std::min(clo, e.value), chi = std::max(chi, e.value);
          nlo = std::min(nlo, e.N), nhi = std::max(nhi, e.N);
        }
      b.block("continuous mean", "mean over runs of the same N; columns: N mean");
      for (auto& [n, s] : mean) b.row({n, s.first / s.second});
    }
    if (!(nhi > nlo * 1.01)) nlo /= 1.5, nhi *= 1.5;
    std::string lp;
    lp += "set xlabel 'parameters N'\nset ylabel 'task score (fraction correct)'\n";
    lp += cx.axis("x", nlo / 1.3, nhi * 1.3);
    lp += "set yrange [-0.02:1.02]\nset ytics 0.2\n";
    lp += cx.key("top left Left reverse") + left + "\n";
    std::vector<std::string> panels{lp};
    std::vector<std::string> titles{t.task + ": discrete metric vs N"};
    if (!cont.empty()) {
      const double pad = std::max(0.06 * (chi - clo), 1e-6);
      std::string rp;
      rp += "set xlabel 'parameters N'\nset ylabel " + sq(cont) + " noenhanced\n";
      rp += cx.axis("x", nlo / 1.3, nhi * 1.3);
      rp += fmt::format("set yrange [{}:{}]\nunset key\n", num(clo - pad), num(chi + pad));
      rp += "plot " + Blocks::ref(file, "continuous") +
            " using 1:2 with points pt 7 ps 0.9*PS lc rgb '#444444', \\\n  " + Blocks::ref(file, "continuous mean") +
            " using 1:2 with lines lw 2*LW lc rgb '#444444'\n";
      panels.push_back(rp);
      titles.push_back(t.task + ": " + cont + " vs N");
    } else {
      cx.notes.push_back(fmt::format(
          "Task '{}' has no continuous metric (log-probability, loss, edit distance) to put beside the discrete one.",
          t.task));
    }
    Figure f;
    f.name = stem;
    f.title = "Emergence: " + t.task;
    f.caption = fmt::format(
        "Task '{}' on {} runs, each at its last evaluated step. Left: {} against model size, with 95% Wilson "
        "intervals from each evaluation's sample count and the mean over seeds. {}",
        t.task, runs.size(), disc.size() == 1 ? disc[0] : "the discrete metrics",
        cont.empty() ? "No continuous metric was recorded."
                     : fmt::format("Right: {} of the same runs, the continuous counterpart: a sharp jump on the left "
                                   "over a smooth trend on the right is the mirage of Schaeffer et al. 2023.",
                                   cont));
    f.data = b.str();
    f.panels = panels;
    f.panel_titles = titles;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace scalelab::reports
