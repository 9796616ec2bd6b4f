// What a fit is made from: sweep runs and their metrics, or a CSV of final
// losses, as points and curves with the description the record keeps; and
// that description read back (fit/dataset.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <toml++/toml.h>

#include "common/error.h"
#include "fit/dataset.h"
#include "trainer/bpb.h"

namespace scalelab::fit {

using json = nlohmann::ordered_json;

// The seeds' mean: LRs are compared after averaging seeds, as the points are.
double LrTrial::mean() const {
  double sum = 0;
  for (double l : losses) sum += l;
  return losses.empty() ? NAN : sum / static_cast<double>(losses.size());
}

namespace {
// How the 6ND convention is described in a record's conventions.
constexpr const char* kSixND = "C = 6 N D";

// A free-form description's text at key; "" when absent or not text.
std::string text(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// What a run's canonical TOML says about how it was trained, as far as a fit
// cares: the schedule (a WSD run's with its cooldown fraction, since 10% and
// 20% cooldowns end at different losses), the learning rate and the seed.
// A run stored without its config (old test fixtures) knows none of them.
struct RunConfig {
  std::string schedule = "unrecorded";
  std::optional<double> lr;
  std::optional<std::int64_t> seed;
};

RunConfig config_of(const store::Run& r) {
  RunConfig c;
  if (r.config_toml.empty()) return c;
  toml::table t;
  try {
    t = toml::parse(r.config_toml, "run " + r.id);
  } catch (const toml::parse_error& e) {
    user_error("run {}: its stored config is not TOML: {}", r.id, e.description());
  }
  const auto train = t["train"];
  if (auto kind = train["schedule"].value<std::string>()) {
    c.schedule = *kind;
    // 0.2 is the key's default, which a config without the key runs.
    if (*kind == "wsd") c.schedule += fmt::format("/{:g}", train["decay_fraction"].value_or(0.2));
  }
  c.lr = train["lr"].value<double>();
  c.seed = train["seed"].value<std::int64_t>();
  return c;
}

// A finished run whose final loss may become (part of) a point.
struct Candidate {
  const store::Run* run = nullptr;
  RunConfig config;
  Point pt;
  double flops_per_token = 0;
};

// Ladder trunks: constant-LR runs that other runs fork from. A trunk's final
// loss is taken at full LR, not after a cooldown, so it is no point of a law
// fitted to finished runs; its branches are.
std::set<std::string> trunk_ids(const std::vector<store::Run>& runs) {
  std::set<std::string> parents, trunks;
  for (auto& r : runs)
    if (!r.parent_id.empty()) parents.insert(r.parent_id);
  for (auto& r : runs)
    if (parents.count(r.id) && config_of(r).schedule == "constant") trunks.insert(r.id);
  return trunks;
}

// store::loss_bpb's conversion, without linking the store: fit/ reads store structs only.
std::optional<double> to_bpb(std::optional<double> nats, std::optional<double> bytes_per_token) {
  if (!nats || !bytes_per_token || !(*bytes_per_token > 0)) return std::nullopt;
  return trainer::bits_per_byte(*nats, *bytes_per_token);
}

constexpr const char* kBpbUnit = "bits/byte";
constexpr const char* kNatsUnit = "nats/token";

// A run's final loss in the fit's unit: validation if measured, else training.
std::optional<double> final_loss(const store::Run& r, const SweepConventions& conv) {
  if (conv.loss != "bpb") return r.final_val_loss ? r.final_val_loss : r.final_train_loss;
  if (r.final_val_loss) return to_bpb(r.final_val_loss, r.bytes_per_token);
  return to_bpb(r.final_train_loss, r.train_bytes_per_token);
}

// The point a finished run gives, or why it gives none.
std::optional<Candidate> candidate_of(const store::Run& r, const SweepConventions& conv, std::string& why) {
  const double N = static_cast<double>(conv.params == "total" ? r.params_total : r.params_non_embedding);
  const double fpt = conv.flops == "6nd" ? 6 * N : r.flops_per_token;
  if (conv.loss == "bpb" && (!r.bytes_per_token || !r.train_bytes_per_token))
    user_error("--loss bpb: run {} has no bytes per token ({}), so its loss has no bits per byte; fit it in nats per "
               "token (--loss nats)",
               r.id,
               r.tokenizer.empty() ? "task data, a tokens directory without meta.json, or registered before schema v7"
                                   : "tokenizer " + r.tokenizer);
  std::optional<double> L = final_loss(r, conv);
  if (!(N > 0) || !(r.tokens_done > 0) || !(fpt > 0)) {
    why = "no parameter count, tokens or FLOPs per token";
    return std::nullopt;
  }
  if (!L || !(*L > 0) || !std::isfinite(*L)) {
    why = "no positive final loss";
    return std::nullopt;
  }
  Candidate c{&r, config_of(r), Point{N, r.tokens_done, r.tokens_done * fpt, *L, r.id}, fpt};
  // Unique tokens only where they bound the data: never more than the tokens trained.
  if (r.unique_tokens && *r.unique_tokens > 0) c.pt.U = std::min(*r.unique_tokens, r.tokens_done);
  if (r.final_val_loss && r.final_val_loss_se)
    c.pt.se = conv.loss == "bpb" ? *to_bpb(r.final_val_loss_se, r.bytes_per_token) : *r.final_val_loss_se;
  return c;
}

// Tokens of different tokenizers are different units, so their losses in nats
// per token are too. Runs whose tokenizer is unrecorded (task data, tokens
// without meta.json, runs from before schema v7) cannot be told apart, so they
// are not counted.
void check_loss_units(const std::vector<Candidate>& cs, const SweepConventions& conv) {
  if (conv.loss == "bpb" || conv.allow_mixed_tokenizers) return;  // candidate_of refused runs without bytes per token
  std::vector<std::string> names;
  for (auto& c : cs) {
    const std::string& t = c.run->tokenizer;
    if (!t.empty() && std::find(names.begin(), names.end(), t) == names.end()) names.push_back(t);
  }
  if (names.size() < 2) return;
  std::string list;
  for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
  user_error("runs use {} tokenizers ({}): losses in nats per token are not comparable across them; fit in bits per "
             "byte with --loss bpb",
             names.size(), list);
}

// Runs per schedule, in the order first seen.
json schedule_counts(const std::vector<Candidate>& cs) {
  json counts = json::object();
  for (auto& c : cs) counts[c.config.schedule] = counts.value(c.config.schedule, 0) + 1;
  return counts;
}

// At these scales the schedule moves the final loss by ~4.5% (WSD vs cosine),
// more than the residuals a law is judged by: a fit over mixed schedules
// would blend two laws. Refused unless asked for, then warned about.
void check_schedules(const json& counts, bool allow, std::vector<std::string>& warnings) {
  if (counts.size() < 2) return;
  std::string list;
  for (auto& [name, n] : counts.items()) list += fmt::format("{}{}: {} runs", list.empty() ? "" : ", ", name, n.get<int>());
  if (!allow)
    user_error("the runs mix learning-rate schedules ({}); a schedule moves the final loss by several percent, so "
               "one law cannot fit them together: fit one schedule's runs, or pass --allow-mixed-schedules", list);
  warnings.push_back(fmt::format("the points mix learning-rate schedules ({}), allowed by --allow-mixed-schedules: "
                                 "the law blends schedules that move the final loss by several percent", list));
}

bool close(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b)); }

// The same experiment but for LR and seed: schedule, shape, tokenizer, N, D,
// unique tokens and C all equal. Runs without a recorded config never match: with
// no LR or seed known, two of them cannot be told apart from a duplicate.
bool same_point(const Candidate& a, const Candidate& b) {
  if (!a.config.lr || !b.config.lr) return false;
  return a.config.schedule == b.config.schedule && a.run->shape == b.run->shape &&
         a.run->tokenizer == b.run->tokenizer && close(a.pt.N, b.pt.N) &&
         close(a.pt.D, b.pt.D) && close(a.pt.U, b.pt.U) && close(a.pt.C, b.pt.C);
}

// One LR's runs of one point (its seeds) and their averaged point.
struct LrGroup {
  std::vector<const Candidate*> seeds;
  Point pt;
};

// Seeds are averaged before an LR is chosen, so that the choice compares
// LRs, not lucky seeds. The first seed stands for the group (its id, its
// curve). The standard error is that of the mean of the seeds' estimates.
Point averaged(const std::vector<const Candidate*>& seeds) {
  Point p = seeds.front()->pt;
  double sum = 0, var = 0;
  bool all_se = true;
  for (auto* c : seeds) sum += c->pt.L, var += c->pt.se * c->pt.se, all_se = all_se && c->pt.se > 0;
  const double k = static_cast<double>(seeds.size());
  p.L = sum / k;
  p.se = all_se ? std::sqrt(var) / k : 0;
  return p;
}

// Candidates -> points: per point, its LR groups in the order first seen.
std::vector<std::vector<LrGroup>> group_runs(const std::vector<Candidate>& cs) {
  std::vector<std::vector<LrGroup>> points;
  for (auto& c : cs) {
    auto at = std::find_if(points.begin(), points.end(), [&](auto& g) { return same_point(*g[0].seeds[0], c); });
    if (at == points.end()) {
      points.push_back({LrGroup{{&c}, {}}});
      continue;
    }
    auto lr = std::find_if(at->begin(), at->end(), [&](auto& g) { return close(*g.seeds[0]->config.lr, *c.config.lr); });
    if (lr == at->end())
      at->push_back({{&c}, {}});
    else
      lr->seeds.push_back(&c);
  }
  for (auto& p : points)
    for (auto& g : p) g.pt = averaged(g.seeds);
  return points;
}

// The lowest mean loss over the LR grid (ties: the LR seen first).
const LrGroup& best_lr(const std::vector<LrGroup>& gs) {
  return *std::min_element(gs.begin(), gs.end(), [](auto& a, auto& b) { return a.pt.L < b.pt.L; });
}

json lr_choice(const std::vector<LrGroup>& gs, const LrGroup& kept) {
  json tried = json::array();
  for (auto& g : gs) {
    json ids = json::array();
    for (auto* c : g.seeds) ids.push_back(c->run->id);
    tried.push_back({{"lr", *g.seeds[0]->config.lr}, {"loss", g.pt.L}, {"runs", ids}});
  }
  const Candidate& first = *kept.seeds[0];
  return {{"shape", first.run->shape}, {"N", first.pt.N}, {"D", first.pt.D}, {"schedule", first.config.schedule},
          {"kept_lr", *first.config.lr}, {"kept_run", first.run->id}, {"tried", tried}};
}

// A point's LR groups as an LR scan, its LRs in increasing order.
LrScan scan_of(const std::vector<LrGroup>& gs) {
  const Candidate& first = *gs[0].seeds[0];
  LrScan scan{first.pt.N, first.pt.D, first.run->shape, first.config.schedule, {}};
  for (auto& g : gs) {
    LrTrial t{*g.seeds[0]->config.lr, {}, {}};
    for (auto* c : g.seeds) t.losses.push_back(c->pt.L), t.runs.push_back(c->run->id);
    scan.trials.push_back(std::move(t));
  }
  std::sort(scan.trials.begin(), scan.trials.end(), [](auto& a, auto& b) { return a.lr < b.lr; });
  return scan;
}

// The points a fit gets, the runs that stand for them, and how they were chosen.
struct Selection {
  std::vector<Point> points;
  std::vector<const Candidate*> kept;
  std::vector<LrScan> scans;
  json lr_selection = json::array();
  int seed_averaged = 0;
};

Selection select_points(const std::vector<Candidate>& cs) {
  Selection s;
  for (auto& gs : group_runs(cs)) {
    if (gs[0].seeds[0]->config.lr) s.scans.push_back(scan_of(gs));
    const LrGroup& kept = best_lr(gs);
    s.points.push_back(kept.pt);
    s.kept.push_back(kept.seeds[0]);
    if (gs.size() > 1) s.lr_selection.push_back(lr_choice(gs, kept));
    if (kept.seeds.size() > 1) ++s.seed_averaged;
  }
  return s;
}

void check_conventions(const SweepConventions& conv) {
  if (conv.params != "total" && conv.params != "non_embedding")
    user_error("--params-convention must be total or non_embedding, got '{}'", conv.params);
  if (conv.flops != "6nd" && conv.flops != "exact")
    user_error("--flops must be 6nd or exact, got '{}'", conv.flops);
  if (conv.split != "train" && conv.split != "val") user_error("--split must be train or val, got '{}'", conv.split);
  if (conv.loss != "nats" && conv.loss != "bpb") user_error("--loss must be nats or bpb, got '{}'", conv.loss);
}

json conventions_json(const SweepConventions& conv, const std::vector<Candidate>& cs) {
  std::vector<std::string> flop_conventions;
  for (auto& c : cs)
    if (std::find(flop_conventions.begin(), flop_conventions.end(), c.run->flop_convention) == flop_conventions.end())
      flop_conventions.push_back(c.run->flop_convention);
  return {{"params", conv.params},
          {"flops", conv.flops == "6nd" ? kSixND : "C = D x the run's FLOPs per token"},
          {"run_flop_conventions", flop_conventions},
          {"tokens", "D = tokens_done"},
          {"unique_tokens", "U = the run's unique training tokens (capped at D), when recorded"},
          {"standard_error", "the final validation loss's standard error over sequences, when recorded"},
          {"allow_mixed_schedules", conv.allow_mixed_schedules},
          {"loss_unit", conv.loss == "bpb" ? kBpbUnit : kNatsUnit},
          {"loss", conv.loss == "bpb" ? "bits per byte: nats / (ln 2 x the run's bytes per token of the loss's split)"
                                      : "nats per token, as trained"}};
}

// The run's training curve in the chosen split, on its FLOP axis.
Curve curve_of(const Candidate& c, const std::string& split, const std::string& loss,
               const std::function<std::vector<store::Metric>(const std::string&)>& metrics) {
  Curve curve{c.run->id, c.pt.N, c.flops_per_token, {}, {}};
  const auto bpt = split == "val" ? c.run->bytes_per_token : c.run->train_bytes_per_token;
  for (auto& m : metrics(c.run->id))
    if (m.split == split) {
      curve.tokens.push_back(m.tokens);
      curve.loss.push_back(loss == "bpb" ? *to_bpb(m.loss, bpt) : m.loss);
    }
  return curve;
}
}  // namespace

Dataset dataset_from_runs(const std::string& sweep_id, const std::vector<store::Run>& runs,
                          const SweepConventions& conv,
                          const std::function<std::vector<store::Metric>(const std::string&)>& metrics) {
  check_conventions(conv);
  Dataset ds;
  ds.source = sweep_id;
  json skipped = json::array();
  const auto trunks = trunk_ids(runs);
  std::vector<Candidate> cs;
  for (auto& r : runs) {
    std::string why;
    if (trunks.count(r.id))
      why = "a ladder's trunk: its final loss is at full LR, not after a cooldown (its branches are the points)";
    else if (r.status != "done")
      why = "status is " + r.status;
    else if (auto c = candidate_of(r, conv, why))
      cs.push_back(std::move(*c));
    if (!why.empty()) skipped.push_back({{"run", r.id}, {"status", r.status}, {"why", why}});
  }
  check_loss_units(cs, conv);
  const json schedules = schedule_counts(cs);
  check_schedules(schedules, conv.allow_mixed_schedules, ds.warnings);
  auto sel = select_points(cs);
  ds.points = std::move(sel.points);
  ds.lr_scans = std::move(sel.scans);
  // Approach 1 follows the run that stands for each point: the kept LR's first seed.
  if (metrics)
    for (auto* c : sel.kept)
      if (auto curve = curve_of(*c, conv.split, conv.loss, metrics); !curve.tokens.empty()) ds.curves.push_back(std::move(curve));
  ds.selection = {{"sweep", sweep_id},
                  {"runs", runs.size()},
                  {"used", cs.size()},
                  {"points", ds.points.size()},
                  {"skipped", skipped},
                  {"trunks", trunks.size()},
                  {"loss", conv.loss == "bpb" ? "final_val_loss if present, else final_train_loss, in bits per byte"
                                              : "final_val_loss if present, else final_train_loss"},
                  {"curves_split", conv.split},
                  {"schedules", schedules},
                  {"point_rule", "per (N, D): the seeds of each learning rate averaged, then the learning rate with "
                                 "the lowest mean final loss kept"},
                  {"lr_selected_points", sel.lr_selection.size()},
                  {"seed_averaged_points", sel.seed_averaged},
                  {"lr_selection", sel.lr_selection}};
  ds.conventions = conventions_json(conv, cs);
  return ds;
}

Dataset dataset_from_csv(const CsvSpec& spec) {
  const auto& c = spec.columns;
  auto cp = read_csv_points(spec.path, c, spec.drop_highest);
  Dataset ds;
  ds.source = "csv:" + spec.path;
  ds.points = std::move(cp.points);
  json dropped = json::array();
  for (auto& p : cp.dropped) dropped.push_back({{"id", p.id}, {"loss", p.L}});
  ds.selection = {{"csv", spec.path},
                  {"columns", {{"n", c.n}, {"c", c.c}, {"d", c.d}, {"loss", c.loss},
                               {"unique", c.unique}, {"epochs", c.epochs}, {"se", c.se}}},
                  {"rows", ds.points.size() + cp.dropped.size()},
                  {"used", ds.points.size()},
                  {"drop_highest", spec.drop_highest},
                  {"dropped", dropped}};
  ds.conventions = {{"params", "column " + c.n},
                    {"flops", c.c.empty() ? kSixND : "column " + c.c},
                    {"tokens", c.d.empty() ? "D = C / (6 N)" : "column " + c.d}};
  return ds;
}

std::optional<CsvSpec> csv_spec_of(const json& selection, const std::string& source) {
  if (source.rfind("csv:", 0) != 0) return std::nullopt;
  CsvSpec spec;
  spec.path = text(selection, "csv");
  if (spec.path.empty()) spec.path = source.substr(4);
  const json cols = selection.is_object() && selection.contains("columns") ? selection["columns"] : json::object();
  spec.columns = {text(cols, "n"),      text(cols, "c"),      text(cols, "d"), text(cols, "loss"),
                  text(cols, "unique"), text(cols, "epochs"), text(cols, "se")};
  auto it = selection.find("drop_highest");
  if (it != selection.end() && it->is_number_integer()) spec.drop_highest = it->get<int>();
  return spec;
}

ConventionWords convention_words(const json& conventions) {
  return {text(conventions, "params"), text(conventions, "flops")};
}

// Fits stored without conventions were made under the defaults: total N, 6ND.
SweepConventions sweep_conventions_of(const json& conventions) {
  const auto words = convention_words(conventions);
  SweepConventions sc;
  sc.params = words.params == "non_embedding" ? "non_embedding" : "total";
  sc.flops = words.flops.empty() || words.flops == kSixND ? "6nd" : "exact";
  // So a report rebuilds the points of a fit that was allowed to mix schedules.
  auto it = conventions.is_object() ? conventions.find("allow_mixed_schedules") : conventions.end();
  sc.allow_mixed_schedules = it != conventions.end() && it->is_boolean() && it->get<bool>();
  sc.loss = loss_unit(conventions) == kBpbUnit ? "bpb" : "nats";
  return sc;
}

std::string loss_unit(const json& conventions) { return text(conventions, "loss_unit") == kBpbUnit ? kBpbUnit : kNatsUnit; }

std::string loss_unit_words(const std::string& unit) { return unit == kBpbUnit ? "bits per byte" : "nats per token"; }

bool is_loss_unit(const std::string& unit) { return unit == kBpbUnit || unit == kNatsUnit; }

int points_used(const json& selection) {
  if (!selection.is_object()) return -1;
  auto it = selection.find("used");
  return it != selection.end() && it->is_number_integer() ? it->get<int>() : -1;
}

}  // namespace scalelab::fit
