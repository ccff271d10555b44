#pragma once

// The always-available baselines and the reports' reference lines, as
// policies over a VecRecEnv's observations, and the loop that turns any
// policy into the lists a user is shown.

#include <cstdint>
#include <functional>
#include <optional>
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

/// Greedy on given scores ([B, n_actions] row-major): the first valid slot
/// with the highest score in each active row; inactive rows get 0.
void best_scored_slots(const ObservationBatch& observations, const std::vector<float>& scores,
                       std::vector<int32_t>& actions);

/// The non-learned reference line `history_rerank` (DESIGN.md): in each row,
/// the valid slot whose item is most similar on average to the row's history
/// (ties: the lowest slot, i.e. the teacher's order). Under Feedback::kNone
/// the history is the last H positives before the split, so the rule uses no
/// label. An empty history scores every slot 0, which replays the teacher.
void history_rerank_policy(const ObservationBatch& observations, const ItemSimilarity& similarity,
                           std::vector<int32_t>& actions);

/// The upper bound `window_ceiling`: the first valid slot holding one of the
/// user's rewarded items in `data`, else slot 0. It reads the labels: the
/// best any re-ranking of the window can reach, never a method.
void window_ceiling_policy(const ObservationBatch& observations, const EnvData& data,
                           std::vector<int32_t>& actions);

/// A policy for rerank_lists(): writes one valid slot per active row into
/// `actions`, and into `scores` ([B, n_actions] row-major) the score it ranked
/// each slot by, or leaves `scores` empty when it has none.
using ListPolicy = std::function<void(const ObservationBatch& observations,
                                      std::vector<int32_t>& actions, std::vector<float>& scores)>;

/// Lists built by a policy: [n_users, L] items, and the policy's score of
/// each pick (NaN past its K picks, or where it gives none).
struct RerankedLists {
  RowMatrixXi items;
  RowMatrixXf scores;
};

/// Every user's teacher list re-ranked by `policy` over a VecRecEnv that
/// plays each user once (batches of `batch_users`): its K picks first, then
/// the rest of the teacher list in order. Users without a list keep a row of
/// -1. Under settings.feedback = kNone no pick depends on a rewarded item, so
/// the lists are what a user would be shown before reacting.
RerankedLists rerank_lists(const EnvData& data, const EnvSettings& settings, int batch_users,
                           const ListPolicy& policy);

/// rerank_lists() again and again over one env, for policies that change
/// between calls (each epoch's valid lists): from the second call on, the
/// env reads each user's pair terms from what it kept, and the lists are
/// those rerank_lists() gives. `data` must outlive it.
class ListReranker {
 public:
  ListReranker(const EnvData& data, const EnvSettings& settings, int batch_users);
  RerankedLists rerank(const ListPolicy& policy);

 private:
  const EnvData* data_;
  std::vector<int32_t> users_;    // those with a teacher list
  std::optional<VecRecEnv> env_;  // none when no user has a list
};

}  // namespace trd
