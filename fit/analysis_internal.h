#pragma once
// Internal: pieces shared by the fit record builders (analysis.cpp, allocation.cpp).
#include <optional>
#include <string>
#include <vector>

#include "fit/analysis.h"

namespace scalelab::fit::detail {

using json = nlohmann::ordered_json;

// {value, lo, hi}: the percentile interval of samples (null bounds without samples).
json interval(double v, const std::vector<double>& samples, double level);
json convergence_json(const Convergence&);
// a, b, G and N_opt, D_opt, tokens per parameter at the reference budgets, with intervals over the draws.
json derived_json(const Model&, const std::vector<std::vector<double>>& draws, const std::vector<double>& refs,
                  double level);
// The hold-out threshold for --holdout SPEC over these C values; notes the rule or why it was skipped.
std::optional<double> holdout_threshold(const std::string& spec, const std::vector<double>& Cs, double tol,
                                        json& info);
void error_stats(json& j, const std::vector<double>& rel);
std::vector<double> reference_budgets(double cmax);
void spread_warnings(const std::vector<Point>&, json& warnings);

json law_convergence_json(const Convergence&, const SolveSettings&);  // with the solver's settings
json bootstrap_json(const FitOptions&, Law, const Draws&);
// The Approach-3 record around a fitted law: its columns, model, bootstrap and warnings.
json law_record(const std::string& law, json selection, json params, const ParamFit&, std::size_t n_points,
                const FitOptions&, const Draws&, json result, json warnings);

json parametric_record(const Dataset&, const FitOptions&);  // Approach 3
json power_record(const Dataset&, const FitOptions&);       // Approach 3, a power law on the frontier
json isoflop_record(const Dataset&, const FitOptions&);     // Approach 2
json envelope_record(const Dataset&, const FitOptions&);    // Approach 1

}  // namespace scalelab::fit::detail
