#pragma once

// The one interface between learners and the loops that train and evaluate
// them (agents/training.hpp, the trd commands). A custom agent is one class
// implementing it; examples/linear_agent.cpp is a worked one.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "env/rec_env.hpp"

namespace trd {

class ReplicaGroup;

/// A named figure an update reports, for logs. The training loop reads
/// "loss" and "exploration" (epsilon, noise scale) when present.
struct NamedValue {
  std::string name;
  double value = 0;
};

/// One VecRecEnv step seen by a learner: the observations acted on, the
/// actions, what the env returned, and the next observations. For rows whose
/// episode ended (terminated or truncated) the next observation is the ended
/// episode's last one (VecRecEnv::final_observations), not the autoreset one.
struct Transitions {
  const ObservationBatch* observations = nullptr;
  const int32_t* actions = nullptr;  ///< [B]
  const StepBatch* step = nullptr;
  const ObservationBatch* next_observations = nullptr;
  const ObservationBatch* final_observations = nullptr;
};

class Agent {
 public:
  virtual ~Agent() = default;

  /// The registry name ("dqn", "ddpg", "teacher", "random", ...).
  virtual std::string name() const = 0;
  /// Writes one valid slot per active row into `actions` (resized to B);
  /// `explore` adds the agent's exploration (epsilon, noise), else greedy.
  virtual void act(const ObservationBatch& observations, bool explore,
                   std::vector<int32_t>& actions) = 0;
  /// The score greedy act() ranks each slot by, written to `scores` as
  /// [B, n_actions] row-major, so shown lists can carry it; returns false
  /// (the default) for an agent that has no such score. Where it returns
  /// true, refine_lists() takes the first best valid slot of these scores as
  /// the greedy pick instead of calling act() as well.
  virtual bool score_slots(const ObservationBatch& observations, std::vector<float>& scores) {
    (void)observations;
    (void)scores;
    return false;
  }
  /// Records one env step's transitions (active rows only) for later updates.
  virtual void observe(const Transitions& transitions) = 0;
  /// One learning step from what was observed; empty when there is nothing
  /// to learn yet (or nothing to learn at all, as for the baselines).
  virtual std::vector<NamedValue> update() = 0;
  /// `count` updates in a row, with no observe() between them: each one's
  /// figures, as update() returns them. The default calls update() `count`
  /// times; an agent may ready a later update's minibatch while an earlier
  /// one learns (DQN does, on a second thread), with the same result.
  virtual std::vector<std::vector<NamedValue>> updates(int count) {
    std::vector<std::vector<NamedValue>> figures;
    for (int u = 0; u < count; ++u) figures.push_back(update());
    return figures;
  }
  /// Joins a data-parallel group (agents/replica_group.hpp): takes rank 0's
  /// weights now, and from then on averages its gradients over the group
  /// before every optimiser step, so all ranks keep the same weights.
  /// Returns false (the default) for an agent that cannot.
  virtual bool join(ReplicaGroup& group) {
    (void)group;
    return false;
  }
  /// A copy of the agent as it is now that acts greedily, scores slots and
  /// saves as this agent would, and keeps no tie to it: train_agent() judges
  /// an epoch on it on another thread while the next epoch trains. Null (the
  /// default) when the agent has none; its epochs are then judged in turn.
  virtual std::unique_ptr<Agent> frozen_copy() const { return nullptr; }
  /// True (not the default) when act() may run on another thread while
  /// update() runs: train_agent() then plays each env step beside the
  /// previous step's updates, acting on the weights of the last sync_actor()
  /// call. Such an agent keeps what act() reads and writes (its acting
  /// weights, its exploration) apart from what update() and observe() touch.
  virtual bool acts_beside_updates() const { return false; }
  /// Makes act() use the weights as they are now; called between steps,
  /// never while act() or update() runs.
  virtual void sync_actor() {}
  /// Makes act() read the live weights again (after the last step).
  virtual void release_actor() {}
  /// Every hyper-parameter, for the checkpoint sidecar and run logs.
  virtual nlohmann::json settings() const = 0;
  /// Writes the learned state to `path` (LibTorch's archive format).
  virtual void save(const std::string& path) const = 0;
  /// Restores state written by save(); InputError when `path` holds another
  /// agent or other dimensions.
  virtual void load(const std::string& path) = 0;
};

}  // namespace trd
