#pragma once
// Corpora prepared from what Debian ships: the King James Bible of bible-kjv,
// one verse per line, as plain UTF-8 text.
#include <cstddef>
#include <string>

namespace scalelab::trainer {

struct KjvText {
  std::size_t verses = 0, bytes = 0;
};

// Writes the whole Bible (Gen1:1-Rev22:21) to out_path, atomically. UserError
// when bible-kjv is missing or incomplete, or the path is not writable.
KjvText write_kjv(const std::string& out_path);

}  // namespace scalelab::trainer
