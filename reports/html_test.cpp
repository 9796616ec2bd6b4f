#include "reports/html.h"

#include <doctest/doctest.h>

#include "reports/fixture.h"
#include "reports/load.h"
#include "reports/test_util.h"
#include "store/store.h"

using namespace scalelab;
using namespace scalelab::reports;
using scalelab::reports::testing::TempDir;

TEST_CASE("html_escape covers content and attributes") {
  CHECK(html_escape("<a href=\"x\">O'Neil & co</a>") == "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;");
  CHECK(html_escape("plain") == "plain");
}

TEST_CASE("no user string reaches the page unescaped") {
  TempDir dir;
  auto st = store::Store::open(dir.file("x.db"));
  fixture::SweepSpec s;
  s.name = "<script>alert('sweep')</script>";
  s.budgets = {1e15, 1e16};
  s.sizes = 3;
  s.curve_rows = 5;
  s.evals = true;
  fixture::make_sweep(*st, s);
  auto d = load_report_data(*st, "");
  // Plant markup in a run name and the config too.
  d.runs.front().name = "<img src=x onerror=alert(1)>";
  d.runs.front().status = "<b>";
  std::vector<Figure> figures;
  Figure f;
  f.name = "loss<x>";
  f.title = "<i>t</i>";
  f.caption = "a \"quoted\" <caption>";
  figures.push_back(f);
  std::vector<std::string> formats{"svg"}, notes{"note <script>x</script>"};
  auto page = html_page({d, figures, formats, notes, "now"});
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<img src=x") == std::string::npos);
  CHECK(page.find("&lt;script&gt;alert(&#39;sweep&#39;)&lt;/script&gt;") != std::string::npos);
  CHECK(page.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
  CHECK(page.find("status-&lt;b&gt;") != std::string::npos);
  CHECK(page.find("src=\"figures/loss&lt;x&gt;.svg\"") != std::string::npos);
  // Nothing is fetched from elsewhere.
  CHECK(page.find("http://") == std::string::npos);
  CHECK(page.find("https://") == std::string::npos);
  CHECK(page.find("No fits are stored") != std::string::npos);
}
