// `scalelab data kjv | stats | tokenize`: corpora to train on.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

#include "app/commands.h"
#include "common/error.h"
#include "tokenizer/tokenizer.h"
#include "trainer/kjv.h"
#include "trainer/trainer.h"

namespace scalelab::app {

namespace fs = std::filesystem;

namespace {

void add_tokenize(CLI::App& data) {
  auto* cmd = data.add_subcommand("tokenize", "Train (or load) a SentencePiece tokenizer and write train.bin/val.bin");
  static tokenizer::Options o;
  static bool json = false, quiet = false;
  cmd->add_option("text", o.text, "UTF-8 text file")->required();
  cmd->add_option("--out", o.out, "Tokens folder to write (docs/data.md)")->required();
  cmd->add_option("--vocab", o.vocab, "Vocabulary size, 259..65535 (default with --model: the model's)");
  cmd->add_option("--model-type", o.model_type, "bpe (default) or unigram");
  cmd->add_option("--model", o.model, "An existing SentencePiece .model to use instead of training one");
  cmd->add_option("--val-fraction", o.val_fraction, "Share of the text held out as validation (default 0.01)");
  cmd->add_option("--seed", o.seed, "Seed of SentencePiece's random generator (default 1)");
  cmd->add_option("--threads", o.encode_threads, "Threads for encoding (default 2; training uses 2)");
  cmd->add_flag("--force", o.force, "Replace an --out holding another tokenization");
  cmd->add_flag("--json", json, "A JSON summary on stdout");
  cmd->add_flag("--quiet", quiet, "No progress on stderr");
  cmd->callback([] {
    if (o.encode_threads < 1) user_error("--threads {}: expected a positive number", o.encode_threads);
    o.progress = !quiet && !json;
    const auto r = tokenizer::tokenize_isolated(o);
    if (json) {
      auto j = nlohmann::ordered_json::parse(r.meta_json);
      j["out"] = r.out;
      j["up_to_date"] = r.up_to_date;
      j["seconds"] = {{"train_tokenizer", r.train_s}, {"encode", r.encode_s}, {"total", r.total_s}};
      return fmt::print("{}\n", j.dump());
    }
    if (r.up_to_date) return fmt::print("{}: up to date (same source and tokenizer); nothing written\n", r.out);
    fmt::print("wrote {}: {} vocab {}, train {} tokens ({:.3f} bytes/token), val {} tokens ({:.3f} bytes/token); "
               "tokenizer {:.1f}s, encoding {:.1f}s, total {:.1f}s\n",
               r.out, r.model_type, r.vocab, r.train.tokens, r.train.bytes_per_token, r.val.tokens,
               r.val.bytes_per_token, r.train_s, r.encode_s, r.total_s);
  });
}

}  // namespace

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
  add_tokenize(*data);
}

}  // namespace scalelab::app
