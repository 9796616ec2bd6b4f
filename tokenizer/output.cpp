// The tokens directory on disk (tokenizer/output.h).
#include "tokenizer/output.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "trainer/bpb.h"

namespace scalelab::tokenizer::detail {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

[[noreturn]] void occupied(const std::string& out, const std::string& why) {
  user_error("--out {}: {}; expected a new or empty folder, or --force to replace it", out, why);
}

// The tokenization DIR/meta.json describes is this one, and its files are whole.
std::string mismatch(const fs::path& dir, const trainer::TokensMeta& m, const Identity& id) {
  if (m.source_sha256 != id.source_sha256) return "source sha256 " + m.source_sha256.substr(0, 12);
  if (m.val_fraction != id.val_fraction) return fmt::format("val_fraction {:g}", m.val_fraction);
  if (m.model_type != id.model_type || m.vocab != id.vocab)
    return fmt::format("{} vocab {}", m.model_type, m.vocab);
  if (!id.model_sha256.empty() && m.sha256 != id.model_sha256) return "tokenizer sha256 " + m.sha256.substr(0, 12);
  if (id.model_sha256.empty() && m.seed != id.seed) return fmt::format("seed {}", m.seed);
  const auto model = dir / m.file;
  if (!fs::is_regular_file(model) || sha256_hex(slurp(model)) != m.sha256) return "a tokenizer.model not matching it";
  std::error_code ec;
  if (fs::file_size(dir / "train.bin", ec) != std::uint64_t(m.train.tokens) * 2 ||
      fs::file_size(dir / "val.bin", ec) != std::uint64_t(m.val.tokens) * 2)
    return "train.bin/val.bin not of the sizes it gives";
  return "";
}

void write_file(const fs::path& p, const void* data, std::size_t n) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) user_error("{}: cannot create: {}", p.string(), std::strerror(errno));
  const auto* c = static_cast<const char*>(data);
  while (n > 0) {
    const auto w = ::write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      const int e = errno;
      ::close(fd);
      if (e == ENOSPC || e == EDQUOT) resource_error("{}: the disk is full", p.string());
      throw std::runtime_error(fmt::format("{}: write failed: {}", p.string(), std::strerror(e)));
    }
    c += w, n -= std::size_t(w);
  }
  if (::fsync(fd) != 0 && (errno == ENOSPC || errno == EDQUOT)) {
    ::close(fd);
    resource_error("{}: the disk is full", p.string());
  }
  ::close(fd);
}

void fsync_dir(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) ::fsync(fd), ::close(fd);
}

// DIR.tmp-<pid> of a process that is gone: a killed run's leftovers, never read.
void remove_stale_temps(const fs::path& out) {
  std::error_code ec;
  const auto parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string prefix = out.filename().string() + ".tmp-";
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const auto pid = std::atol(name.c_str() + prefix.size());
    if (pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
  }
}

}  // namespace

OutState check_out(const std::string& out, const Identity& id, bool force) {
  const fs::path dir(out);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return OutState::free;
  if (!fs::is_directory(dir)) user_error("--out {}: a file; expected a folder to write the tokens into", out);
  if (fs::is_empty(dir, ec)) return OutState::free;
  std::optional<trainer::TokensMeta> meta;
  try {
    meta = trainer::read_tokens_meta(out);
  } catch (const UserError& e) {
    if (force) return OutState::free;
    occupied(out, std::string("its meta.json is not readable (") + e.what() + ")");
  }
  if (!meta) {
    if (force) return OutState::free;
    occupied(out, "it holds files but no meta.json, so not a tokens folder of this command");
  }
  const auto why = mismatch(dir, *meta, id);
  if (why.empty()) return OutState::up_to_date;
  if (force) return OutState::free;
  occupied(out, "it holds another tokenization (" + why + ")");
}

std::string meta_json(const Identity& id, const std::string& model_sha256, const SplitStats& train,
                      const SplitStats& val) {
  using oj = nlohmann::ordered_json;
  auto split = [](const SplitStats& s) {
    return oj{{"tokens", s.tokens}, {"bytes", s.bytes}, {"bytes_per_token", s.bytes_per_token}};
  };
  const oj j = {{"format", "scalelab-tokens-1"},
                {"tokenizer",
                 {{"kind", "sentencepiece"}, {"model_type", id.model_type}, {"vocab", id.vocab},
                  {"sha256", model_sha256}, {"file", "tokenizer.model"}}},
                {"dtype", "uint16"},
                {"seed", id.seed},
                {"val_fraction", id.val_fraction},
                {"source", {{"path", id.source_path}, {"bytes", id.source_bytes}, {"sha256", id.source_sha256}}},
                {"splits", {{"train", split(train)}, {"val", split(val)}}}};
  return j.dump(2) + "\n";
}

void write_out(const std::string& out, const std::string& model, const std::vector<std::uint16_t>& train,
               const std::vector<std::uint16_t>& val, const std::string& meta) {
  static_assert(std::endian::native == std::endian::little, "train.bin is little-endian uint16");
  const fs::path dir(out);
  remove_stale_temps(dir);
  const fs::path tmp = out + ".tmp-" + std::to_string(::getpid());
  const fs::path old = out + ".old-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  try {
    fs::create_directories(tmp);
    write_file(tmp / "train.bin", train.data(), train.size() * 2);
    write_file(tmp / "val.bin", val.data(), val.size() * 2);
    write_file(tmp / "tokenizer.model", model.data(), model.size());
    write_file(tmp / "meta.json", meta.data(), meta.size());  // last: its presence means the rest is there
    fsync_dir(tmp);
    // A folder that exists (empty, or replaced under --force) moves aside first:
    // DIR is then absent for an instant, never half-written.
    if (fs::exists(dir)) fs::rename(dir, old);
    fs::rename(tmp, dir);
    fsync_dir(dir.parent_path().empty() ? fs::path(".") : dir.parent_path());
    fs::remove_all(old, ec);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace scalelab::tokenizer::detail
