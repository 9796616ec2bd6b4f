#include "sweep/slurm.h"

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

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
  auto text = render_script(s);
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
