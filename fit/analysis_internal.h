#pragma once
// Internal: pieces shared by the fit record builders (analysis.cpp, parametric.cpp, allocation.cpp).
#include <optional>
#include <string>
#include <vector>

#include "fit/analysis.h"

namespace scalelab::fit::detail {

using json = nlohmann::ordered_json;

// NAME: v with the percentile interval of samples (no bounds without samples).
Estimate estimate(const std::string& name, double v, const std::vector<double>& samples, double level);
// a, b, G and N_opt, D_opt, tokens per parameter at the reference budgets, with intervals over the draws.
Estimates derived_estimates(const Model&, const std::vector<std::vector<double>>& draws,
                            const std::vector<double>& refs, double level);
// The hold-out threshold for --holdout SPEC over these C values; notes the rule or why it was skipped.
std::optional<double> holdout_threshold(const std::string& spec, const std::vector<double>& Cs, double tol,
                                        Holdout& info);
ErrorStats error_stats(const std::vector<double>& rel);
std::vector<double> reference_budgets(double cmax);
void spread_warnings(const std::vector<Point>&, std::vector<std::string>& warnings);

SolverConvergence solver_convergence(const Convergence&, const SolveSettings&);  // with the solver's settings
// The Approach-3 record around a fitted law: its columns, model, bootstrap and
// warnings; the caller adds the law's part and what else it knows.
FitRecord law_record(const std::string& law, json selection, Estimates params, const ParamFit&, std::size_t n_points,
                     const FitOptions&, const Draws&, std::vector<std::string> warnings);

FitRecord parametric_record(const Dataset&, const FitOptions&);  // Approach 3
FitRecord power_record(const Dataset&, const FitOptions&);       // Approach 3, a power law on the frontier
FitRecord isoflop_record(const Dataset&, const FitOptions&);     // Approach 2
FitRecord envelope_record(const Dataset&, const FitOptions&);    // Approach 1
FitRecord lr_rule_record(const Dataset&, const FitOptions&);     // --law lr (fit/lr_rule_record.cpp)

}  // namespace scalelab::fit::detail
