#pragma once
// Approaches 1, 2 and 3 measure one allocation exponent, a in N_opt ~ C^a, three
// ways (the envelope, IsoFLOP parabolas, the parametric law). Fitted together,
// whether their intervals overlap is a check on all of them (docs/fits.md,
// "Do the approaches agree?").
#include <string>
#include <vector>

#include "fit/record.h"

namespace scalelab::fit {

struct Agreement {
  int compared = 0;         // records with an exponent a
  bool consistent = true;   // every pair of intervals overlaps
  std::vector<std::string> lines;
};
// Empty (compared < 2) when fewer than two of the records give a. The tied law
// fixes a = 0.5 by construction: it enters as the point 0.5.
Agreement allocation_agreement(const std::vector<FitRecord>&);

}  // namespace scalelab::fit
