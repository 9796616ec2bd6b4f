#include "reports/report.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>

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
  TermOptions o;
  o.columns = 90;
  o.rows = 36;
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  print_terminal(*st, o, f);
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
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
