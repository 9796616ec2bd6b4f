#include "trainer/kjv.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "common/error.h"

namespace scalelab::trainer {

namespace fs = std::filesystem;

namespace {

// `bible -f` prints one verse per line as "Ge1:1 In the beginning ...";
// the label is not English and would teach the model a second alphabet.
std::string strip_verse_label(const std::string& line) {
  static const std::regex label(R"(^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ )");
  return std::regex_replace(line, label, "", std::regex_constants::format_first_only);
}

}  // namespace

KjvText write_kjv(const std::string& out_path) {
  if (std::system("command -v bible >/dev/null 2>&1") != 0)
    user_error("the 'bible' program was not found; install Debian's bible-kjv package (apt-get install bible-kjv)");
  FILE* p = popen("bible -f 'Gen1:1-Rev22:21' 2>/dev/null", "r");
  if (!p) user_error("could not start 'bible': {}", std::strerror(errno));
  fs::path out(out_path);
  std::error_code ec;
  if (fs::is_directory(out, ec)) {
    pclose(p);
    user_error("--out: {} is a directory; expected the path of the text file to write", out_path);
  }
  if (out.has_parent_path() && (fs::create_directories(out.parent_path(), ec), ec)) {
    pclose(p);
    user_error("--out: cannot create the directory {} ({})", out.parent_path().string(), ec.message());
  }
  // Written beside the target and renamed, so a killed run never leaves half a corpus.
  fs::path tmp = out;
  tmp += ".tmp";
  std::ofstream f(tmp, std::ios::binary);
  if (!f) {
    pclose(p);
    user_error("{}: cannot write; expected a writable path for --out", out_path);
  }
  KjvText got;
  std::string line;
  char buf[1 << 16];
  while (fgets(buf, sizeof buf, p)) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;
    auto text = strip_verse_label(line);
    f << text;
    got.bytes += text.size();
    ++got.verses;
    line.clear();
  }
  const int rc = pclose(p);
  f.close();
  if (rc != 0 || got.verses < 30000 || !f) {
    fs::remove(tmp);
    user_error("'bible -f Gen1:1-Rev22:21' failed or printed only {} verses; is bible-kjv installed completely?",
               got.verses);
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove(tmp);
    user_error("--out: cannot write {} ({})", out_path, ec.message());
  }
  return got;
}

}  // namespace scalelab::trainer
