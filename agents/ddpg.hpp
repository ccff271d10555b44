#pragma once

// DDPG over the window (DESIGN.md, "Agents"). A slot's action vector is its
// item's embedding followed by the env's slot features; the actor maps the
// state to a vector in that space, and a slot's score is the dot product of
// the two, standardised within the window, plus the teacher's standardised
// score times teacher_weight. The critic scores a state with an action
// vector: during learning the vector of the slot actually played, and the
// actor's own vector for the actor's gradient.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/networks.hpp"
#include "agents/replay_buffer.hpp"

namespace trd {

// hidden and gamma are the values `trd train --agent ddpg` has always used
// (it shared DQN's flags) and the README's DDPG figures were measured with.
struct DdpgSettings {
  int hidden = 16;                    ///< width of the actor's and the critic's hidden layers
  int dim = 32;                       ///< embedding width when the teacher has none
  bool train_embeddings = false;      ///< fine-tune the teacher's embeddings (default: frozen)
  std::string state = "drr-ave";      ///< "concat" [user, H items] (TRD) or "drr-ave"
  std::string noise = "gaussian";     ///< "gaussian" or "ou" (Ornstein-Uhlenbeck)
  double noise_start = 0.5;           ///< exploration noise scale at the start
  double noise_end = 0.05;            ///< after the decay
  int64_t noise_decay_steps = 20000;  ///< exploring user-steps of the linear decay
  double teacher_weight = 1.0;        ///< weight of the teacher's score in slot scores (0: none)
  double gamma = 0.5;
  double actor_lr = 1e-3;
  double critic_lr = 1e-3;
  double tau = 0.01;  ///< soft target update rate
  double grad_clip = 10.0;
  int batch_size = 256;
  int64_t replay_capacity = 50000;
  int64_t learning_starts = 1000;
  uint64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DdpgSettings, hidden, dim, train_embeddings, state, noise,
                                   noise_start, noise_end, noise_decay_steps, teacher_weight, gamma,
                                   actor_lr, critic_lr, tau, grad_clip, batch_size, replay_capacity,
                                   learning_starts, seed)

/// As check_dqn_settings(), for DdpgAgent's constructor.
void check_ddpg_settings(const DdpgSettings& settings);

/// The state representation both networks read.
class StateEncoderImpl : public torch::nn::Module {
 public:
  StateEncoderImpl(const EnvData& data, const Spaces& spaces, const DdpgSettings& settings);
  /// [B, width()]
  torch::Tensor forward(const ObservationTensors& observations);
  int64_t width() const { return width_; }
  EmbeddingTables& embeddings() { return embeddings_; }

 private:
  bool concat_;
  int32_t pad_item_;
  int64_t width_;
  EmbeddingTables embeddings_{nullptr};
};
TORCH_MODULE(StateEncoder);

class DdpgAgent : public Agent {
 public:
  DdpgAgent(const EnvData& data, const Spaces& spaces, const DdpgSettings& settings);
  ~DdpgAgent() override;

  std::string name() const override { return "ddpg"; }
  void act(const ObservationBatch& observations, bool explore,
           std::vector<int32_t>& actions) override;
  /// The greedy actor's slot scores (slot_scores()).
  bool score_slots(const ObservationBatch& observations, std::vector<float>& scores) override;
  void observe(const Transitions& transitions) override;
  std::vector<NamedValue> update() override;
  bool join(ReplicaGroup& group) override;
  nlohmann::json settings() const override { return settings_; }
  void save(const std::string& path) const override;
  void load(const std::string& path) override;

  /// Slot scores of the greedy actor, masked: [B, n].
  torch::Tensor slot_scores(const ObservationBatch& observations);
  double noise_scale() const;

 private:
  struct Networks;
  /// What the critic values per slot: [B, n, d + F], the item's embedding
  /// and the env's slot features.
  torch::Tensor slot_actions(Networks& nets, const ObservationTensors& tensors);
  /// Masked slot scores [B, n] of actor vectors [B, d + F] against the
  /// slots' `actions` (slot_actions()).
  torch::Tensor scores_for(const ObservationTensors& tensors, const torch::Tensor& actions,
                           const torch::Tensor& vectors);
  /// Every parameter of the online networks, frozen ones included.
  std::vector<torch::Tensor> all_parameters() const;
  /// The critic's values [B * per_state] of `vectors` [B * per_state, d + F],
  /// per_state of them in each of the B states of `tensors`, encoded as
  /// `state` [B, w]. What depends on the state alone (its encoding, the
  /// user's embedding, the history mean, the position) is looked up once
  /// per state, not once per vector.
  torch::Tensor critic_value(Networks& nets, const ObservationTensors& tensors,
                             const torch::Tensor& state, const torch::Tensor& vectors,
                             int64_t per_state = 1);

  Spaces spaces_;
  DdpgSettings settings_;
  std::unique_ptr<Networks> online_, target_;
  std::unique_ptr<torch::optim::Adam> actor_optimizer_, critic_optimizer_;
  /// The critic's and, when trainable, the embeddings': what the critic step
  /// updates, so all of it is clipped.
  std::vector<torch::Tensor> critic_parameters_;
  ReplicaGroup* replicas_ = nullptr;
  int64_t updates_ = 0;
  ReplayBuffer replay_;
  ReplaySample sample_;
  std::mt19937_64 engine_;
  torch::Tensor ou_state_;  // [B, d] for OU noise, zeroed where an episode starts
  int64_t exploring_steps_ = 0;
  /// User-steps one exploring step counts for: the group's size, so that
  /// a group decays its exploration over the same total steps as one process.
  int64_t exploring_step_weight_ = 1;
};

}  // namespace trd
