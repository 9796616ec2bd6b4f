#include "trainer/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "common/error.h"

namespace scalelab::trainer {

namespace fs = std::filesystem;

namespace {

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::system_error(err, std::generic_category(), "fsync " + path);
}

at::Generator cpu_generator() { return at::detail::getDefaultCPUGenerator(); }

std::int64_t read_int(torch::serialize::InputArchive& a, const char* key) {
  c10::IValue v;
  a.read(key, v);
  return v.toInt();
}

double read_double(torch::serialize::InputArchive& a, const char* key) {
  c10::IValue v;
  a.read(key, v);
  return v.toDouble();
}

// InputArchive::read would re-seat a defined tensor onto the file's storage; the
// parameters must stay views of the flat buffer, so read fresh and copy.
void read_into(torch::serialize::InputArchive& a, const char* key, torch::Tensor& dst,
               const std::string& path, const char* remedy) {
  torch::Tensor src;
  a.read(key, src);
  if (src.numel() != dst.numel())
    user_error("checkpoint '{}' holds {} values for '{}', this run has {}: it was written for a "
               "different model; {}",
               path, src.numel(), key, dst.numel(), remedy);
  torch::NoGradGuard no_grad;
  dst.copy_(src.view(dst.sizes()));
}

torch::serialize::InputArchive open_archive(const std::string& path, const char* remedy) {
  torch::serialize::InputArchive a;
  try {
    a.load_from(path);
  } catch (const c10::Error& e) {
    user_error("checkpoint '{}' is unreadable ({}); {}", path, e.what_without_backtrace(), remedy);
  }
  return a;
}

// Parameters, AdamW moments and step count, and the CPU RNG: all the state that
// decides the next step's numbers.
void restore_state(torch::serialize::InputArchive& a, Engine& engine, const std::string& path,
                   const char* remedy) {
  FlatAdamW& opt = engine.optimizer();
  torch::Tensor params = opt.params();
  read_into(a, "params", params, path, remedy);
  read_into(a, "exp_avg", opt.exp_avg(), path, remedy);
  read_into(a, "exp_avg_sq", opt.exp_avg_sq(), path, remedy);
  opt.set_steps(read_int(a, "adam_steps"));
  torch::Tensor rng;
  a.read("rng_cpu", rng);
  auto gen = cpu_generator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(rng);
}

}  // namespace

std::string checkpoint_path(const std::string& run_dir) {
  return (fs::path(run_dir) / "checkpoint.pt").string();
}

void save_checkpoint_as(const std::string& path, Engine& engine, const Progressed& p,
                        std::int64_t total_steps) {
  FlatAdamW& opt = engine.optimizer();
  torch::serialize::OutputArchive a;
  a.write("params", opt.params().to(torch::kCPU));
  a.write("exp_avg", opt.exp_avg().to(torch::kCPU));
  a.write("exp_avg_sq", opt.exp_avg_sq().to(torch::kCPU));
  a.write("adam_steps", c10::IValue(opt.steps()));
  a.write("step", c10::IValue(p.step));
  a.write("tokens", c10::IValue(p.tokens));
  a.write("wall_s", c10::IValue(p.wall_s));
  a.write("total_steps", c10::IValue(total_steps));
  a.write("tokens_per_step", c10::IValue(engine.tokens_per_step()));
  {
    auto gen = cpu_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    a.write("rng_cpu", gen.get_state());
  }
  const std::string tmp = path + ".tmp";
  a.save_to(tmp);
  fsync_path(tmp, O_RDONLY);
  fs::rename(tmp, path);
  const fs::path dir = fs::path(path).parent_path();
  fsync_path(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY);  // make the rename itself durable
}

void save_checkpoint(const std::string& run_dir, Engine& engine, const Progressed& p,
                     std::int64_t total_steps) {
  save_checkpoint_as(checkpoint_path(run_dir), engine, p, total_steps);
}

std::optional<Progressed> load_checkpoint(const std::string& run_dir, Engine& engine,
                                          std::int64_t total_steps) {
  const std::string path = checkpoint_path(run_dir);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  const char* remedy = "use a fresh run directory";
  torch::serialize::InputArchive a = open_archive(path, "delete it to restart the run");
  const std::int64_t saved_total = read_int(a, "total_steps");
  const std::int64_t saved_tps = read_int(a, "tokens_per_step");
  if (saved_total != total_steps || saved_tps != engine.tokens_per_step())
    user_error("checkpoint '{}' belongs to a run of {} steps x {} tokens; this run is {} x {}: "
               "resume with the original spec or use a fresh run directory",
               path, saved_total, saved_tps, total_steps, engine.tokens_per_step());
  restore_state(a, engine, path, remedy);
  Progressed p;
  p.step = read_int(a, "step");
  p.tokens = read_double(a, "tokens");
  p.wall_s = read_double(a, "wall_s");
  return p;
}

// The trunk ran for another total_steps, so that is not compared; everything a
// step computes with (batch size, tensor shapes) is.
Progressed load_fork_checkpoint(const std::string& path, Engine& engine) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    const std::string stem = fs::path(path).stem().string();
    const std::string step = stem.rfind("fork-", 0) == 0 ? stem.substr(5) : "the fork step";
    user_error("fork checkpoint {} not found: the trunk has not reached step {} yet", path, step);
  }
  const char* remedy = "fork from a trunk of the same model";
  torch::serialize::InputArchive a = open_archive(path, "rerun the trunk to rewrite it");
  const std::int64_t saved_tps = read_int(a, "tokens_per_step");
  if (saved_tps != engine.tokens_per_step())
    user_error("fork checkpoint '{}' belongs to a run of {} tokens per step; this run has {}: "
               "a branch must use its trunk's batch_tokens",
               path, saved_tps, engine.tokens_per_step());
  restore_state(a, engine, path, remedy);
  Progressed p;
  p.step = read_int(a, "step");
  // The branch's own progress: its tokens from its own batch, and none of the trunk's time.
  p.tokens = double(p.step) * double(engine.tokens_per_step());
  p.wall_s = 0;
  return p;
}

}  // namespace scalelab::trainer
