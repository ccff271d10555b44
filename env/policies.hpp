#pragma once

// The always-available baselines, as policies over a VecRecEnv's observations.

#include <cstdint>
#include <random>
#include <vector>

#include "env/rec_env.hpp"

namespace trd {

/// Valid slots in row `row` (they are contiguous at the front of the window).
int valid_slots(const ObservationBatch& observations, int row);

/// A uniform valid slot of row `row` (0 when it has none), from `engine`.
int32_t random_slot(const ObservationBatch& observations, int row, std::mt19937_64& engine);

/// Always slot 0: replays the teacher's list exactly.
void teacher_policy(const ObservationBatch& observations, std::vector<int32_t>& actions);

/// Uniform over each row's valid slots, from `engine` (its bits, so a seed
/// gives the same actions with any standard library). Inactive rows get 0.
void random_policy(const ObservationBatch& observations, std::mt19937_64& engine,
                   std::vector<int32_t>& actions);

}  // namespace trd
