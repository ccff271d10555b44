#pragma once

#include <algorithm>
#include <array>
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

/// What one seed draws for, each its own stream (see derived_seed()).
enum class SeedStream : uint32_t { kEnvRow = 1, kReplay = 2, kExploration = 3, kRank = 4 };

/// The seed of stream `stream` (and sub-stream `index`, such as an env row)
/// under `seed`. std::seed_seq mixes every bit, so the streams of one seed
/// and of neighbouring seeds do not overlap as `seed + offset` ones do (row 1
/// of seed 42 was row 0 of seed 43), and the standard fixes its algorithm,
/// so every platform derives the same seeds.
inline uint64_t derived_seed(uint64_t seed, SeedStream stream, uint64_t index = 0) {
  std::seed_seq sequence{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                         static_cast<uint32_t>(stream), static_cast<uint32_t>(index),
                         static_cast<uint32_t>(index >> 32)};
  std::array<uint32_t, 2> words{};
  sequence.generate(words.begin(), words.end());
  return (static_cast<uint64_t>(words[0]) << 32) | words[1];
}

/// The seed of rank `rank` of a data-parallel group started with `seed`:
/// rank 0 keeps it, so a group of one plays as a run without a group.
inline uint64_t rank_seed(uint64_t seed, int rank) {
  return rank == 0 ? seed : derived_seed(seed, SeedStream::kRank, static_cast<uint64_t>(rank));
}

}  // namespace trd
