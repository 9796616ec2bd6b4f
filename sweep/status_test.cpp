#include "sweep/status.h"

#include <doctest/doctest.h>

#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;
using sweep::testing::stored_run;

namespace {

void finish(store::Store& st, const std::string& id, const std::string& status, double tokens,
            const std::string& error = "") {
  st.mark_running(id);
  auto r = *st.run(id);
  r.status = status;
  r.error = error;
  r.tokens_done = tokens;
  r.final_val_loss = status == "done" ? std::optional<double>(2.0 + tokens / 1e6) : std::nullopt;
  st.finish_run(r);
}

}  // namespace

TEST_CASE("status counts runs by state, sums tokens and FLOPs, and estimates the rest") {
  Dir d;
  auto st = d.open_store();
  std::vector<store::Run> runs;
  for (int i = 0; i < 6; ++i) runs.push_back(stored_run("run" + std::to_string(i), 1e5));
  st->register_sweep({"sw", "s", "", ""}, runs);
  finish(*st, "run0", "done", 1e5);
  finish(*st, "run1", "diverged", 2e4, "loss is nan at step 7");
  finish(*st, "run2", "failed", 5e4, "killed by SIGKILL near step 9");
  finish(*st, "run3", "stopped", 3e4);  // resumable: counts as pending
  st->mark_running("run4");
  st->heartbeat("run4", 10, 4e4, 1000);
  st->write_metrics({{"run4", 10, 4e4, 4e8, "train", 2.5, 1e-3, 1, 1}});
  st->set_worker("run4", "o:1", 0, "/tmp/run4.log");

  auto s = sweep::sweep_status(*st, *st->sweep("sw"));
  CHECK(s.total == 6);
  CHECK(s.done == 1);
  CHECK(s.diverged == 1);
  CHECK(s.failed == 1);
  CHECK(s.running == 1);
  CHECK(s.pending == 2);
  CHECK(!s.settled());
  CHECK(s.tokens_total == 6e5);
  CHECK(s.tokens_done == 1e5 + 2e4 + 5e4 + 3e4 + 4e4);
  CHECK(s.flops_done == doctest::Approx(s.tokens_done * 1e4));
  CHECK(s.live_loss.at("run4") == 2.5);
  // Left: run3's 7e4, run4's 6e4 and run5's 1e5 tokens, at run4's 1000 tokens/s.
  CHECK(s.eta_s == doctest::Approx(2.3e5 / 1000));
  auto lines = sweep::render_status(s);
  std::string all;
  for (auto& l : lines) all += l + "\n";
  CHECK(all.find("1/6 done") != std::string::npos);
  CHECK(all.find("s/run4") != std::string::npos);
  CHECK(all.find("2.5000") != std::string::npos);
  CHECK(all.find("killed by SIGKILL near step 9") != std::string::npos);
  CHECK(all.find("loss is nan at step 7") != std::string::npos);
  CHECK(sweep::status_line(s).find("s 1/6 done, 1 running, 2 pending, 1 failed, 1 diverged") == 0);
  // The non-TTY progress: the status line, then the running run on a line of its own
  // (a newline inside one line came out as a literal \x0a in logs).
  auto progress = sweep::progress_lines(s);
  REQUIRE(progress.size() == 2);
  CHECK(progress[0] == sweep::status_line(s));
  CHECK(progress[1].find("run4 step") != std::string::npos);
  CHECK(progress[1].find("loss 2.5000") != std::string::npos);
  for (const auto& l : progress) CHECK(l.find('\n') == std::string::npos);
}
