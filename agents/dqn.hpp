#pragma once

// Double DQN over the window slots (DESIGN.md, "Agents"). Q(s, a) for every
// slot comes from one batched forward pass: the first layer is split into a
// state part, computed once per observation, and a slot part, computed per
// slot, so scoring 20 slots costs little more than scoring one.

#include <torch/torch.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "agents/agent.hpp"
#include "agents/networks.hpp"
#include "agents/replay_buffer.hpp"
#include "agents/task_worker.hpp"

namespace trd {

struct DqnSettings {
  int hidden = 16;                  ///< width of the two hidden layers (wider overfit on ML-100K)
  int dim = 32;                     ///< embedding width when the teacher has none
  bool train_embeddings = false;    ///< fine-tune the teacher's embeddings (default: frozen)
  bool slot_embeddings = false;     ///< feed each candidate's embedding and its products too
  bool state_embeddings = false;    ///< feed the user's and history's embeddings to the state part
  double gamma = 0.5;               ///< discount
  double lr = 1e-3;                 ///< Adam learning rate
  double grad_clip = 10.0;          ///< max global gradient norm
  int batch_size = 256;             ///< transitions per update
  int64_t replay_capacity = 50000;  ///< transitions kept
  int64_t learning_starts = 1000;   ///< transitions observed before the first update
  int target_update = 200;          ///< updates between target-network copies
  double epsilon_start = 1.0;       ///< exploration at the first step
  double epsilon_end = 0.05;        ///< exploration after the decay
  int64_t epsilon_decay_steps = 20000;  ///< exploring user-steps of the linear decay
  uint64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DqnSettings, hidden, dim, train_embeddings, slot_embeddings,
                                   state_embeddings, gamma, lr, grad_clip, batch_size,
                                   replay_capacity, learning_starts, target_update, epsilon_start,
                                   epsilon_end, epsilon_decay_steps, seed)

/// InputError naming the setting and its flag unless every field is in
/// range; DqnAgent's constructor checks it, so a sidecar or a caller of the
/// library gets the same message as the command line.
void check_dqn_settings(const DqnSettings& settings);

/// Double DQN's a*: the online net's best valid slot of each next state,
/// [N, 1] int64, from its values next_online [N, n] (float, CPU) and the
/// next states' mask_offsets() [N, n]: the pick of argmax(values +
/// offsets, 1), the first maximum, a NaN winning.
torch::Tensor best_valid_slots(const torch::Tensor& next_online,
                               const torch::Tensor& next_mask_offset);

/// Double-DQN targets, DESIGN.md's rule: r + gamma * Q_target(s', a*), with
/// next_target_at_best [N] the target net's value at best_valid_slots(), in
/// the rows where `bootstrap` (bootstrap_flags()) holds: no bootstrap term
/// after termination, and a next state without a valid slot contributes 0.
/// rewards, next_target_at_best: float [N]; bootstrap: bool [N]; CPU
/// tensors, read without gradients.
torch::Tensor dqn_targets(const torch::Tensor& rewards, const torch::Tensor& bootstrap,
                          const torch::Tensor& next_target_at_best, double gamma);

/// One matrix product C[m, n] = A[m, k] B[k, n] a network computes, `count`
/// times: the shapes `trd bench agent` counts FLOPs from and times BLAS on.
struct MatmulShape {
  int64_t m, k, n;
  int count;
  double flops() const { return 2.0 * static_cast<double>(m * k * n) * count; }
};

/// Where a DqnAgent's updates spent their time, summed over every update so
/// far (`trd bench agent` prints it).
struct UpdateProfile {
  int64_t updates = 0;
  /// drawing the minibatch from the replay buffer, or waiting for the second
  /// thread that readies it (DqnAgent::updates)
  double sample_s = 0;
  double convert_s = 0;  ///< replay sample to tensors, where the learner does it
  double targets_s = 0;  ///< the no-grad forwards of the next states
  double forward_s = 0;  ///< the forward of the states, loss included
  double backward_s = 0;
  double optimiser_s = 0;  ///< gradient clipping, Adam, target copies
};

/// Q(s, .) over every slot: [B, n], unmasked. The slot part reads the env's
/// slot features (EnvSettings::features); the embedding inputs DESIGN.md
/// names (user, history and candidate embeddings) are the two opt-in flags.
class QNetworkImpl : public torch::nn::Module {
 public:
  QNetworkImpl(const EnvData& data, const Spaces& spaces, const DqnSettings& settings);
  /// The layers over `embeddings`, with freshly initialised weights.
  QNetworkImpl(EmbeddingTables embeddings, const Spaces& spaces, const DqnSettings& settings);
  /// Over several slots, only without gradients (acting, the next states'
  /// targets): it throws where the state layer's would be recorded. The
  /// trained pass is single_slot_pass().
  torch::Tensor forward(const ObservationTensors& observations);

  /// One slot per observation, with the activations backward() reads.
  struct SlotPass {
    torch::Tensor state_inputs;  ///< [B, s]
    torch::Tensor slot_inputs;   ///< [B, f]
    torch::Tensor first;         ///< [B, hidden], after its ReLU
    torch::Tensor hidden;        ///< [B, hidden], after its ReLU
    torch::Tensor q;             ///< [B]
  };
  /// Q(s, slot) of observations that hold one slot each (the replay's
  /// states: the acted slot): forward()'s values, as [B].
  SlotPass single_slot_pass(const ObservationTensors& observations);
  /// True when no input takes a gradient (the embeddings are frozen or not
  /// read), the case backward() covers.
  bool backward_by_hand() const {
    return !train_embeddings_ || (!slot_embeddings_ && !state_embeddings_);
  }
  /// Writes the gradient of every layer's parameters (overwriting their
  /// grad) for dLoss/dq = `q_grad` [B], bit for bit what autograd gives
  /// from the same pass. It runs the same ATen kernels as autograd's
  /// formulas without recording a graph: with hidden 16, where
  /// per-operation cost, not arithmetic, bounds an update, the trained
  /// forward and backward take 67 us against autograd's 160.
  /// Only when backward_by_hand(), and only on a network whose parameters'
  /// grads are defined, as DqnAgent's flat gradient views are.
  void backward(const SlotPass& pass, const torch::Tensor& q_grad);
  /// Q(s, slot) at one slot per observation (`slots`: [B, 1] int64, each in
  /// [0, n): unchecked, as best_valid_slots() gives them): [B].
  /// The same value forward() gives there, at 1/n of its cost.
  torch::Tensor forward_at(const ObservationTensors& observations, const torch::Tensor& slots);
  int64_t embedding_dim() const { return embeddings_->dim(); }
  /// kMake when it reads embeddings, which take the observations' ids.
  IdTensors ids() const {
    return slot_embeddings_ || state_embeddings_ ? IdTensors::kMake : IdTensors::kSkip;
  }
  /// The optional arrays of an observation a network of `settings` reads:
  /// the ids where ids() is kMake; never the teacher's arrays, whose values
  /// reach it only as slot features.
  static ObservationArrays arrays_read(const DqnSettings& settings) {
    return {/*ids=*/settings.slot_embeddings || settings.state_embeddings, /*teacher=*/false};
  }
  /// A network of its own holding copies of this one's current parameters
  /// (built with `spaces` and `settings`, the ones this one was built with).
  /// The torch generator is left as it was.
  std::shared_ptr<QNetworkImpl> copy(const Spaces& spaces, const DqnSettings& settings) const;
  /// The matrix products of one forward over `batch` observations of
  /// `n_actions` slots and, with `backward`, of its backward pass too.
  std::vector<MatmulShape> products(int64_t batch, int64_t n_actions, bool backward) const;

 private:
  // The state part's inputs [B, s] and each slot's [B, m, f], for slots
  // whose features [B, m, F] and items [B, m] are given (the items are read
  // with slot embeddings only).
  std::pair<torch::Tensor, torch::Tensor> inputs(const ObservationTensors& observations,
                                                 const torch::Tensor& features,
                                                 const torch::Tensor& window);
  SlotPass single_slot_pass(const ObservationTensors& observations, const torch::Tensor& features,
                            const torch::Tensor& window);
  // Values of every slot: [B, m].
  torch::Tensor slot_values(const ObservationTensors& observations);

  int32_t pad_item_;
  bool slot_embeddings_;
  bool state_embeddings_;
  bool train_embeddings_;
  EmbeddingTables embeddings_{nullptr};
  torch::nn::Linear state_layer_{nullptr}, slot_layer_{nullptr}, hidden_layer_{nullptr},
      output_layer_{nullptr};
};
TORCH_MODULE(QNetwork);

class DqnAgent : public Agent {
 public:
  /// Builds the networks for `data`'s env (its embeddings seed the tables).
  DqnAgent(const EnvData& data, const Spaces& spaces, const DqnSettings& settings);

  std::string name() const override { return "dqn"; }
  void act(const ObservationBatch& observations, bool explore,
           std::vector<int32_t>& actions) override;
  /// Q-values of the slots.
  bool score_slots(const ObservationBatch& observations, std::vector<float>& scores) override;
  void observe(const Transitions& transitions) override;
  std::vector<NamedValue> update() override;
  /// Readies each next minibatch on a second thread while the one before it
  /// learns: the same draws and weights as `count` calls of update().
  std::vector<std::vector<NamedValue>> updates(int count) override;
  bool join(ReplicaGroup& group) override;
  std::unique_ptr<Agent> frozen_copy() const override;
  /// From the first sync_actor() on, act() reads a copy of the online net
  /// that sync_actor() refreshes, until release_actor() or load().
  bool acts_beside_updates() const override { return true; }
  void sync_actor() override;
  void release_actor() override { actor_.reset(); }
  nlohmann::json settings() const override;
  void save(const std::string& path) const override;
  void load(const std::string& path) override;

  /// Q-values of every slot, masked (-inf in invalid slots): [B, n].
  torch::Tensor q_values(const ObservationBatch& observations);
  double epsilon() const;
  const UpdateProfile& profile() const { return profile_; }
  /// The matrix products of one update(): the two no-grad forwards of the
  /// next states, the forward and the backward of the states.
  std::vector<MatmulShape> update_products() const;

 private:
  Spaces spaces_;
  DqnSettings settings_;
  UpdateProfile profile_;
  QNetwork online_{nullptr}, target_{nullptr};
  std::shared_ptr<QNetworkImpl> actor_;  // what act() reads once sync_actor() made it
  double synced_epsilon_ = 0;            // epsilon() at the last sync, for update()'s report
  /// Seconds between successive lap() calls: an update's phases.
  class PhaseClock {
   public:
    double lap() {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - last_).count();
      last_ = now;
      return seconds;
    }

   private:
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  };

  /// Flattens the online net's trainable parameters and starts Adam on them.
  void make_optimizer();
  /// One update from `batch`; `clock` times its phases into profile_.
  std::vector<NamedValue> learn(const ReplayTensors& batch, PhaseClock& clock);

  FlatParameters trainable_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  ReplicaGroup* replicas_ = nullptr;
  ReplayBuffer replay_;
  std::vector<std::vector<int>> batch_rows_;  // updates()' minibatch rows, drawn up front
  std::array<ReplaySample, 2> samples_;       // this update's minibatch and the next's
  std::unique_ptr<TaskWorker> batch_worker_;  // copies the next minibatch meanwhile
  std::mt19937_64 engine_;
  int64_t exploring_steps_ = 0;
  /// User-steps one exploring step counts for: the group's size, so that
  /// a group decays its exploration over the same total steps as one process.
  int64_t exploring_step_weight_ = 1;
  int64_t updates_ = 0;
};

}  // namespace trd
