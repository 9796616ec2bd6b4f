#include "trainer/checkpoint.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/error.h"
#include "trainer/zip_check.h"

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

// "No space left on device (12.0 kB free on the filesystem of /runs/abc)".
std::string space_note(int err, const std::string& path) {
  std::string note = std::strerror(err);
  struct statvfs v {};
  const auto dir = fs::path(path).parent_path();
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &v) == 0)
    note += fmt::format(" ({:.1f} kB free on the filesystem of {})",
                        double(v.f_bavail) * double(v.f_frsize) / 1e3, dir.string());
  return note;
}

[[noreturn]] void write_failed(int err, const std::string& tmp, const std::string& note) {
  if (err == ENOSPC || err == EDQUOT) resource_error("the disk is full writing the checkpoint {}: {}", tmp, note);
  user_error("cannot write the checkpoint {}: {}", tmp, note);
}

// LibTorch's file writer throws from its destructor when a write fails, which
// ends the process (a full disk once killed the trainer with SIGABRT). So the
// archive goes through a writer that never fails towards LibTorch: it keeps the
// first error, and that error is reported here, the temp file removed.
void write_archive(torch::serialize::OutputArchive& a, const std::string& tmp) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int open_err = errno;
    write_failed(open_err, tmp, space_note(open_err, tmp));
  }
  int err = 0;
  a.save_to([&](const void* data, std::size_t n) -> std::size_t {
    const char* p = static_cast<const char*>(data);
    for (std::size_t left = n; left > 0 && err == 0;) {
      const ssize_t w = ::write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) err = errno;
      else p += w, left -= static_cast<std::size_t>(w);
    }
    return n;
  });
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0) return;
  const std::string note = space_note(err, tmp);  // before the unlink frees the space
  ::unlink(tmp.c_str());
  write_failed(err, tmp, note);
}

at::Generator cpu_generator() { return at::detail::getDefaultCPUGenerator(); }

std::int64_t read_int(torch::serialize::InputArchive& a, const char* key) {
  c10::IValue v;
  a.read(key, v);
  if (!v.isInt()) user_error("'{}' is not an integer", key);
  return v.toInt();
}

double read_double(torch::serialize::InputArchive& a, const char* key) {
  c10::IValue v;
  a.read(key, v);
  if (!v.isDouble()) user_error("'{}' is not a number", key);
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
  // LibTorch 1.13 does not check the zip's CRCs, and a corrupted archive can
  // crash its script parser (found by fuzz/fuzz_checkpoint.cpp): verify first.
  if (auto bad = zip_damage(path)) user_error("checkpoint '{}' is damaged ({}); {}", path, *bad, remedy);
  torch::serialize::InputArchive a;
  a.load_from(path);
  return a;
}

// Anything LibTorch throws while a checkpoint is read (c10::Error, its script
// parser's runtime_error, a missing key) is a bad file, said in one line.
template <typename F>
auto reading(const std::string& path, const char* remedy, F&& f) {
  try {
    return f();
  } catch (const UserError& e) {
    const std::string what = e.what();
    if (what.rfind("checkpoint", 0) == 0 || what.rfind("fork checkpoint", 0) == 0) throw;
    user_error("checkpoint '{}' is unreadable ({}); {}", path, what, remedy);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    user_error("checkpoint '{}' is unreadable ({}); {}", path, what, remedy);
  }
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
  write_archive(a, tmp);
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
  return reading(path, "delete it to restart the run", [&]() -> std::optional<Progressed> {
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
  });
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
  return reading(path, "rerun the trunk to rewrite it", [&] {
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
  });
}

}  // namespace scalelab::trainer
