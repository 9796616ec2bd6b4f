#include "reports/gnuplot.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <functional>

#include "common/error.h"
#include "reports/png_check.h"
#include "reports/report.h"
#include "reports/test_util.h"

using namespace scalelab;
using namespace scalelab::reports;
using scalelab::reports::testing::ScopedEnv;
using scalelab::reports::testing::slurp;
using scalelab::reports::testing::TempDir;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no UserError)";
}

Figure tiny_figure(const std::string& label) {
  Figure f;
  f.name = "tiny";
  f.title = "Tiny";
  f.data = "# [pts] test\n1 1\n2 4\n3 9\n";
  f.panels = {"set label 1 " + sq(label) + " at 1.5, 5\nplot 'tiny.dat' index '[pts]' using 1:2 with linespoints\n"};
  return f;
}
}  // namespace

TEST_CASE("sq makes a literal gnuplot cannot expand, whatever the text") {
  CHECK(sq("plain") == "'plain'");
  CHECK(sq("it's") == "'it''s'");
  CHECK(sq("a\nb\tc") == "'a b c'");
  // Backquotes run commands inside double-quoted gnuplot strings, never in single-quoted ones.
  CHECK(sq("`rm -rf x`") == "'`rm -rf x`'");
}

TEST_CASE("a label with shell and macro syntax is drawn, not executed") {
  TempDir dir;
  const auto marker = dir.file("pwned");
  auto f = tiny_figure("`touch " + marker + "` @x $(touch " + marker + ") ' \" \\");
  render_files(find_gnuplot(), dir.file("fig"), {f}, {"svg"}, "test\n`touch " + marker + "`");
  CHECK_FALSE(std::filesystem::exists(marker));
  CHECK(std::filesystem::file_size(dir.file("fig/tiny.svg")) > 1000);
}

TEST_CASE("log axes get labelled tics even over less than a decade") {
  auto narrow = log_axis("y", 2.1, 3.4);
  CHECK(narrow.find("set logscale y") != std::string::npos);
  CHECK(narrow.find("set ytics (") != std::string::npos);
  // 2.5 and 3 lie in range; at least four labels.
  CHECK(testing::count(narrow, "\"") >= 8);
  auto wide = log_axis("x", 1e10, 1e24);
  CHECK(wide.find("10^{%T}") != std::string::npos);
  CHECK(wide.find("set xtics 1e+10, 100") != std::string::npos);  // every other decade over 14
  auto decades = log_axis("x", 6400, 1e7);
  CHECK(decades.find("set xtics 1000, 10 ") != std::string::npos);  // decades, not 6400, 64000, ...
  // A degenerate range still gives a valid axis.
  CHECK(log_axis("x", 5, 5).find("set xrange [2.5:10]") != std::string::npos);
}

TEST_CASE("the .gp file re-renders without scalelab, in any one format") {
  TempDir dir;
  render_files(find_gnuplot(), dir.file("fig"), {tiny_figure("hello")}, {"svg", "png"}, "about");
  CHECK(std::filesystem::exists(dir.file("fig/tiny.svg")));
  CHECK(std::filesystem::exists(dir.file("fig/tiny.png")));
  CHECK_FALSE(std::filesystem::exists(dir.file("fig/tiny.pdf")));
  CHECK_FALSE(std::filesystem::exists(dir.file("fig/tiny.log")));
  auto gp = slurp(dir.file("fig/tiny.gp"));
  CHECK(gp.find("gnuplot tiny.gp") != std::string::npos);
  auto png = summarize_png(dir.file("fig/tiny.png"));
  CHECK(png.width == 1200);
  CHECK(png.height == 800);
  CHECK(png.varied > 0.005);
  // What the header comment tells a user to run:
  const std::string cmd = "cd " + dir.file("fig") + " && gnuplot -e \"formats='pdf'\" tiny.gp 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto pdf = slurp(dir.file("fig/tiny.pdf"));
  CHECK(pdf.rfind("%PDF", 0) == 0);
}

TEST_CASE("a failing script is reported with gnuplot's message") {
  TempDir dir;
  Figure f = tiny_figure("x");
  f.panels = {"plot 'tiny.dat' index '[pts]' using 1:2 with nonsense\n"};
  try {
    render_files(find_gnuplot(), dir.file("fig"), {f}, {"png"}, "");
    FAIL("no error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("tiny.gp") != std::string::npos);
  }
}

TEST_CASE("the dumb terminal draws a panel as text of the requested size") {
  auto text = render_dumb(find_gnuplot(), tiny_figure("x"), 0, 60, 20, false);
  CHECK(testing::count(text, "\n") >= 19);
  std::size_t widest = 0, start = 0;
  for (auto at = text.find('\n'); at != std::string::npos; start = at + 1, at = text.find('\n', start))
    widest = std::max(widest, at - start);
  CHECK(widest <= 60);
  CHECK(text.find('+') != std::string::npos);
}

TEST_CASE("a missing gnuplot is one clear error naming Debian's package") {
  TempDir dir;
  ScopedEnv path("PATH", dir.path().c_str());
  ScopedEnv none("SCALELAB_GNUPLOT", nullptr);
  auto msg = error_of([] { find_gnuplot(); });
  CHECK(msg.find("gnuplot not found") != std::string::npos);
  CHECK(msg.find("gnuplot-nox") != std::string::npos);
  ScopedEnv bad("SCALELAB_GNUPLOT", "/nonexistent/gnuplot");
  CHECK(error_of([] { find_gnuplot(); }).find("SCALELAB_GNUPLOT=/nonexistent/gnuplot") != std::string::npos);
}

TEST_CASE("figure formats") {
  CHECK(parse_formats("svg,png,pdf") == std::vector<std::string>{"svg", "png", "pdf"});
  CHECK(parse_formats("pdf,pdf") == std::vector<std::string>{"pdf"});
  CHECK(error_of([] { parse_formats("svg,jpeg"); }).find("got 'svg,jpeg'") != std::string::npos);
  CHECK(error_of([] { parse_formats(""); }).find("--format") != std::string::npos);
}
