// `scalelab data kjv`: the King James Bible from Debian's bible-kjv, as plain text.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "app/commands.h"
#include "common/error.h"
#include "trainer/trainer.h"

namespace scalelab::app {

namespace fs = std::filesystem;

namespace {

// `bible -f` prints one verse per line as "Ge1:1 In the beginning ...";
// the label is not English and would teach the model a second alphabet.
std::string strip_verse_label(const std::string& line) {
  static const std::regex label(R"(^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ )");
  return std::regex_replace(line, label, "", std::regex_constants::format_first_only);
}

void write_kjv(const std::string& out_path) {
  if (std::system("command -v bible >/dev/null 2>&1") != 0)
    user_error("the 'bible' program was not found; install Debian's bible-kjv package (apt-get install bible-kjv)");
  FILE* p = popen("bible -f 'Gen1:1-Rev22:21' 2>/dev/null", "r");
  if (!p) user_error("could not start 'bible': {}", std::strerror(errno));
  fs::path out(out_path);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  // Written beside the target and renamed, so a killed run never leaves half a corpus.
  fs::path tmp = out;
  tmp += ".tmp";
  std::ofstream f(tmp, std::ios::binary);
  if (!f) user_error("{}: cannot write; expected a writable path for --out", out_path);
  std::string line;
  std::size_t verses = 0, bytes = 0;
  char buf[1 << 16];
  while (fgets(buf, sizeof buf, p)) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;
    auto text = strip_verse_label(line);
    f << text;
    bytes += text.size();
    ++verses;
    line.clear();
  }
  int rc = pclose(p);
  if (rc != 0 || verses < 30000)
    user_error("'bible -f Gen1:1-Rev22:21' failed or printed only {} verses; is bible-kjv installed completely?",
               verses);
  f.close();
  fs::rename(tmp, out);
  fmt::print("wrote {} ({} verses, {:.2f} MB)\n", out_path, verses, bytes / 1e6);
}

}  // namespace

void add_data_command(CLI::App& root) {
  auto* data = root.add_subcommand("data", "Prepare training corpora");
  data->require_subcommand(1);
  auto* kjv = data->add_subcommand("kjv", "King James Bible text from Debian's bible-kjv, verse labels stripped");
  static std::string out;
  kjv->add_option("--out", out, "Output text file")->required();
  kjv->callback([] { write_kjv(out); });

  auto* stats = data->add_subcommand("stats", "Size and byte-unigram entropy of a text corpus");
  static std::string path;
  static bool json = false;
  stats->add_option("path", path, "Text file")->required();
  stats->add_flag("--json", json, "JSON output");
  stats->callback([] {
    if (!fs::is_regular_file(path)) user_error("{}: no such file; expected a text corpus", path);
    double h = trainer::unigram_entropy_nats(path);
    auto bytes = fs::file_size(path);
    if (json)
      fmt::print("{}\n", nlohmann::json{{"path", path}, {"bytes", bytes}, {"unigram_entropy_nats", h},
                                        {"unigram_entropy_bits", h / std::log(2.0)}}.dump());
    else
      fmt::print("{}: {} bytes, byte-unigram entropy {:.4f} nats ({:.4f} bits) per byte\n", path, bytes, h,
                 h / std::log(2.0));
  });
}

}  // namespace scalelab::app
