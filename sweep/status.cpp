#include "sweep/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "common/error.h"
#include "common/table.h"
#include "sweep/gpu.h"
#include "sweep/run_config.h"

namespace scalelab::sweep {

namespace {

std::string bar(const SweepStatus& s, int width) {
  if (s.total == 0) return "[" + std::string(width, ' ') + "]";
  // '#' done, '!' failed or diverged, '>' running, '.' pending or cancelled.
  auto cells = [&](int n) { return static_cast<int>(std::lround(static_cast<double>(n) * width / s.total)); };
  int done = cells(s.done), bad = cells(s.failed + s.diverged), run = cells(s.running);
  std::string b = std::string(done, '#') + std::string(bad, '!') + std::string(run, '>');
  b.resize(width, '.');
  return "[" + b + "]";
}

std::string loss(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }

std::string short_id(const std::string& id) { return id.substr(0, 12); }

// Seconds since an ISO-8601 UTC timestamp of the store; < 0 when there is none.
double age_s(const std::string& iso) {
  std::tm tm{};
  if (iso.empty() || !strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return -1;
  return std::difftime(std::time(nullptr), timegm(&tm));
}

// A running run whose worker stopped sending heartbeats (every 5 s) is most
// likely dead; the next `scalelab sweep` takes it back.
constexpr double kStaleHeartbeatS = 60;

}  // namespace

namespace {

double inherited_tokens(const store::SweepRun& r) {
  if (!r.fork_step || r.branch_config_toml.empty()) return 0;
  try {
    const auto rc = parse_run_config(r.branch_config_toml, r.name, false);
    return std::min(r.planned_tokens, double(*r.fork_step) * double(rc.spec.batch_tokens));
  } catch (const UserError&) {
    return 0;  // a config this build cannot read: the whole run is counted
  }
}

}  // namespace

std::string sweep_state(const store::SweepRun& r) {
  // A leased run is in a worker's hands even before the worker marks it running.
  if ((r.status == "pending" || r.status == "stopped") && r.lease) return "running";
  if (r.status == "stopped") return r.cancel_requested ? "cancelled" : "pending";
  return r.status;
}

SweepStatus sweep_status(const store::Store& st, const store::Sweep& sweep) {
  SweepStatus s;
  s.sweep = sweep;
  s.runs = st.sweep_runs(sweep.id);
  double remaining = 0;
  for (auto& r : s.runs) {
    ++s.total;
    auto state = sweep_state(r);
    if (state == "pending") ++s.pending;
    else if (state == "running") ++s.running;
    else if (state == "done") ++s.done;
    else if (state == "failed") ++s.failed;
    else if (state == "diverged") ++s.diverged;
    else if (state == "cancelled") ++s.cancelled;
    // A ladder branch's first fork_step steps are its trunk's: counted there, not twice.
    const double inherited = inherited_tokens(r);
    const double planned = r.planned_tokens - inherited;
    double done = state == "done" ? planned : std::clamp(r.tokens_done - inherited, 0.0, planned);
    s.tokens_total += planned;
    s.tokens_done += done;
    s.flops_total += planned * r.flops_per_token;
    s.flops_done += done * r.flops_per_token;
    if (state == "pending" || state == "running") remaining += (planned - done) * r.flops_per_token;
    if (state == "running") {
      s.flops_per_s += r.tokens_per_s * r.flops_per_token;
      if (auto m = st.last_metric(r.id, "train")) s.live_loss[r.id] = m->loss;
    }
  }
  if (s.flops_per_s > 0) s.eta_s = remaining / s.flops_per_s;
  else if (remaining == 0) s.eta_s = 0;
  return s;
}

std::string status_line(const SweepStatus& s) {
  return fmt::format("{} {}/{} done, {} running, {} pending, {} failed, {} diverged{} | tokens {}/{} | "
                     "FLOPs {:.3g}/{:.3g} | ETA {}",
                     printable(s.sweep.name), s.done, s.total, s.running, s.pending, s.failed, s.diverged,
                     s.cancelled ? fmt::format(", {} cancelled", s.cancelled) : "", si(s.tokens_done),
                     si(s.tokens_total), s.flops_done, s.flops_total,
                     s.settled() ? "done" : s.eta_s >= 0 ? duration(s.eta_s) : "-");
}

std::vector<std::string> progress_lines(const SweepStatus& s) {
  std::vector<std::string> out{status_line(s)};
  for (const auto& r : s.runs) {
    if (sweep_state(r) != "running") continue;
    auto it = s.live_loss.find(r.id);
    out.push_back(fmt::format("    {} step {} loss {} {} tok/s", printable(r.name), r.steps_done,
                              it == s.live_loss.end() ? "-" : fmt::format("{:.4f}", it->second),
                              r.tokens_per_s > 0 ? si(r.tokens_per_s) : "-"));
  }
  return out;
}

std::vector<std::string> render_status(const SweepStatus& s, int max_rows) {
  std::vector<std::string> out;
  out.push_back(fmt::format("sweep {} ({})", printable(s.sweep.name), short_id(s.sweep.id)));
  out.push_back(fmt::format("  {} {}/{} done | {} running | {} pending | {} failed | {} diverged{}", bar(s, 30),
                            s.done, s.total, s.running, s.pending, s.failed, s.diverged,
                            s.cancelled ? fmt::format(" | {} cancelled", s.cancelled) : ""));
  out.push_back(fmt::format("  tokens {}/{} | FLOPs {:.3g}/{:.3g} ({:.0f}%) | ETA {}", si(s.tokens_done),
                            si(s.tokens_total), s.flops_done, s.flops_total,
                            s.flops_total > 0 ? 100 * s.flops_done / s.flops_total : 0.0,
                            s.settled() ? "done" : s.eta_s >= 0 ? duration(s.eta_s) : "-"));
  auto lines = [&](const std::string& text) {
    std::size_t start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start))
      out.push_back("    " + text.substr(start, end - start));
  };
  if (s.running > 0) {
    Table t({"id", "name", ">step", ">tokens", ">loss", ">bpb", ">tok/s", ">MFU", ">attempt", "note"});
    int n = 0;
    for (auto& r : s.runs) {
      if (sweep_state(r) != "running") continue;
      if (n++ == max_rows) break;
      auto it = s.live_loss.find(r.id);
      t.add({short_id(r.id), r.name, std::to_string(r.steps_done),
             fmt::format("{}/{}", si(r.tokens_done), si(r.planned_tokens)),
             it != s.live_loss.end() ? fmt::format("{:.4f}", it->second) : "-",
             it != s.live_loss.end() ? loss(store::loss_bpb(it->second, r.train_bytes_per_token)) : "-",
             r.tokens_per_s > 0 ? si(r.tokens_per_s) : "-", mfu_text(r.mfu), std::to_string(r.attempts),
             age_s(r.heartbeat_at) > kStaleHeartbeatS
                 ? fmt::format("no heartbeat for {}", duration(age_s(r.heartbeat_at)))
                 : ""});
    }
    out.push_back("  running:");
    lines(t.render());
  }
  if (auto note = missing_peak_note(s.runs); !note.empty() && s.running > 0) out.push_back("  " + note);
  if (s.failed + s.diverged > 0) {
    Table t({"id", "name", "status", "error", "log"});
    int n = 0;
    for (auto& r : s.runs) {
      auto state = sweep_state(r);
      if (state != "failed" && state != "diverged") continue;
      if (n++ == max_rows) break;
      t.add({short_id(r.id), r.name, state, r.error.empty() ? "-" : r.error, r.log_path.empty() ? "-" : r.log_path});
    }
    out.push_back("  failed or diverged:");
    lines(t.render());
  }
  if (s.settled() && s.done > 0) {
    // The result, by final validation loss: what a finished sweep is for.
    auto best = std::min_element(s.runs.begin(), s.runs.end(), [](auto& a, auto& b) {
      double la = a.final_val_loss.value_or(INFINITY), lb = b.final_val_loss.value_or(INFINITY);
      return la < lb;
    });
    if (best != s.runs.end() && best->final_val_loss) {
      const auto bpb = store::loss_bpb(best->final_val_loss, best->bytes_per_token);
      out.push_back(fmt::format("  lowest val loss: {}{} {} ({}){}", loss(best->final_val_loss),
                                bpb ? fmt::format(" ({:.4f} bits/byte)", *bpb) : "", best->name, short_id(best->id),
                                best->mfu ? ", MFU " + mfu_text(best->mfu) : ""));
    }
  }
  return out;
}

}  // namespace scalelab::sweep
