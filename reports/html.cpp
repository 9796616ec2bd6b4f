// index.html. Every string that came from the database or a config (sweep and
// run names, configs, metric and task names, fit notes) goes through
// html_escape; the page has no script, so nothing in it can run.
#include "reports/html.h"

#include <fmt/format.h>

#include <algorithm>

#include "reports/figures.h"
#include "reports/summary.h"

namespace scalelab::reports {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

constexpr const char* kCss = R"(
:root { --ink: #1d1d1f; --muted: #6e6e73; --rule: #e3e3e6; --accent: #0072b2; --warn: #8a4b00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif;
       color: var(--ink); background: #fff; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 16px; margin: 26px 0 8px; }
p.meta, .muted { color: var(--muted); }
nav { margin: 12px 0 0; font-size: 14px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
pre { background: #f6f6f8; border: 1px solid var(--rule); padding: 12px; overflow: auto; max-height: 480px; }
.notes { background: #fff8ec; border: 1px solid #f0d9b5; padding: 10px 16px; }
.notes li { color: var(--warn); margin: 4px 0; }
figure { margin: 22px 0 34px; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--rule); }
figure img.single { max-width: 900px; }
figcaption { margin-top: 8px; font-size: 14px; max-width: 980px; }
figcaption .files { color: var(--muted); font-size: 13px; }
figcaption a { color: var(--accent); }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13.5px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: left; white-space: nowrap; }
th { background: #f6f6f8; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow: auto; max-height: 640px; border: 1px solid var(--rule); }
.scroll table { margin: 0; }
.status-done { color: #1b7f3b; } .status-failed, .status-diverged { color: #b3261e; }
.warn { color: var(--warn); }
p.warn.ident { background: #fff8ec; border-left: 4px solid #e69f00; padding: 6px 10px; font-weight: 600; }
tr.chosen td { background: #eaf5ee; font-weight: 600; }
)";

std::string table_html(const Rows& r, const std::string& cls = "") {
  if (r.rows.empty()) return "";
  std::vector<bool> num;
  std::string s = cls.empty() ? "<table>\n<thead><tr>" : "<div class=\"" + cls + "\"><table>\n<thead><tr>";
  for (auto& h : r.headers) {
    const bool right = !h.empty() && h[0] == '>';
    num.push_back(right);
    s += fmt::format("<th{}>{}</th>", right ? " class=\"num\"" : "", html_escape(right ? h.substr(1) : h));
  }
  s += "</tr></thead>\n<tbody>\n";
  for (std::size_t k = 0; k < r.rows.size(); ++k) {
    const auto& row = r.rows[k];
    s += static_cast<int>(k) == r.marked ? "<tr class=\"chosen\">" : "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string cell_class = i < num.size() && num[i] ? "num" : "";
      if (i < r.headers.size() && r.headers[i] == "status") cell_class = "status-" + html_escape(row[i]);
      s += fmt::format("<td{}>{}</td>", cell_class.empty() ? "" : " class=\"" + cell_class + "\"",
                       html_escape(row[i]));
    }
    s += "</tr>\n";
  }
  s += "</tbody></table>";
  if (!cls.empty()) s += "</div>";
  return s + "\n";
}

std::string figure_html(const Figure& f, int k, const std::vector<std::string>& formats) {
  // The page shows SVG (sharp at any zoom) when it was rendered, else PNG.
  std::string shown;
  for (const char* x : {"svg", "png"})
    if (shown.empty() && std::find(formats.begin(), formats.end(), x) != formats.end()) shown = x;
  std::string s = fmt::format("<figure id=\"fig-{}\">\n", html_escape(f.name));
  if (!shown.empty())
    s += fmt::format("<img class=\"{}\" src=\"figures/{}.{}\" alt=\"{}\">\n", f.panels.size() > 1 ? "wide" : "single",
                     html_escape(f.name), shown, html_escape(f.title));
  s += fmt::format("<figcaption><b>Figure {}. {}.</b> {}<br><span class=\"files\">Files:", k, html_escape(f.title),
                   html_escape(f.caption));
  for (auto& x : formats)
    s += fmt::format(" <a href=\"figures/{0}.{1}\">{1}</a>", html_escape(f.name), x);
  s += fmt::format(" · <a href=\"figures/{0}.gp\">gnuplot script</a> · <a href=\"figures/{1}\">data</a>",
                   html_escape(f.name), html_escape(f.dat()));
  s += " (re-render: <code>cd figures &amp;&amp; gnuplot " + html_escape(f.name) + ".gp</code>)</span>";
  return s + "</figcaption>\n</figure>\n";
}

// How the law was chosen and how far its forecasts can be trusted: the
// backtest's candidates and the prediction interval it calibrated.
std::string backtest_html(const FitView& f) {
  const std::string text = backtest_text(f);
  if (text.empty()) return "";
  std::string s = "<p id=\"backtest-" + std::to_string(f.id) + "\">" + html_escape(text) + "</p>\n";
  s += table_html(backtest_rows(f));
  if (auto pi = interval_text(f); !pi.empty()) s += "<p>" + html_escape(pi) + "</p>\n";
  return s;
}

std::string fit_html(const FitView& f) {
  std::string s = fmt::format("<h3 id=\"fit-{}\">{} <span class=\"muted\">(fit {})</span></h3>\n", f.id,
                              html_escape(f.label), f.id);
  s += "<p>" + html_escape(fit_overview(f)) + "</p>\n";
  if (auto h = holdout_text(f); !h.empty()) s += "<p>" + html_escape(h) + "</p>\n";
  if (auto id = identification_text(f); !id.empty())
    s += "<p class=\"warn ident\">Warning: " + html_escape(id) + "</p>\n";
  s += table_html(param_rows(f));
  s += table_html(derived_rows(f));
  s += backtest_html(f);
  for (auto& w : fit_warnings(f)) s += "<p class=\"warn\">Warning: " + html_escape(w) + "</p>\n";
  return s;
}

// What the run table's optional columns mean, for those it has.
std::string run_columns_text(const Rows& runs) {
  const auto& hs = runs.headers;
  auto has = [&](const char* h) { return std::find(hs.begin(), hs.end(), h) != hs.end(); };
  std::string s;
  if (has(">val loss SE")) s += " Val loss SE: the final validation loss's standard error over its held-out sequences.";
  if (has(">val bits/byte"))
    s += " Val bits/byte: the final validation loss in bits per byte (nats / (ln 2 × bytes per token)), comparable "
         "across tokenizers; – where the data's bytes per token are unknown.";
  if (has(">epochs")) s += " Epochs: tokens trained over the unique tokens of the training split.";
  if (has("parent"))
    s += " Parent: the trunk (its run id) a cooldown branch forked from at its fork step; before the fork the "
         "branch's rows are copies of the trunk's.";
  return s;
}

}  // namespace

std::string html_page(const PageInput& in) {
  const ReportData& d = in.data;
  std::string s;
  s += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  s += "<title>scalelab report: " + html_escape(d.scope) + "</title>\n";
  s += "<style>" + std::string(kCss) + "</style>\n</head>\n<body>\n<main>\n";
  s += "<h1>Scaling report: " + html_escape(d.scope) + "</h1>\n";
  s += fmt::format("<p class=\"meta\">{} runs ({} finished), {} fit(s). Database <code>{}</code>. Generated {} by "
                   "scalelab 0.1.0.</p>\n",
                   d.runs.size(), d.finished, d.fits.size(), html_escape(d.db_path), html_escape(in.generated_at));
  s += "<nav><a href=\"#figures\">Figures</a><a href=\"#fits\">Fits</a><a href=\"#forecast\">Forecast</a>"
       "<a href=\"#runs\">Runs</a><a href=\"#config\">Config</a></nav>\n";

  std::vector<std::string> notes = in.notes;
  if (auto m = missing_fits_text(d); !m.empty()) notes.insert(notes.begin(), m);
  if (!notes.empty()) {
    s += "<h2 id=\"notes\">Read this first</h2>\n<ul class=\"notes\">\n";
    for (auto& n : notes) s += "<li>" + html_escape(n) + "</li>\n";
    s += "</ul>\n";
  }

  s += "<h2 id=\"figures\">Figures</h2>\n";
  if (in.figures.empty()) s += "<p>No figures: nothing in this scope can be drawn yet (see above).</p>\n";
  int k = 0;
  for (auto& f : in.figures) s += figure_html(f, ++k, in.formats);

  s += "<h2 id=\"fits\">Fits</h2>\n";
  if (d.fits.empty()) s += "<p>" + html_escape(missing_fits_text(d)) + "</p>\n";
  for (auto& f : d.fits) s += fit_html(f);

  s += "<h2 id=\"forecast\">Forecast</h2>\n";
  bool any = false;
  for (auto& f : d.fits) {
    auto rows = forecast_rows(f);
    if (rows.rows.empty()) continue;
    any = true;
    s += fmt::format("<h3>{} <span class=\"muted\">(fit {})</span></h3>\n", html_escape(f.label), f.id);
    s += "<p class=\"muted\">Compute-optimal allocation at each budget, C = 6ND; in brackets the 95% bootstrap "
         "interval (of the law; the loss prediction interval, where a new run will land, is wider). These are "
         "extrapolations: compare the budgets with the data's largest, " +
         html_escape(sci(max_compute(d))) + " FLOPs.</p>\n";
    s += table_html(rows);
  }
  if (!any) s += "<p>No forecast: it needs a fit with a compute-optimal allocation (Approach 1, 2 or 3).</p>\n";

  s += "<h2 id=\"runs\">Runs</h2>\n";
  if (d.runs.empty()) s += "<p>No runs in this scope.</p>\n";
  const Rows runs = run_rows(d);
  s += table_html(runs, d.runs.size() > 25 ? "scroll" : "");
  s += "<p class=\"muted\">N: all trainable parameters; N non-emb: without embeddings (Kaplan's N). D: tokens "
       "trained (of those planned). C: tokens × the run's FLOPs per token, as its trainer counted them." +
       run_columns_text(runs) + "</p>\n";

  s += "<h2 id=\"config\">Config</h2>\n";
  if (d.sweep) {
    s += fmt::format("<p>Sweep <code>{}</code> (id <code>{}</code>), submitted {}.</p>\n", html_escape(d.sweep->name),
                     html_escape(d.sweep->id), html_escape(d.sweep->created_at));
    s += "<pre>" + html_escape(d.sweep->config_toml) + "</pre>\n";
  } else if (!d.runs.empty()) {
    s += "<p>No sweep: the runs were trained one by one. The first run's resolved config:</p>\n";
    s += "<pre>" + html_escape(d.runs.front().config_toml) + "</pre>\n";
  } else {
    s += "<p>No sweep and no runs: the fits above came from CSV files.</p>\n";
  }
  s += "</main>\n</body>\n</html>\n";
  return s;
}

}  // namespace scalelab::reports
