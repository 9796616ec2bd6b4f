// `scalelab data kjv | stats`: corpora to train on.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

#include "app/commands.h"
#include "common/error.h"
#include "trainer/kjv.h"
#include "trainer/trainer.h"

namespace scalelab::app {

namespace fs = std::filesystem;

void add_data_command(CLI::App& root) {
  auto* data = root.add_subcommand("data", "Prepare training corpora");
  data->require_subcommand(1);
  auto* kjv = data->add_subcommand("kjv", "King James Bible text from Debian's bible-kjv, verse labels stripped");
  static std::string out;
  kjv->add_option("--out", out, "Output text file")->required();
  kjv->callback([] {
    auto t = trainer::write_kjv(out);
    fmt::print("wrote {} ({} verses, {:.2f} MB)\n", out, t.verses, t.bytes / 1e6);
  });

  auto* stats = data->add_subcommand("stats", "Size and byte-unigram entropy of a text corpus");
  static std::string path;
  static bool json = false;
  stats->add_option("path", path, "Text file")->required();
  stats->add_flag("--json", json, "JSON output");
  stats->callback([] {
    if (!fs::is_regular_file(path)) user_error("{}: no such file; expected a text corpus", path);
    const double h = trainer::unigram_entropy_nats(path), bits = h / std::log(2.0);
    const auto bytes = fs::file_size(path);
    if (json)
      fmt::print("{}\n", nlohmann::json{{"path", path}, {"bytes", bytes}, {"unigram_entropy_nats", h},
                                        {"unigram_entropy_bits", bits}}.dump());
    else
      fmt::print("{}: {} bytes, byte-unigram entropy {:.4f} nats ({:.4f} bits) per byte\n", path, bytes, h, bits);
  });
}

}  // namespace scalelab::app
