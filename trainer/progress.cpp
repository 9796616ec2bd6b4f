#include "trainer/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <numbers>

#include "common/table.h"

namespace scalelab::trainer {

namespace {

std::string eta(double s) {
  if (!std::isfinite(s) || s < 0) return "-";
  if (s < 60) return fmt::format("{:.0f}s", s);
  return duration(s);
}

// JSON has no NaN or Infinity; six significant digits are plenty for progress.
std::string json_number(double v, int decimals = -1) {
  if (!std::isfinite(v)) return "null";
  return decimals < 0 ? fmt::format("{:.6g}", v) : fmt::format("{:.{}f}", v, decimals);
}

}  // namespace

std::string progress_line(const ProgressState& s, bool byte_level) {
  std::string loss = "-";
  if (s.loss) {
    loss = fmt::format("{:.3f}", *s.loss);
    if (byte_level) loss += fmt::format(" ({:.2f} bpb)", *s.loss / std::numbers::ln2);
  }
  return fmt::format("step {}/{} | tokens {}/{} | loss {} | {} tok/s | ETA {}", s.step,
                     s.total_steps, si(s.tokens), si(s.total_tokens), loss, si(s.tok_per_s),
                     eta(s.eta_s));
}

std::string progress_json(const ProgressState& s) {
  return fmt::format(
      "{{\"event\":\"progress\",\"step\":{},\"total_steps\":{},\"tokens\":{},\"loss\":{},"
      "\"tok_per_s\":{},\"eta_s\":{}}}",
      s.step, s.total_steps, json_number(s.tokens, 0), s.loss ? json_number(*s.loss) : "null",
      json_number(s.tok_per_s, 1), json_number(s.eta_s, 1));
}

ProgressReporter::ProgressReporter(Progress mode, bool byte_level)
    : mode_(mode), byte_level_(byte_level), tty_(::isatty(STDERR_FILENO) == 1) {}

bool ProgressReporter::due() const {
  return mode_ != Progress::Quiet &&
         std::chrono::steady_clock::now() - last_ >= std::chrono::seconds(1);
}

void ProgressReporter::report(const ProgressState& s, bool final) {
  last_ = std::chrono::steady_clock::now();
  switch (mode_) {
    case Progress::Quiet:
      return;
    case Progress::Json:
      fmt::print(stdout, "{}\n", progress_json(s));
      std::fflush(stdout);
      return;
    case Progress::Line: {
      std::string line = progress_line(s, byte_level_);
      if (tty_) {
        // Redraw in place; pad over a longer previous line.
        const std::size_t width = line.size();
        if (width < last_width_) line.append(last_width_ - width, ' ');
        last_width_ = width;
        fmt::print(stderr, "\r{}{}", line, final ? "\n" : "");
      } else {
        fmt::print(stderr, "{}\n", line);
      }
      std::fflush(stderr);
      return;
    }
  }
}

}  // namespace scalelab::trainer
