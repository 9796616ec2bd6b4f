// Writing and running gnuplot scripts.
#include "reports/gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/error.h"
#include "reports/report.h"

extern char** environ;

namespace scalelab::reports {

namespace fs = std::filesystem;

const char* const kPanelReset =
    "unset label; unset arrow; unset object; unset key; unset logscale; unset colorbox; unset title\n"
    "unset xlabel; unset ylabel; unset cblabel; set autoscale; set xtics auto format '% h'; "
    "set ytics auto format '% h'; set cbtics auto format '% h'; set mxtics default; set mytics default\n"
    "set margins -1, -1, -1, -1; set size nosquare\n"
    "set border 3 lw 1 lc rgb '#333333'; set tics nomirror out scale 0.6 textcolor rgb '#222222'\n"
    "set grid xtics ytics back lt 1 lw 0.5 lc rgb '#e4e4e4' dt solid\n";

namespace {

// Applies to every scalelab figure: light grid behind the data, tics outside,
// a viridis palette without its pale yellow end (unreadable on white).
constexpr const char* kStyle = R"(set encoding utf8
set termoption enhanced
set border 3 lw 1 lc rgb '#333333'
set tics nomirror out scale 0.6 textcolor rgb '#222222'
set grid xtics ytics back lt 1 lw 0.5 lc rgb '#e4e4e4' dt solid
set style fill solid 1.0 noborder
set palette defined (0 '#440154', 1 '#414487', 2 '#2a788e', 3 '#22a884', 4 '#7ad151', 5 '#bddf26')
set key noautotitle samplen 2.5 spacing 1.15
set datafile missing 'nan'
)";

// Terminal settings per format. PS and LW scale point sizes and line widths so
// one body looks the same at every resolution.
struct Term {
  const char* fmt;
  const char* single;
  const char* wide;
  int font;           // the terminal's font size, as FS in scripts: labels scale from it
  const char* points;  // PS: svg sizes points in pixels, the cairo terminals relative to the font
};
constexpr Term kTerms[] = {
    {"svg", "svg size 720,480 fixed enhanced font 'Sans,11' linewidth 1.2 rounded background '#ffffff'",
     "svg size 1280,480 fixed enhanced font 'Sans,11' linewidth 1.2 rounded background '#ffffff'", 11, "0.65"},
    {"png", "pngcairo size 1200,800 enhanced font 'Sans,18' linewidth 2 rounded background '#ffffff'",
     "pngcairo size 2000,750 enhanced font 'Sans,18' linewidth 2 rounded background '#ffffff'", 18, "1.6"},
    {"pdf", "pdfcairo size 6in,4in enhanced font 'Sans,10' linewidth 1.5 rounded",
     "pdfcairo size 11in,4.1in enhanced font 'Sans,10' linewidth 1.5 rounded", 10, "1"},
};

std::string sanitize(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c);
  return out;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f) user_error("cannot write {}", p.string());
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Starts gnuplot on `script` in `dir` with stdout and stderr to files; returns the pid.
pid_t spawn(const std::string& gnuplot, const std::string& dir, const std::string& script, const std::string& out,
            const std::string& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addchdir_np(&fa, dir.c_str());
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv{const_cast<char*>(gnuplot.c_str()), const_cast<char*>(script.c_str()), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, gnuplot.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) user_error("cannot run {}: {}", gnuplot, std::strerror(rc));
  return pid;
}

bool exited_ok(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string indent(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out += "  " + line + "\n";
  return out;
}

// Panels side by side. With a legend, it gets a strip of its own across the
// top, where its entries lie in columns over the figure's whole width.
std::string panels_of(const Figure& f) {
  const std::size_t n = f.panels.size();
  if (f.legend.empty()) {
    std::string out;
    if (n > 1) out += fmt::format("  set multiplot layout 1,{}\n", n);
    for (auto& p : f.panels) out += indent(std::string(kPanelReset) + p);
    if (n > 1) out += "  unset multiplot\n";
    return out;
  }
  // The strip's height: the legend's rows, at the columns its longest entry leaves room for
  // (about 110 characters across a single figure at every format's font size, 180 across a wide one).
  std::size_t longest = 0;
  for (auto& e : f.legend) {
    auto t = e.rfind(" title '");
    longest = std::max<std::size_t>(longest, t == std::string::npos ? 20 : e.size() - t - 9);
  }
  const std::size_t across = n > 1 ? 180 : 110;
  const std::size_t cols = std::max<std::size_t>(1, across / (longest + 12));
  const std::size_t rows = (f.legend.size() + cols - 1) / cols;
  const double strip = std::min(0.4, (static_cast<double>(rows) + 1.0) * (n > 1 ? 0.036 : 0.033));
  std::string out = "  set multiplot\n";
  for (std::size_t k = 0; k < n; ++k)
    out += indent(std::string(kPanelReset) +
                  fmt::format("set origin {}, 0\nset size {}, {}\n", num(double(k) / n), num(1.0 / n), num(1 - strip)) +
                  f.panels[k]);
  std::string legend = fmt::format(
      "set origin 0, {}\nset size 1, {}\nunset border; unset tics; unset grid\nset xrange [0:1]; set yrange [0:1]\n"
      "set margins 0, 0, 0, 0\nset key center center horizontal Left reverse\nplot NaN",
      num(1 - strip), num(strip));
  for (auto& e : f.legend) legend += ", \\\n  " + e;
  out += indent(std::string(kPanelReset) + legend + "\n");
  return out + "  unset multiplot\n";
}

}  // namespace

std::string num(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "1e308" : "-1e308";
  return fmt::format("{:.8g}", v);
}

std::string sq(const std::string& text) {
  std::string out = "'";
  for (char c : sanitize(text)) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string comment(const std::string& text) { return "# " + sanitize(text) + "\n"; }

namespace {
std::string tic_label(double v, bool plain) {
  double a = std::fabs(v);
  if (a >= 1e-2 && a < 1e4) return fmt::format("{:g}", v);
  if (plain) return fmt::format("{:.3g}", v);
  int e = static_cast<int>(std::floor(std::log10(a) + 1e-9));
  double m = v / std::pow(10.0, e);
  if (std::fabs(m - 1) < 1e-9) return fmt::format("10^{{{}}}", e);
  return fmt::format("{:g}×10^{{{}}}", std::round(m * 100) / 100, e);
}
}  // namespace

std::string log_axis(const std::string& axis, double lo, double hi, bool plain) {
  if (!(lo > 0) || !(hi > lo)) {
    double c = lo > 0 ? lo : (hi > 0 ? hi : 1);
    lo = c / 2, hi = c * 2;
  }
  std::string s = fmt::format("set logscale {0}\nset {0}range [{1}:{2}]\n", axis, num(lo), num(hi));
  const double decades = std::log10(hi / lo);
  if (decades >= 2.5) {
    // Without a start, gnuplot counts the factor from the range's low end: 6400, 64000, ...
    const double start = std::pow(10.0, std::floor(std::log10(lo)));
    s += fmt::format("set {}tics {}, {} format '{}'\n", axis, num(start), decades > 9 ? "100" : "10",
                     plain ? "%.0e" : "10^{%T}");
    return s;
  }
  static const std::vector<std::vector<double>> sets = {
      {1}, {1, 2, 5}, {1, 1.5, 2, 3, 4, 5, 6, 8}, {1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9}};
  std::vector<double> tics;
  for (auto& set : sets) {
    tics.clear();
    for (int e = static_cast<int>(std::floor(std::log10(lo))) - 1; e <= static_cast<int>(std::ceil(std::log10(hi)));
         ++e)
      for (double m : set) {
        double v = m * std::pow(10.0, e);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) tics.push_back(v);
      }
    if (tics.size() >= 4) break;
  }
  if (tics.size() < 4) {  // a narrow range: evenly spaced round values, the largest step giving 4 or more
    const double span = hi - lo;
    double step = std::pow(10.0, std::floor(std::log10(span)));
    for (double m : {1.0, 0.5, 0.25, 0.2, 0.1, 0.05, 0.025, 0.02, 0.01}) {
      tics.clear();
      for (double v = std::ceil(lo / (step * m)) * step * m; v <= hi * (1 + 1e-12); v += step * m) tics.push_back(v);
      if (tics.size() >= 4) break;
    }
  }
  if (tics.size() > 9) {  // the finest set on a range just under 2.5 decades: thin it
    std::vector<double> thin;
    for (std::size_t i = 0; i < tics.size(); i += 2) thin.push_back(tics[i]);
    tics = thin;
  }
  s += fmt::format("set {}tics (", axis);
  for (std::size_t i = 0; i < tics.size(); ++i) {
    double v = tics[i];
    // Round displayed values to 3 significant digits; label and position agree.
    int e = static_cast<int>(std::floor(std::log10(v)));
    double r = std::round(v / std::pow(10.0, e - 2)) * std::pow(10.0, e - 2);
    s += fmt::format("{}\"{}\" {}", i ? ", " : "", tic_label(r, plain), num(r));
  }
  return s + ")\n";
}

std::string gnuplot_script(const Figure& f, const std::string& about, const std::vector<std::string>& formats) {
  std::string s;
  s += comment(f.title + " (scalelab figure)");
  std::istringstream in(about);
  for (std::string line; std::getline(in, line);) s += comment(line);
  s += comment("Data: " + f.dat() + ". Re-render in this folder with:  gnuplot " + f.name + ".gp");
  s += comment("One format only:  gnuplot -e \"formats='pdf'\" " + f.name + ".gp   (svg, png or pdf)");
  std::string fl;
  for (auto& x : formats) fl += (fl.empty() ? "" : " ") + x;
  s += "if (!exists(\"formats\")) formats = " + sq(fl) + "\n\n";
  s += kStyle;
  s += "\ndo for [fmt in formats] {\n";
  const bool wide = f.panels.size() > 1;
  for (auto& t : kTerms) {
    s += fmt::format("  if (fmt eq '{}') {{\n    set terminal {}\n    PS = {}; LW = 1; FS = {}\n  }}\n", t.fmt,
                     wide ? t.wide : t.single, t.points, t.font);
  }
  s += fmt::format("  set output '{}.'.fmt\n", f.name);
  s += panels_of(f);
  s += "  set output\n}\n";
  return s;
}

void render_files(const std::string& gnuplot, const std::string& out_dir, const std::vector<Figure>& figures,
                  const std::vector<std::string>& formats, const std::string& about) {
  // gnuplot runs in dir; the files it writes to are opened after that chdir, so the paths must be absolute.
  const std::string dir = fs::absolute(out_dir).string();
  fs::create_directories(dir);
  std::set<std::string> written;  // figures may share a data file
  for (auto& f : figures) {
    if (!f.data.empty() && written.insert(f.dat()).second) write_file(fs::path(dir) / f.dat(), f.data);
    write_file(fs::path(dir) / (f.name + ".gp"), gnuplot_script(f, about, formats));
  }
  // gnuplot is single-threaded; one process per core.
  const std::size_t width = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::pair<pid_t, std::size_t>> live;
  std::vector<std::string> failures;
  auto log_of = [&](std::size_t i) { return (fs::path(dir) / (figures[i].name + ".log")).string(); };
  auto reap = [&] {
    auto [pid, i] = live.front();
    live.erase(live.begin());
    if (exited_ok(pid)) {
      fs::remove(log_of(i));
    } else {
      failures.push_back(figures[i].name + ".gp: " + read_file(log_of(i)));
    }
  };
  for (std::size_t i = 0; i < figures.size(); ++i) {
    if (live.size() >= width) reap();
    live.push_back({spawn(gnuplot, dir, figures[i].name + ".gp", "/dev/null", log_of(i)), i});
  }
  while (!live.empty()) reap();
  if (!failures.empty()) throw std::runtime_error("gnuplot failed on " + failures.front());
}

std::string render_dumb(const std::string& gnuplot, const Figure& f, std::size_t panel, int columns, int rows,
                        bool color) {
  char tmpl[] = "/tmp/scalelab-term-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  const fs::path dir = tmpl;
  std::string out;
  try {
    if (!f.data.empty()) write_file(dir / f.dat(), f.data);
    std::string s = kStyle;
    s += fmt::format("set terminal dumb size {},{} {}\nset output\nPS = 1; LW = 1; FS = 10\n", columns, rows,
                     color ? "ansi256" : "mono");
    s += kPanelReset;
    s += "unset grid\n";  // dots and colons all over a character plot
    if (panel < f.panel_titles.size()) s += "set title " + sq(f.panel_titles[panel]) + "\n";
    s += f.panels.at(panel);
    write_file(dir / "figure.gp", s);
    const std::string text = (dir / "out.txt").string(), err = (dir / "err.txt").string();
    if (!exited_ok(spawn(gnuplot, dir.string(), "figure.gp", text, err)))
      throw std::runtime_error("gnuplot failed on " + f.name + ": " + read_file(err));
    out = read_file(text);
    out.erase(std::remove(out.begin(), out.end(), '\f'), out.end());  // dumb starts each page with a form feed
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    throw;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return out;
}

std::string find_gnuplot() {
  auto executable = [](const std::string& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (const char* env = std::getenv("SCALELAB_GNUPLOT"); env && *env) {
    if (!executable(env)) user_error("SCALELAB_GNUPLOT={} is not an executable file", env);
    return env;
  }
  const char* path = std::getenv("PATH");
  std::istringstream in(path ? path : "");
  for (std::string d; std::getline(in, d, ':');) {
    const std::string p = (fs::path(d.empty() ? "." : d) / "gnuplot").string();
    if (executable(p)) return p;
  }
  user_error(
      "gnuplot not found on PATH; figures are drawn with it. Install Debian's gnuplot-nox package "
      "(sudo apt-get install gnuplot-nox), or set SCALELAB_GNUPLOT to a gnuplot binary");
}

std::vector<std::string> parse_formats(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string tok; std::getline(in, tok, ',');) {
    if (tok != "svg" && tok != "png" && tok != "pdf")
      user_error("--format takes svg, png and/or pdf, comma-separated (e.g. svg,png,pdf), got '{}'", s);
    if (std::find(out.begin(), out.end(), tok) == out.end()) out.push_back(tok);
  }
  if (out.empty()) user_error("--format takes svg, png and/or pdf, comma-separated (e.g. svg,png,pdf), got '{}'", s);
  return out;
}

}  // namespace scalelab::reports
