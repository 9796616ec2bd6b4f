#include "reports/report.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "fit/analysis.h"
#include "fit/emergence.h"
#include "fit/forecast.h"
#include "reports/fixture.h"
#include "reports/html.h"
#include "reports/load.h"
#include "reports/png_check.h"
#include "reports/test_util.h"
#include "store/store.h"

using namespace scalelab;
using namespace scalelab::reports;
using scalelab::reports::testing::count;
using scalelab::reports::testing::slurp;
using scalelab::reports::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// One database for the whole file: a synthetic IsoFLOP sweep with every kind of fit.
struct Fitted {
  TempDir dir;
  std::string db = dir.file("fitted.db");
  Fitted() {
    auto st = store::Store::open(db);
    fixture::SweepSpec s;
    s.name = "iso";
    s.budgets = {1e15, 3e15, 1e16, 3e16, 1e17};
    s.sizes = 7;
    s.curve_rows = 60;
    s.evals = true;
    auto made = fixture::make_sweep(*st, s);
    fixture::fit_sweep(*st, made.sweep_id, {1, 2, 3}, 40, true);
  }
};

Fitted& fitted() {
  static Fitted f;
  return f;
}

// What `report --term` prints at this size.
std::string term_text(const store::Store& st, int columns, int rows = 0) {
  TermOptions o;
  o.columns = columns, o.rows = rows;
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  print_terminal(st, o, f);
  std::string text(static_cast<std::size_t>(std::ftell(f)), '\0');
  std::rewind(f);
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  return text;
}

// The rows of block `name` of a figure's data file, one vector per line block.
std::vector<std::vector<std::vector<double>>> series_of(const std::string& dat, const std::string& name) {
  std::vector<std::vector<std::vector<double>>> out{{}};
  std::istringstream in(dat.substr(std::min(dat.size(), dat.find("# [" + name + "]"))));
  std::string line;
  for (std::getline(in, line); std::getline(in, line) && line.rfind("#", 0) != 0;) {
    if (line.empty() && !out.back().empty()) out.emplace_back();
    std::istringstream cells(line);
    std::vector<double> row;
    for (double v; cells >> v;) row.push_back(v);
    if (!row.empty()) out.back().push_back(row);
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

const std::vector<std::string> kFigures = {"loss_vs_tokens", "loss_vs_flops", "isoflop",           "allocation",
                                           "frontier",       "fit_quality",   "emergence_addition"};
const std::vector<std::string> kWide = {"allocation", "fit_quality", "emergence_addition"};

}  // namespace

TEST_CASE("a report of a fitted sweep has every figure, in every format, and a page that shows them") {
  TempDir out;
  auto st = store::Store::open(fitted().db);
  ReportOptions o;
  o.out_dir = out.file("report");
  o.formats = {"svg", "png", "pdf"};
  o.extrapolate_to = 1e22;
  auto r = write_report(*st, o);
  CHECK(r.fits == 4);
  CHECK(r.runs == 35);
  for (auto& n : r.notes) MESSAGE(n);
  for (auto& name : kFigures) {
    CAPTURE(name);
    for (const char* ext : {"svg", "png", "pdf", "gp"})
      CHECK(fs::exists(out.file("report/figures/" + name + "." + ext)));
    const bool wide = std::find(kWide.begin(), kWide.end(), name) != kWide.end();
    auto png = summarize_png(out.file("report/figures/" + name + ".png"));
    CHECK(png.width == (wide ? 2000 : 1200));
    CHECK(png.height == (wide ? 750 : 800));
    CHECK(png.varied > 0.01);
    CHECK(png.colours > 20);
    auto svg = slurp(out.file("report/figures/" + name + ".svg"));
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("</svg>") != std::string::npos);
    CHECK(svg.find("<script") == std::string::npos);  // no gnuplot mouse JS: the page stays script-free
    CHECK(slurp(out.file("report/figures/" + name + ".pdf")).rfind("%PDF", 0) == 0);
  }
  CHECK(r.files.size() == kFigures.size() * 3);
  auto html = slurp(r.index);
  for (auto& name : kFigures) CHECK(html.find("src=\"figures/" + name + ".svg\"") != std::string::npos);
  CHECK(html.find("Approach 3: Chinchilla law") != std::string::npos);
  CHECK(html.find("Approach 2: IsoFLOP parabolas") != std::string::npos);
  CHECK(html.find("Approach 1: training-curve envelope") != std::string::npos);
  CHECK(html.find("Power law L(C)") != std::string::npos);
  CHECK(html.find("Hold-out") != std::string::npos);
  // The forecast table: five budgets, each with an interval, for each allocating fit.
  CHECK(html.find("1.000e25") != std::string::npos);
  CHECK(html.find("1.000e21") != std::string::npos);
  CHECK(count(html, "<h3>") >= 3);
  CHECK(html.find("name = &quot;iso&quot;") != std::string::npos);  // the sweep config, escaped
  // The data behind the figures are next to them and say what they hold.
  auto alloc = slurp(out.file("report/figures/allocation.dat"));
  CHECK(alloc.find("# [chinchilla] Hoffmann et al. 2022") != std::string::npos);
  CHECK(alloc.find("# [band 0]") != std::string::npos);
  auto front = slurp(out.file("report/figures/frontier.dat"));
  CHECK(front.find("# [holdout]") != std::string::npos);
}

TEST_CASE("the emergence figure: fitted sigmoid, threshold band, prediction; a stored emergence fit is used") {
  TempDir dir;
  auto st = store::Store::open(dir.file("e.db"));
  fixture::SweepSpec s;
  s.name = "emerge";
  s.budgets = {1e15, 3e15, 1e16, 3e16, 1e17};
  s.sizes = 5;
  s.span = 100;
  s.curve_rows = 5;
  s.evals = true;
  auto made = fixture::make_sweep(*st, s);
  ReportOptions o;
  o.out_dir = dir.file("r1");
  o.formats = {"svg"};
  auto r = write_report(*st, o);
  auto dat = slurp(dir.file("r1/figures/emergence_addition.dat"));
  CHECK(dat.find("# [sigmoid scale]") != std::string::npos);
  CHECK(dat.find("# [prediction]") != std::string::npos);
  CHECK(dat.find("# [trend]") != std::string::npos);
  auto html = slurp(r.index);
  // The fixture plants exact match = p^4 with p a sigmoid in log N: a transition, explained by the token trend.
  CHECK(html.find("The fitted sigmoid puts the threshold at N =") != std::string::npos);
  CHECK(dat.find("# [threshold band scale]") != std::string::npos);
  CHECK(html.find("Mirage diagnostic: the jump is explained") != std::string::npos);
  CHECK(html.find("computed for this report") != std::string::npos);
  CHECK(r.fits == 0);

  // A stored record (as `scalelab emergence` writes it) is drawn instead, and is not a loss law.
  fit::emergence::Request q;
  q.sweep_id = made.sweep_id, q.sweep_name = "emerge", q.task = "addition";
  q.threshold.resamples = 20;
  auto rec = fit::emergence::analyze(q, st->runs(made.sweep_id), [&](const std::string& id) { return st->evals(id); });
  auto row = fit::to_store(rec);
  row.created_at = store::now_iso8601();
  st->add_fit(row);
  o.out_dir = dir.file("r2");
  auto r2 = write_report(*st, o);
  CHECK(r2.fits == 0);
  CHECK(slurp(r2.index).find("computed for this report") == std::string::npos);
  CHECK(slurp(r2.index).find("The fitted sigmoid puts the threshold at N =") != std::string::npos);
}

TEST_CASE("the fitted law in a figure is the stored fit's law") {
  TempDir out;
  auto st = store::Store::open(fitted().db);
  ReportOptions o;
  o.out_dir = out.file("r");
  o.formats = {"svg"};
  write_report(*st, o);
  // The Approach 3 line in the data file: its first and last points over the data.
  auto dat = slurp(out.file("r/figures/allocation.dat"));
  auto block = dat.substr(dat.find("# [law 0]"));
  block = block.substr(block.find('\n') + 1);
  double c1, n1, d1, c2, n2, d2;
  REQUIRE(std::sscanf(block.c_str(), "%lf %lf %lf", &c1, &n1, &d1) == 3);
  auto last = block.substr(0, block.find("\n\n"));
  last = last.substr(last.rfind('\n', last.size() - 2) + 1);
  REQUIRE(std::sscanf(last.c_str(), "%lf %lf %lf", &c2, &n2, &d2) == 3);
  // Exactly the stored Approach 3 fit's allocation ...
  std::optional<store::Fit> a3;
  for (auto& f : st->fits())
    if (f.approach == "3" && f.law != "power") a3 = f;  // --law auto: whichever L(N, D) law the backtest chose
  REQUIRE(a3);
  auto model = fit::model_of(fit::record_of(*a3));
  CHECK(n1 == doctest::Approx(model.optimal(c1).first).epsilon(1e-6));
  CHECK(d2 == doctest::Approx(model.optimal(c2).second).epsilon(1e-6));
  // ... which recovers the law the sweep was made from.
  const double a = std::log(n2 / n1) / std::log(c2 / c1);
  CHECK(a == doctest::Approx(0.366 / (0.348 + 0.366)).epsilon(0.15));
  CHECK(n2 * d2 * 6 == doctest::Approx(c2).epsilon(0.01));
}

TEST_CASE("a backtested fit: its candidate table, the chosen law, and a prediction band beside the confidence band") {
  TempDir out;
  auto st = store::Store::open(fitted().db);
  ReportOptions o;
  o.out_dir = out.file("r");
  o.formats = {"svg"};
  auto r = write_report(*st, o);
  auto html = slurp(r.index);
  // One row per candidate law x filter, exactly one of them chosen, and why.
  std::optional<store::Fit> a3;
  for (auto& f : st->fits())
    if (f.approach == "3" && f.law != "power") a3 = f;
  REQUIRE(a3);
  const auto rec = fit::record_of(*a3);
  REQUIRE(rec.backtest());
  const auto& bt = *rec.backtest();
  REQUIRE(bt.candidates.size() >= 2);
  REQUIRE(bt.chosen >= 0);
  const auto at = html.find("id=\"backtest-" + std::to_string(a3->id) + "\"");
  REQUIRE(at != std::string::npos);
  const auto table = html.substr(at, html.find("</table>", at) - at);
  CHECK(count(table, "<tr>") + count(table, "<tr class=\"chosen\">") == bt.candidates.size() + 1);
  CHECK(count(table, "<tr class=\"chosen\"><td>chosen</td><td>" + rec.law + "</td>") == 1);
  CHECK(table.find("95% PI coverage") != std::string::npos);
  CHECK(table.find("Chosen: " + rec.law + " with filter") != std::string::npos);
  CHECK(html.find("95% prediction interval (where a new run") != std::string::npos);
  CHECK(html.find("loss 95% prediction interval") != std::string::npos);  // the forecast table's column
  // The power law has none, and says why.
  CHECK(html.find("No backtest: a power law fits the frontier") != std::string::npos);

  // The frontier: a prediction band around the law, wider than its confidence band, with its own legend entry.
  auto dat = slurp(out.file("r/figures/frontier.dat"));
  auto gp = slurp(out.file("r/figures/frontier.gp"));
  const auto pb = dat.find("# [prediction band 0]");
  REQUIRE(pb != std::string::npos);
  CHECK(gp.find("title '95% prediction band'") != std::string::npos);
  CHECK(gp.find("title '95% confidence band (bootstrap)'") != std::string::npos);
  auto first_row = [&](const std::string& name) {
    auto b = dat.substr(dat.find("# [" + name + "]"));
    b = b.substr(b.find('\n') + 1);
    double c = 0, lo = 0, hi = 0;
    REQUIRE(std::sscanf(b.c_str(), "%lf %lf %lf", &c, &lo, &hi) == 3);
    return std::array<double, 3>{c, lo, hi};
  };
  const auto p = first_row("prediction band 0"), c = first_row("band 0");
  CHECK(p[0] == doctest::Approx(c[0]));
  CHECK(p[1] < c[1]);
  CHECK(p[2] > c[2]);
  // It is the forecast's prediction interval at that compute.
  fit::Query q;
  q.compute = p[0];
  for (auto& x : fit::forecast(fit::model_of(rec), fit::draws_of(rec), q))
    if (x.name == "loss") CHECK(x.pred_lo == doctest::Approx(p[1]).epsilon(1e-6));
  auto caption = html.substr(html.find("Loss frontier L(C).</b>"));
  caption = caption.substr(0, caption.find("</figcaption>"));
  CHECK(caption.find("95% prediction band of") != std::string::npos);
  CHECK(caption.find("No prediction band for Power law L(C)") != std::string::npos);
}

TEST_CASE("a parameter the data do not pin down is named in a visible warning, escaped") {
  auto st = store::Store::open(fitted().db);
  auto d = load_report_data(*st, "");
  FitView* a3 = nullptr;
  for (auto& f : d.fits)
    if (f.approach == "3" && f.law != "power") a3 = &f;
  REQUIRE(a3);
  auto* law = std::get_if<fit::LawPart>(&a3->rec.part);
  REQUIRE(law);
  REQUIRE(law->identification);
  auto& id = *law->identification;
  id.params.erase(std::remove_if(id.params.begin(), id.params.end(), [](auto& p) { return p.name == "B"; }),
                  id.params.end());
  id.params.push_back({"B", false, "interval spans 3 decades <b>"});
  id.not_identified = {"B"};
  std::vector<Figure> figures;
  std::vector<std::string> formats{"svg"}, notes;
  auto html = html_page({d, figures, formats, notes, "now"});
  CHECK(html.find("<p class=\"warn ident\">Warning: Not identified by these data: B (interval spans 3 decades "
                  "&lt;b&gt;)") != std::string::npos);
  CHECK(html.find("<td>NO: interval spans 3 decades &lt;b&gt;</td>") != std::string::npos);
  CHECK(html.find("<td>yes</td>") != std::string::npos);  // the others are judged identified
  CHECK(html.find("decades <b>") == std::string::npos);
}

TEST_CASE("an Approach 3 fit without a backtest says why, and draws no prediction band") {
  TempDir dir;
  auto st = store::Store::open(dir.file("two.db"));
  fixture::SweepSpec s;
  s.name = "two";
  s.budgets = {1e15, 1e16};  // a backtest needs 3 budgets: 2 to fit, 1 to predict
  s.sizes = 7;
  s.curve_rows = 10;
  auto made = fixture::make_sweep(*st, s);
  fixture::fit_sweep(*st, made.sweep_id, {3}, 20);
  ReportOptions o;
  o.out_dir = dir.file("r");
  o.formats = {"svg"};
  auto r = write_report(*st, o);
  auto html = slurp(r.index);
  CHECK(html.find("No backtest: 2 compute budgets: a backtest needs at least 3") != std::string::npos);
  CHECK(html.find("No prediction interval:") != std::string::npos);
  CHECK(html.find("<tr class=\"chosen\">") == std::string::npos);
  CHECK(html.find("No prediction band for Approach 3") != std::string::npos);
  CHECK(slurp(dir.file("r/figures/frontier.dat")).find("[prediction band") == std::string::npos);
  CHECK(slurp(dir.file("r/figures/frontier.gp")).find("prediction band") == std::string::npos);
}

TEST_CASE("too few runs: the report says so and draws no law") {
  TempDir dir;
  auto st = store::Store::open(dir.file("few.db"));
  fixture::SweepSpec s;
  s.name = "few";
  s.budgets = {1e15};
  s.sizes = 3;
  s.curve_rows = 20;
  fixture::make_sweep(*st, s);
  ReportOptions o;
  o.out_dir = dir.file("r");
  o.formats = {"png"};
  auto r = write_report(*st, o);
  CHECK(fs::exists(dir.file("r/figures/loss_vs_tokens.png")));
  CHECK(fs::exists(dir.file("r/figures/isoflop.png")));
  CHECK_FALSE(fs::exists(dir.file("r/figures/allocation.png")));
  CHECK_FALSE(fs::exists(dir.file("r/figures/fit_quality.png")));
  auto html = slurp(r.index);
  CHECK(html.find("There are 3 finished run(s): too few to fit") != std::string::npos);
  CHECK(html.find("scalelab fit few --approach 1,2,3") != std::string::npos);
  CHECK(html.find("No forecast") != std::string::npos);
  // The frontier figure shows the runs but no law.
  CHECK(slurp(dir.file("r/figures/frontier.gp")).find("law 0") == std::string::npos);
}

TEST_CASE("an empty database is an error, not an empty report") {
  TempDir dir;
  auto st = store::Store::open(dir.file("empty.db"));
  ReportOptions o;
  o.out_dir = dir.file("r");
  CHECK_THROWS_AS(write_report(*st, o), UserError);
  o.formats = {};
  CHECK_THROWS_AS(write_report(*st, o), UserError);
}

TEST_CASE("the terminal view prints the fit tables and plots at the requested width") {
  auto st = store::Store::open(fitted().db);
  const std::string text = term_text(*st, 90, 36);
  CHECK(text.find("sweep 'iso'") != std::string::npos);
  CHECK(text.find("parameter") != std::string::npos);  // render_fit's table, as `scalelab fit` prints it
  CHECK(text.find("objective") != std::string::npos);
  CHECK(text.find("forecast, compute-optimal") != std::string::npos);
  // The backtest table in text, its chosen row starred, as `scalelab fit` prints it.
  CHECK(text.find("backtest: 2 rolling-origin folds") != std::string::npos);
  CHECK(text.find("95% PI coverage") != std::string::npos);
  CHECK(text.find("\n*  ") != std::string::npos);
  CHECK(text.find("chosen: ") != std::string::npos);
  CHECK(text.find("prediction interval: 95%") != std::string::npos);
  CHECK(text.find("IsoFLOP profiles") != std::string::npos);
  CHECK(text.find("compute-optimal N_opt(C)") != std::string::npos);
  std::size_t widest = 0, start = 0, plot_lines = 0;
  for (auto at = text.find('\n'); at != std::string::npos; start = at + 1, at = text.find('\n', start)) {
    auto line = text.substr(start, at - start);
    if (line.find('|') != std::string::npos && line.find("|||") == std::string::npos)  // a plot's left border
      ++plot_lines, widest = std::max(widest, line.size());
  }
  CHECK(plot_lines > 50);
  CHECK(widest <= 90);
  CHECK(widest >= 80);
}

TEST_CASE("a ladder's loss curves: each trunk whole and thick, each branch from its fork on, fork and end marked") {
  TempDir dir;
  auto st = store::Store::open(dir.file("ladder.db"));
  const fixture::LadderSpec spec;
  const auto made = fixture::make_ladder(*st, spec);
  REQUIRE(made.fork_steps == std::vector<std::int64_t>{1600, 3200});
  ReportOptions o;
  o.out_dir = dir.file("r"), o.formats = {"svg"};
  auto r = write_report(*st, o);
  const auto dat = slurp(dir.file("r/figures/loss_curves.dat"));
  CHECK(dat.find("# [curves]") == std::string::npos);  // every run is the ladder's
  const auto trunk_rows = st->metrics(made.trunk_id, "val");
  const auto trunks = series_of(dat, "trunks");
  REQUIRE((trunks.size() == 1 && trunks[0].size() == trunk_rows.size()));  // 80 rows: all drawn as they are
  const auto branches = series_of(dat, "branches"), forks = series_of(dat, "forks"), ends = series_of(dat, "ends");
  REQUIRE(branches.size() == 2);
  REQUIRE((forks.size() == 1 && forks[0].size() == 2 && ends.size() == 1 && ends[0].size() == 2));
  for (std::size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    const auto& b = branches[i];
    const auto rows = st->metrics(made.branch_ids[i], "val");
    REQUIRE(rows.front().step == spec.every);  // the store holds the whole curve, the trunk's rows copied
    const std::int64_t fork = made.fork_steps[i];
    const double fork_tokens = spec.tokens_per_step * static_cast<double>(fork);
    const double trunk_at_fork = trunk_rows.at(static_cast<std::size_t>(fork / spec.every) - 1).loss;
    // Drawn from the fork, which sits on the trunk's line, to the branch's last row.
    CHECK(b.front()[0] == doctest::Approx(fork_tokens));
    CHECK(b.front()[2] == doctest::Approx(trunk_at_fork));
    CHECK(b.size() == 1 + static_cast<std::size_t>((rows.back().step - fork) / spec.every));
    for (std::size_t k = 1; k < b.size(); ++k) CHECK(b[k][0] > fork_tokens);
    CHECK(b.back()[2] == doctest::Approx(rows.back().loss));
    CHECK(forks[0][i] == b.front());
    // The end marker is the point a fit uses.
    const auto run = st->run(made.branch_ids[i]);
    const std::vector<double> end{run->tokens_done, run->tokens_done * run->flops_per_token, *run->final_val_loss};
    for (std::size_t k = 0; k < 3; ++k) CHECK(ends[0][i][k] == doctest::Approx(end[k]));
  }
  const auto gp = slurp(dir.file("r/figures/loss_vs_tokens.gp"));
  CHECK(gp.find("index '[trunks]' using 1:3:4 with lines lw 3*LW lc palette") != std::string::npos);
  CHECK(gp.find("index '[branches]' using 1:3:4 with lines lw 1.1*LW lc palette") != std::string::npos);
  CHECK(gp.find("title 'trunk (constant LR)'") != std::string::npos);
  CHECK(gp.find("title 'final loss (a fit''s point)'") != std::string::npos);
  CHECK(slurp(dir.file("r/figures/loss_vs_flops.gp")).find("index '[forks]' using 2:3:4") != std::string::npos);

  const auto html = slurp(r.index);
  CHECK(html.find("Thick lines are the 1 ladder trunk(s)") != std::string::npos);
  CHECK(html.find("one of its 2 cooldown branches") != std::string::npos);
  // The run table: each branch names its trunk and fork step; the trunk has neither.
  CHECK(html.find("<th>parent</th><th class=\"num\">fork step</th>") != std::string::npos);
  const std::string trunk = made.trunk_id.substr(0, 12);
  CHECK(count(html, "<td>" + trunk + "</td><td class=\"num\">1600</td>") == 1);
  CHECK(count(html, "<td>" + trunk + "</td><td class=\"num\">3200</td>") == 1);
  CHECK(count(html, "<td>–</td><td class=\"num\">–</td>") == 1);
  const auto text = term_text(*st, 160);
  CHECK(text.find("fork step") != std::string::npos);
  CHECK(count(text, trunk) == 3);  // its own row and its branches' parent
}

TEST_CASE("a branch whose trunk is outside the scope is drawn whole: it equals the independent run") {
  TempDir dir;
  auto st = store::Store::open(dir.file("shared.db"));
  const auto made = fixture::make_ladder(*st, {});
  st->register_sweep({"9a1d", "grid", "name = \"grid\"\n", store::now_iso8601()}, {*st->run(made.branch_ids[0])});
  ReportOptions o;
  o.sweep = "grid", o.out_dir = dir.file("r"), o.formats = {"svg"};
  write_report(*st, o);
  const auto dat = slurp(dir.file("r/figures/loss_curves.dat"));
  CHECK(dat.find("# [branches]") == std::string::npos);
  const auto curves = series_of(dat, "curves");
  REQUIRE(curves.size() == 1);
  CHECK(curves[0].front()[0] == doctest::Approx(40 * 1000.0));  // from step 0's first row, the trunk's copy
}

TEST_CASE("without a ladder, the loss-curve data, plot and run tables are as they were before ladders") {
  TempDir out;
  auto st = store::Store::open(fitted().db);
  ReportOptions o;
  o.out_dir = out.file("r"), o.formats = {"svg"};
  auto r = write_report(*st, o);
  // The data file byte for byte as the figure wrote it before ladders (tests/e2e/store_release_db.sh has golden ones).
  const auto d = load_report_data(*st, "");
  const auto c = load_curves(*st, d.runs, o.curve_points);
  std::string want = "# [curves] val loss of " + std::to_string(c.runs.size()) + " runs, " +
                     std::to_string(c.points_kept) + " of " + std::to_string(c.rows_read) +
                     " rows (a row per log-spaced bin; training loss: the bin's mean); columns: tokens flops loss N; "
                     "one run per line block\n";
  for (auto& x : c.runs) {
    want += "\n";
    for (std::size_t i = 0; i < x.tokens.size(); ++i)
      want += num(x.tokens[i]) + " " + num(x.flops[i]) + " " + num(x.loss[i]) + " " + num(x.N) + "\n";
  }
  CHECK(slurp(out.file("r/figures/loss_curves.dat")) == want);
  const auto gp = slurp(out.file("r/figures/loss_vs_tokens.gp"));
  CHECK(gp.find("plot 'loss_curves.dat' index '[curves]' using 1:3:4 with lines lw 1.3*LW lc palette\n") !=
        std::string::npos);
  CHECK(gp.find("keyentry") == std::string::npos);
  const auto html = slurp(r.index);
  CHECK(html.find("<th class=\"num\">val loss</th><th class=\"num\">train loss</th></tr>") != std::string::npos);
  CHECK(html.find("<th>parent</th>") == std::string::npos);

  // Epochs and standard errors: columns in the page; in the terminal only beside a ladder's, so the 0.1.0
  // database's terminal view stays what that release printed.
  TempDir dir;
  auto few = store::Store::open(dir.file("few.db"));
  fixture::SweepSpec s;
  s.name = "few", s.budgets = {1e15}, s.sizes = 3, s.curve_rows = 10;
  fixture::make_sweep(*few, s);
  for (auto run : few->runs("")) {
    run.epochs = 0.5, run.final_val_loss_se = 0.0123;
    few->finish_run(run);
  }
  o.out_dir = dir.file("r");
  const auto page = slurp(write_report(*few, o).index);
  CHECK(page.find("<th class=\"num\">val loss SE</th>") != std::string::npos);
  CHECK(page.find("<th class=\"num\">epochs</th>") != std::string::npos);
  CHECK(count(page, "<td class=\"num\">0.0123</td>") == 3);
  const auto text = term_text(*few, 160);
  CHECK(text.find("val loss SE") == std::string::npos);
  CHECK(text.find("epochs") == std::string::npos);
  CHECK(text.find("train loss") != std::string::npos);
}
