#include "config/config.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace scalelab;

TEST_CASE("the table's defaults are the trainer's") {
  // The trainer's structs have defaults of their own; a row that disagreed would
  // make a config without the key train differently from one the trainer builds.
  for (auto task : {"addition", "induction", "modular", "sparse_parity"}) {
    trainer::RunSpec plain;
    plain.task.name = task;
    auto from_table = config::defaults();
    from_table.task.name = task;
    CHECK(config::canonical_toml(from_table) == config::canonical_toml(plain));
  }
}

TEST_CASE("every key is one row, in a run table") {
  std::set<std::string> seen;
  std::set<std::string_view> tables;
  for (auto t : config::tables()) tables.insert(t);
  for (auto& k : config::keys()) {
    CHECK_MESSAGE(seen.insert(std::string(k.table) + "." + std::string(k.name)).second, k.table, ".", k.name);
    CHECK(tables.count(k.table) == 1);
  }
}

TEST_CASE("keys added after the first runs are written only when set, so older ids stay") {
  trainer::RunSpec s;
  auto before = config::canonical_toml(s);
  CHECK(before.find("embedding_weight_decay") == std::string::npos);
  CHECK(before.find("mlp") == std::string::npos);
  CHECK(before.find("[task]") == std::string::npos);
  s.optim.embedding_weight_decay = 1.0;
  CHECK(config::canonical_toml(s).find("embedding_weight_decay = 1\n") != std::string::npos);
}

TEST_CASE("the canonical text keeps its layout: tables in order, one blank line between") {
  auto text = config::canonical_toml(trainer::RunSpec{});
  CHECK(text.rfind("[data]\nkind = \"text\"\npath = \"\"\nval_fraction = 0.01\n\n[model]\nn_layer = 4\n", 0) == 0);
  CHECK(text.find("decay_fraction = 0.20000000000000001\n\n[eval]\n") != std::string::npos);
  CHECK(text.back() == '\n');
}

TEST_CASE("the mup keys: written only under mup, after embedding_init_std; check_mup blames the key") {
  trainer::RunSpec s;
  CHECK(config::canonical_toml(s).find("parametrization") == std::string::npos);
  s.model.parametrization = "mup";
  s.model.mup_base_width = 32;
  CHECK(config::canonical_toml(s).find("[model]\n") < config::canonical_toml(s).find("parametrization = \"mup\"\nmup_base_width = 32\n\n[train]"));
  std::string blamed;
  auto blame = [&](std::string_view table, std::string_view key, const std::string& what) {
    blamed = std::string(table) + "." + std::string(key) + ": " + what;
  };
  config::check_mup(s, blame);
  CHECK(blamed.empty());
  s.model.mup_base_width = 256;  // d_model 128
  config::check_mup(s, blame);
  CHECK(blamed.rfind("model.mup_base_width: 256 is larger than model.d_model (128)", 0) == 0);
}
