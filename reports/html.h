#pragma once
// The report page: one self-contained index.html (inline CSS, no script, no
// network) next to a figures/ folder it references relatively.
#include <string>
#include <vector>

#include "reports/gnuplot.h"
#include "reports/load.h"

namespace scalelab::reports {

// Escapes text for HTML element content and quoted attribute values.
std::string html_escape(const std::string&);

struct PageInput {
  const ReportData& data;
  const std::vector<Figure>& figures;
  const std::vector<std::string>& formats;  // what was rendered
  const std::vector<std::string>& notes;
  std::string generated_at;
};

std::string html_page(const PageInput&);

}  // namespace scalelab::reports
