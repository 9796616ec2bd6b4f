#pragma once
// A checkpoint is a zip archive (LibTorch's format). LibTorch 1.13 reads it
// without checking the CRC-32s, and some corruptions crash its parser, so the
// loaders check the archive's structure and every entry's CRC first.
#include <optional>
#include <string>

namespace scalelab::trainer {

// What is wrong with the zip at `path` ("entry 'data/3': CRC mismatch"), or
// nullopt when its directory is consistent and every stored entry's CRC matches.
std::optional<std::string> zip_damage(const std::string& path);

}  // namespace scalelab::trainer
