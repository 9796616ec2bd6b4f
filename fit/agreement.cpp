#include "fit/agreement.h"

#include <fmt/format.h>

namespace scalelab::fit {

namespace {

struct Exponent {
  std::string label;
  double value = 0, lo = 0, hi = 0;
  bool fixed = false;  // no interval: a point (the tied law's 0.5, or no bootstrap)
};

bool exponent_of(const FitRecord& r, Exponent& out) {
  out.label = "approach " + r.approach + (r.approach == "3" ? " " + r.law : "");
  if (r.law == "chinchilla-tied") {
    out.value = out.lo = out.hi = 0.5;  // alpha = beta gives N_opt ~ C^(1/2)
    out.fixed = true;
    return true;
  }
  const Estimate* a = find(r.derived, "a");
  if (!a) return false;
  out.value = a->value;
  out.fixed = !a->lo || !a->hi;
  out.lo = out.fixed ? a->value : *a->lo;
  out.hi = out.fixed ? a->value : *a->hi;
  return true;
}

std::string show(const Exponent& e) {
  if (e.fixed) return fmt::format("{} {:.3f}{}", e.label, e.value, e.label.find("tied") != std::string::npos
                                                                        ? " (fixed by alpha = beta)" : " (no interval)");
  return fmt::format("{} {:.3f} ({:.3f} .. {:.3f})", e.label, e.value, e.lo, e.hi);
}

}  // namespace

Agreement allocation_agreement(const std::vector<FitRecord>& records) {
  Agreement ag;
  std::vector<Exponent> found;
  for (auto& r : records)
    if (Exponent e; exponent_of(r, e)) found.push_back(e);
  ag.compared = static_cast<int>(found.size());
  if (found.size() < 2) return ag;
  std::string all;
  for (auto& e : found) all += (all.empty() ? "" : ", ") + show(e);
  std::vector<std::string> clashes;
  for (std::size_t i = 0; i < found.size(); ++i)
    for (std::size_t j = i + 1; j < found.size(); ++j)
      if (found[i].hi < found[j].lo || found[j].hi < found[i].lo)
        clashes.push_back(fmt::format("{} and {}", found[i].label, found[j].label));
  ag.consistent = clashes.empty();
  ag.lines.push_back(fmt::format("exponent a of N_opt ~ C^a: {}", all));
  if (ag.consistent) {
    ag.lines.push_back("agreement: the intervals overlap");
    return ag;
  }
  std::string which;
  for (auto& c : clashes) which += (which.empty() ? "" : "; ") + c;
  ag.lines.push_back(fmt::format("warning: the approaches disagree on a ({}); trust none of their allocations until "
                                 "the sweep explains why (docs/fits.md)",
                                 which));
  for (auto& e : found)
    if (e.label.find("tied") != std::string::npos)
      ag.lines.push_back("note: the tied law assumes a = 0.5; where the data say otherwise, fit --law chinchilla");
  return ag;
}

}  // namespace scalelab::fit
