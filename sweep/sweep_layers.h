#pragma once
// Internal to sweep_config.cpp: reading a sweep config's layers (`extends`).
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace scalelab::sweep {

// The file a node came from, and "FILE:LINE" for messages.
std::string file_of(const toml::node& n, const std::string& fallback);
std::string where(const toml::node& n, const std::string& fallback);
// Parses `path` and every file it extends into one table, bases first; `chain`
// holds the files being extended (cycles), `files` every file read.
toml::table load_layers(const std::string& path, std::vector<std::string>& chain, std::vector<std::string>& files);

}  // namespace scalelab::sweep
