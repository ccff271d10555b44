#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace trd {

/// Uniform index in [0, n) from the engine's bits. The standard distributions
/// differ between standard libraries, and a seed must give the same draws
/// everywhere.
inline int64_t uniform_index(std::mt19937_64& engine, int64_t n) {
  const double unit = static_cast<double>(engine() >> 11) * 0x1.0p-53;
  return std::min(n - 1, static_cast<int64_t>(unit * static_cast<double>(n)));
}

/// Uniform in [0, 1) from the engine's bits, for the same reason.
inline double uniform_unit(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

}  // namespace trd
