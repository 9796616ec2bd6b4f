#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace scalelab {

// 64-bit FNV-1a. Run ids are the hash of a run's canonical resolved config;
// it is stable across platforms and builds, which std::hash is not.
std::uint64_t fnv1a64(std::string_view data);
std::string hex64(std::uint64_t v);  // 16 lowercase hex digits

}  // namespace scalelab
