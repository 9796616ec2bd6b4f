#include "sweep/slurm.h"

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "store/cluster.h"
#include "sweep/test_files.h"

using namespace scalelab::sweep::slurm;

namespace {

// What bash makes of `printf %s WORD`: the quoting must round-trip every byte.
std::string through_bash(const std::string& word) {
  const std::string path = "/tmp/scalelab-quote-test.sh";
  {
    std::ofstream f(path);
    f << "printf %s " << word << "\n";
  }
  FILE* p = popen(("bash " + path).c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[256];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  std::remove(path.c_str());
  return out;
}

}  // namespace

TEST_CASE("shell_quote round-trips through bash") {
  for (std::string s : {"plain", "", "two words", "it's", "'", "''", "$(touch /tmp/pwned)", "`id`", "a;b", "a\nb",
                        "\"double\"", "back\\slash", "$HOME", "*", "-n", "tab\there", "!bang"}) {
    CAPTURE(s);
    CHECK(through_bash(shell_quote(s)) == s);
  }
  CHECK(shell_quote("it's") == "'it'\\''s'");
}

TEST_CASE("MaxArraySize is read from scontrol show config") {
  CHECK(parse_max_array_size("MailProg                = /bin/true\nMaxArraySize            = 1001\nMaxJobCount = 10000\n") ==
        1001);
  CHECK(parse_max_array_size("MaxArraySize=4\n") == 4);
  CHECK(!parse_max_array_size("MaxJobCount = 10000\n"));
}

TEST_CASE("arrays split at MaxArraySize") {
  using V = std::vector<std::pair<int, int>>;
  CHECK(array_chunks(5, 1001) == V{{0, 5}});
  CHECK(array_chunks(10, 4) == V{{0, 4}, {4, 8}, {8, 10}});
  CHECK(array_chunks(8, 4) == V{{0, 4}, {4, 8}});
  CHECK(array_chunks(0, 4).empty());
}

TEST_CASE("job states: active or final") {
  for (auto s : {"PENDING", "RUNNING", "REQUEUED", "COMPLETING", "CONFIGURING", "SUSPENDED", "REQUEUE_HOLD"})
    CHECK(is_active_state(s));
  for (auto s : {"COMPLETED", "FAILED", "CANCELLED", "CANCELLED by 0", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                 "PREEMPTED", "VANISHED"})
    CHECK(!is_active_state(s));
}

TEST_CASE("squeue, scontrol and sacct output") {
  auto m = parse_squeue("  12_0|COMPLETED\n12_1|RUNNING\nnonsense\n13_[2-4]|PENDING\n");
  CHECK(m.size() == 3);
  CHECK(m["12_0"] == "COMPLETED");
  CHECK(m["12_1"] == "RUNNING");
  auto j = parse_scontrol_job("JobId=15 ArrayJobId=14 ArrayTaskId=1 JobName=x JobState=FAILED Reason=NonZeroExitCode "
                              "Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=2:0 RunTime=00:00:01");
  REQUIRE(j);
  CHECK(j->state == "FAILED");
  CHECK(j->exit_code == 2);
  CHECK(j->signal == 0);
  CHECK(!parse_scontrol_job("slurm_load_jobs error: Invalid job id specified"));
  auto a = parse_sacct("14_0|COMPLETED|0:0\n14_1|CANCELLED by 0|0:15\n", "14_1");
  REQUIRE(a);
  CHECK(a->state == "CANCELLED");
  CHECK(a->signal == 15);
  CHECK(!parse_sacct("14_0|COMPLETED|0:0\n", "14_2"));
}

TEST_CASE("time limits in SLURM's formats") {
  CHECK(parse_time_limit("02:00:00") == 7200);
  CHECK(parse_time_limit("00:01:00") == 60);
  CHECK(parse_time_limit("90") == 5400);  // minutes
  CHECK(parse_time_limit("5:30") == 330);
  CHECK(parse_time_limit("1-02") == 93600);
  CHECK(parse_time_limit("1-00:00:10") == 86410);
  CHECK(parse_time_limit("soon") == -1);
}

TEST_CASE("the batch script quotes every value it did not compute") {
  ScriptSpec s;
  s.sweep_name = "it's; $(rm -rf /) \"x\"\nnext";
  s.sweep_id = "abc";
  s.list_path = "/runs dir/it's/part0.runs";
  s.runs_dir = "/runs dir/it's";
  s.exe = "/opt/scale lab/scalelab";
  s.device = "cpu";
  s.threads = 2;
  s.submit_line = "sbatch 'x'";
  s.worker_flags = {"--peak-tflops", "989", "--cuda-graphs"};
  auto text = render_script(s);
  CHECK(text.find("--threads '2' '--peak-tflops' '989' '--cuda-graphs'\n") != std::string::npos);
  CHECK(text.find("sweep='it'\\''s; $(rm -rf /) \"x\"\nnext'") != std::string::npos);
  CHECK(text.find("runs_dir='/runs dir/it'\\''s'") != std::string::npos);
  CHECK(text.find("exec '/opt/scale lab/scalelab' train") != std::string::npos);
  // The script parses: bash -n accepts it.
  const std::string path = "/tmp/scalelab-script-test.sh";
  {
    std::ofstream f(path);
    f << text;
  }
  CHECK(std::system(("bash -n " + path).c_str()) == 0);
  std::remove(path.c_str());
}

TEST_CASE("a submission is found again by its job name") {
  const auto name = job_name("0123456789abcdef", "a1b2c3d4e5f6");
  CHECK(name == "scalelab:01234567:a1b2c3d4e5f6");
  CHECK(new_token().size() == 12);
  CHECK(new_token() != new_token());
  // squeue -r lists every task; a pending array may still show as one line.
  CHECK(array_ids("  41_0|RUNNING\n41_1|PENDING\n41_[2-4]|PENDING\n") == std::set<std::string>{"41"});
  CHECK(array_ids("41_0|COMPLETED\n42|PENDING\n") == std::set<std::string>{"41", "42"});
  CHECK(array_ids("").empty());
  CHECK(array_ids("Slurm accounting storage is disabled\n").empty());
  const std::string log =
      "=== 2026-01-01T00:00:00Z sweep s (0123) | slurm job 40_2 (scalelab:01234567:other) on n1 | run r\n"
      "step 1 loss 5\n"
      "=== 2026-01-01T00:01:00Z sweep s (0123) | slurm job 41_2 (" + name + ") on n1 | run r\n";
  CHECK(job_in_log(log, name).value_or("") == "41_2");
  CHECK(!job_in_log(log, "scalelab:01234567:nothere"));
  CHECK(!job_in_log("step 1 loss 5 | slurm job 9_9 (" + name + ") on n1\n", name));  // not a header
  CHECK(task_index("aaa\nbbb\nccc\n", "ccc") == 2);
  CHECK(task_index("aaa\nbbb\n", "ccc") == -1);
}

TEST_CASE("an unconfirmed submission is recorded, cleared only on proof, else held") {
  CHECK(reconcile_verdict(true, 1, false) == Verdict::record);   // found: recorded, whoever submitted it
  CHECK(reconcile_verdict(false, 1, true) == Verdict::record);   // found in a worker log though squeue is down
  CHECK(reconcile_verdict(true, 0, true) == Verdict::clear);     // queue answered, nothing anywhere, submitter dead
  CHECK(reconcile_verdict(true, 0, false) == Verdict::hold);     // the submitter may still be inside sbatch
  CHECK(reconcile_verdict(false, 0, true) == Verdict::hold);     // queue down: never resubmit blindly
  CHECK(reconcile_verdict(true, 2, true) == Verdict::hold);      // two arrays under one name: never guess
}

TEST_CASE("a SUBMITTING row holds its run until it is confirmed or abandoned") {
  namespace store = scalelab::store;
  scalelab::sweep::testing::Dir dir;
  auto st = dir.open_store();
  auto a = store::testing::make_run("cccc000000000001", "sw"), b = store::testing::make_run("cccc000000000002", "sw");
  st->register_sweep(store::Sweep{"sw", "sweep", "", ""}, {a, b});
  store::Lease l;
  l.owner = "login:1";
  l.host = "login";
  l.pid = 1;
  l.expires_at = 1e10;
  REQUIRE(st->claim_run("sw", l) == a.id);
  REQUIRE(st->claim_run("sw", l) == b.id);
  std::vector<store::ClusterJob> rows(2);
  rows[0].run_id = a.id, rows[1].run_id = b.id;
  for (auto& r : rows) r.job_id = "scalelab:sw:tok", r.shard = dir.path(r.run_id + "/result.db"), r.script = "p.sh";
  store::record_submitting(*st, rows, "login:1");
  for (auto& x : st->leases("sw")) {
    CHECK(x.owner == "slurm:scalelab:sw:tok");
    CHECK(x.host == "login");  // the submitter's, to tell whether it is gone
    CHECK(x.expires_at > 1e14);
  }
  CHECK(!st->claim_run("sw", l));
  auto jobs = store::cluster_jobs(*st, "sw", true);
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].state == store::kSubmitting);
  CHECK_THROWS(store::record_submitting(*st, rows, "login:1"));  // no longer the claim's

  CHECK(store::confirm_submission(*st, a.id, "scalelab:sw:tok", "41_0"));
  CHECK(!store::confirm_submission(*st, a.id, "scalelab:sw:tok", "41_0"));  // twice: nothing more
  CHECK(st->run(a.id)->attempts == 1);
  store::abandon_submission(*st, b.id, "scalelab:sw:tok");
  jobs = store::cluster_jobs(*st, "sw", true);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].job_id == "41_0");
  CHECK(jobs[0].state == "PENDING");
  auto leases = st->leases("sw");
  REQUIRE(leases.size() == 1);
  CHECK(leases[0].owner == "slurm:41_0");
  CHECK(st->run(b.id)->attempts == 0);
  CHECK(st->claim_run("sw", l) == b.id);  // provably never submitted: claimable again
}
