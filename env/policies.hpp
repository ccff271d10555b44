#pragma once

// The always-available baselines, as policies over a VecRecEnv's observations.

#include <cstdint>
#include <random>
#include <vector>

#include "env/rec_env.hpp"

namespace trd {

/// Always slot 0: replays the teacher's list exactly.
void teacher_policy(const ObservationBatch& observations, std::vector<int32_t>& actions);

/// Uniform over each row's valid slots, from `engine` (its bits, so a seed
/// gives the same actions with any standard library). Inactive rows get 0.
void random_policy(const ObservationBatch& observations, std::mt19937_64& engine,
                   std::vector<int32_t>& actions);

}  // namespace trd
