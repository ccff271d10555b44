#pragma once

// A worked custom agent: the whole of what a new learner needs (README,
// "Writing your own agent"). It scores each window slot linearly from the
// teacher's standardised score, the teacher's rank, and which slot it is, and
// learns the weights by regressing the immediate reward (a contextual bandit:
// no bootstrapping). Epsilon-greedy exploration at a fixed rate.

#include <torch/torch.h>

#include <random>

#include "agents/agent.hpp"
#include "agents/replay_buffer.hpp"

namespace trd::examples {

class LinearAgent : public Agent {
 public:
  LinearAgent(const Spaces& spaces, double lr, double epsilon, uint64_t seed);
  /// InputError naming the flag unless lr > 0 and epsilon in [0, 1]: what
  /// the registration checks before any work, and the constructor again.
  static void check_settings(double lr, double epsilon);

  std::string name() const override { return "linear"; }
  void act(const ObservationBatch& observations, bool explore,
           std::vector<int32_t>& actions) override;
  /// Optional: lets trd recommend show the score each pick had.
  bool score_slots(const ObservationBatch& observations, std::vector<float>& out) override;
  void observe(const Transitions& transitions) override { replay_.add(transitions); }
  std::vector<NamedValue> update() override;
  nlohmann::json settings() const override;
  void save(const std::string& path) const override;
  void load(const std::string& path) override;

 private:
  torch::Tensor scores(const ObservationBatch& observations);  // [B, n]

  Spaces spaces_;
  double lr_, epsilon_;
  uint64_t seed_;
  torch::nn::Linear scorer_{nullptr};
  std::unique_ptr<torch::optim::SGD> optimizer_;
  ReplayBuffer replay_;
  ReplaySample sample_;
  std::mt19937_64 engine_;
};

}  // namespace trd::examples
