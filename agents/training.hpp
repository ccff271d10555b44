#pragma once

// The loops that train and evaluate any Agent over VecRecEnv. They talk to
// the agent only through agents/agent.hpp.

#include <functional>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "data/metrics.hpp"
#include "data/user_items.hpp"
#include "env/policies.hpp"
#include "env/rec_env.hpp"

namespace trd {

/// A split to judge lists on: the env data that rewards it, what the users
/// met before it, and optionally the candidate sets it is ranked within.
struct JudgedSplit {
  const EnvData* data = nullptr;
  const UserItems* held_out = nullptr;
  const UserItems* seen = nullptr;
  const UserItems* candidates = nullptr;  ///< null: full ranking
};

struct TrainSettings {
  int epochs = 10;           ///< an epoch plays as many episodes as there are training users
  int batch_users = 64;      ///< B: users in lockstep
  int updates_per_step = 2;  ///< learner updates per env step of B users
  int selection_k = 5;       ///< the best epoch has the highest valid NDCG at this cutoff
  /// Training stops once this many epochs in a row have not beaten the best
  /// valid NDCG (0: every epoch runs). Only the best epoch's state is kept,
  /// so the epochs it skips could only have replaced it with a later best;
  /// off by default because valid NDCG is noisy: on the README's tables
  /// patience 3 would have kept an earlier, worse pick in 5 of 24 runs.
  int patience = 0;
  /// How the valid lists are built; kHits lets them see valid labels (the
  /// original TRD code's protocol), so only choose it to reproduce that.
  Feedback eval_feedback = Feedback::kNone;
  uint64_t seed = 0;
  /// A data-parallel group the agent has joined, or null. Each rank plays
  /// its round-robin share of the users (rank_seed() seeds its draws) for
  /// the same number of steps, and the epoch's figures are summed over ranks.
  ReplicaGroup* replicas = nullptr;
};

/// One epoch's log line.
struct EpochRecord {
  int epoch = 0;
  double mean_return = 0;  ///< mean exploring return of the episodes that ended
  double loss = 0;         ///< mean of the updates' "loss" (0 before learning starts)
  double exploration = 0;  ///< the agent's "exploration" (epsilon, noise scale) after the epoch
  double valid_ndcg = 0;   ///< greedy student's valid NDCG@selection_k
  double valid_precision1 = 0;
  double seconds = 0;  ///< wall time since training started
  bool best = false;   ///< the best epoch so far (its state was saved)
  bool last = false;   ///< training ends with it (the last epoch, or patience stops there)
};

struct TrainResult {
  std::vector<EpochRecord> epochs;
  int best_epoch = 0;          ///< 1-based; 0 when no epoch ran
  bool stopped_early = false;  ///< patience ended it before settings.epochs
  double best_valid_ndcg = 0;
  double teacher_valid_ndcg = 0;  ///< the teacher's lists on the same split and cutoff
  bool beats_teacher() const { return best_valid_ndcg > teacher_valid_ndcg; }
};

/// InputError naming the flags unless epochs and batch_users are >= 1 and
/// updates_per_step and patience >= 0; train_agent() checks it first.
void check_train_settings(const TrainSettings& settings);

/// Trains `agent` on `train`'s env for settings.epochs epochs (fewer when
/// settings.patience stops it), judging the greedy agent on `valid` after
/// each; the best epoch's state is saved to
/// `best_checkpoint` and reloaded at the end (an empty path: nothing is saved
/// and the agent keeps the last epoch's state, as on ranks other than 0). `on_epoch` sees every
/// record; `on_progress`, when given, the share of all epochs' env steps done and the epoch
/// being played (judging may lag epochs behind it), after every step
/// (for a progress line: it must be cheap).
TrainResult train_agent(Agent& agent, const EnvData& train, const EnvSettings& env_settings,
                        const JudgedSplit& valid, const TrainSettings& settings,
                        const std::string& best_checkpoint,
                        const std::function<void(const EpochRecord&)>& on_epoch,
                        const std::function<void(double done, int epoch)>& on_progress = {});
/// A valid split that may still be in the making while training starts
/// (trd run fits the valid stage's teacher meanwhile).
struct ValidSource {
  /// True once fetch() would not wait; polled between env steps.
  std::function<bool()> ready;
  /// The split; called once, on the training thread.
  std::function<const JudgedSplit&()> fetch;
};

/// The same, with the valid split fetched once, when the first epoch is to be
/// judged: at the end of its steps, or, for an agent with a frozen copy
/// (Agent::frozen_copy), as soon as it is ready while the next epoch trains
/// (at the latest at that epoch's end). The records are the same either way.
TrainResult train_agent(Agent& agent, const EnvData& train, const EnvSettings& env_settings,
                        const ValidSource& valid_source, const TrainSettings& settings,
                        const std::string& best_checkpoint,
                        const std::function<void(const EpochRecord&)>& on_epoch,
                        const std::function<void(double done, int epoch)>& on_progress = {});

/// Every user's teacher list re-ranked by the greedy agent (rerank_lists()
/// with the agent as policy and its score_slots() as scores), built with
/// `feedback`: kNone for any list that is scored or shown.
RerankedLists refine_lists(Agent& agent, const EnvData& data, EnvSettings env_settings,
                           Feedback feedback, int batch_users);

/// `lists` scored on `split` at cutoffs `ks`.
Evaluation judge(const RowMatrixXi& lists, const JudgedSplit& split, const std::vector<int>& ks);

}  // namespace trd
