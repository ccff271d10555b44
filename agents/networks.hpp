#pragma once

// What DQN and DDPG share: observation batches as tensors, and the embedding
// tables a student keeps (initialised from its teacher's).

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "agents/replay_buffer.hpp"
#include "env/rec_env.hpp"

namespace trd {

/// An ObservationBatch as tensors.
struct ObservationTensors {
  torch::Tensor user;           ///< [B] int64 (undefined under IdTensors::kSkip)
  torch::Tensor history;        ///< [B, H] int64, pad_item where empty (likewise)
  torch::Tensor window;         ///< [B, n] int64, pad_item in invalid slots (likewise)
  torch::Tensor mask;           ///< [B, n] bool, true where a slot holds a candidate
  torch::Tensor mask_offset;    ///< [B, n] float: mask_offsets()
  torch::Tensor position;       ///< [B, 1] float: (t - 1) / K, how far the episode is
  torch::Tensor teacher_score;  ///< [B, n] float, as the env reports it (views the batch;
                                ///< undefined where the batch does not hold it)
  torch::Tensor teacher_rank;   ///< [B, n] int32, as the env reports it (likewise)
  torch::Tensor features;  ///< [B, n, F] float: the env's slot features (EnvSettings::features)
};

/// [B, n, 2] float: each slot's teacher score standardised within the row's
/// valid slots, and 1 / log2(rank + 2) (0 in invalid slots). Computed on
/// request: the DQN does not read it, and its eight tensor operations per
/// conversion were a tenth of an update.
torch::Tensor teacher_features(const ObservationTensors& tensors);

/// A replay minibatch as tensors.
struct ReplayTensors {
  ObservationTensors states;
  ObservationTensors next;
  torch::Tensor actions;    ///< [N, 1] int64
  torch::Tensor rewards;    ///< [N] float
  torch::Tensor bootstrap;  ///< [N] bool: bootstrap_flags()
};

/// Whether a conversion makes tensors of the user, history and window ids: a
/// network that reads no embeddings leaves them undefined (three conversions
/// fewer per batch).
enum class IdTensors { kMake, kSkip };

/// [B, n] float: 0 in the slots that hold a candidate, -inf in the others.
/// Adding it masks values as masked() does, at a fifth of torch::where's cost
/// (the DQN masks the next states' 12,800 slots every update).
torch::Tensor mask_offsets(const ObservationBatch& observations);

/// Features of teacher scores are standardised within each row's valid slots,
/// so teachers with other score scales (dot products, cosines, counts) look
/// alike to the student. IdTensors::kMake needs a batch holding the ids.
ObservationTensors to_tensors(const ObservationBatch& observations, int episode_length,
                              IdTensors ids = IdTensors::kMake);

/// Each row of `values` [B, n] standardised over its valid slots (mean 0,
/// variance 1 there); invalid slots become 0.
torch::Tensor standardize_rows(const torch::Tensor& values, const torch::Tensor& mask);

/// [N] bool: whether each transition's target takes the next state's value,
/// that is, its episode goes on and the next state has a valid slot.
torch::Tensor bootstrap_flags(const ReplaySample& sample);

/// `sample` as tensors; the reward tensor views its array, so keep `sample`
/// alive and unchanged while it is in use.
ReplayTensors to_tensors(ReplaySample& sample, int episode_length,
                         IdTensors ids = IdTensors::kMake);

/// `values` (any shape, float) flattened into `out`, for Agent::score_slots.
void copy_values(const torch::Tensor& values, std::vector<float>& out);

/// Masks invalid slots with -inf so argmax and max ignore them.
torch::Tensor masked(const torch::Tensor& values, const torch::Tensor& mask);

/// User and item embedding tables; item row pad_item is a fixed zero vector.
class EmbeddingTablesImpl : public torch::nn::Module {
 public:
  /// Rows start from `data`'s teacher embeddings when it has them, else from
  /// seeded N(0, 0.1^2) draws of width `dim`; `trainable` false freezes them.
  EmbeddingTablesImpl(const EnvData& data, int dim, bool trainable);
  /// Tables holding `user_weight` [n_users, d] and `item_weight`
  /// [n_items + 1, d], whose last row is the pad item's.
  EmbeddingTablesImpl(const torch::Tensor& user_weight, const torch::Tensor& item_weight,
                      bool trainable);
  /// Tables of the same shapes and trainability, their rows uninitialised.
  std::shared_ptr<EmbeddingTablesImpl> same_shape() const;

  torch::Tensor users(const torch::Tensor& ids) { return users_->forward(ids); }
  torch::Tensor items(const torch::Tensor& ids) { return items_->forward(ids); }
  /// Mean of the non-pad history embeddings, [B, dim] (zero without history).
  torch::Tensor history_mean(const torch::Tensor& history, int32_t pad_item);
  int64_t dim() const { return users_->weight.size(1); }

 private:
  void register_tables(const torch::Tensor& user_weight, const torch::Tensor& item_weight,
                       bool trainable);

  torch::nn::Embedding users_{nullptr}, items_{nullptr};
};
TORCH_MODULE(EmbeddingTables);

/// Copies every parameter of `source` into `target` (same architecture).
void copy_parameters(const torch::nn::Module& source, torch::nn::Module& target);
/// target <- tau * source + (1 - tau) * target, parameter by parameter.
void soft_update(const torch::nn::Module& source, torch::nn::Module& target, double tau);

/// A module's trainable parameters moved into one contiguous tensor, and
/// their gradients into another, so that Adam, the gradient clipping and the
/// all-reduce run a handful of operations over all of them rather than the
/// same operations once per parameter (a third of the DQN optimiser's time
/// was that per-tensor overhead). The parameters keep their shapes; they
/// become views of `all()`, and their gradients views of `all().grad()`.
class FlatParameters {
 public:
  FlatParameters() = default;
  /// Moves `parameters` (leaves that require gradients) into the flat pair.
  explicit FlatParameters(const std::vector<torch::Tensor>& parameters);

  /// The leaf the optimiser steps: every parameter, its grad every gradient.
  torch::Tensor& all() { return all_; }
  /// Zeroes the gradients in place, keeping them views of all().grad()
  /// (an optimiser's zero_grad would set them to none and unlink them).
  void zero_grad() { gradients_.zero_(); }

 private:
  torch::Tensor all_;
  torch::Tensor gradients_;
};

/// The agent name in the header of the checkpoint at `path`; InputError
/// naming `path` when it is not a trd agent checkpoint (empty, truncated).
std::string checkpoint_agent(const std::string& path);

}  // namespace trd

namespace trd {

/// InputError "agent setting <name> (--<flag>) <value>: <rule>" unless `holds`.
void require_setting(bool holds, const std::string& name, double value, const char* rule);

/// A named dimension a checkpoint must agree on to be loaded.
struct CheckpointDimension {
  std::string name;
  int64_t value;
};

/// The dimensions every agent's checkpoint shares: the env's sizes and the
/// embedding width. Agents append their own (hidden width, ...).
std::vector<CheckpointDimension> env_dimensions(const Spaces& spaces, int64_t embedding_dim);

/// Writes `modules` (name, module) to `path` with a header of the agent's name
/// and dimensions, atomically (temporary file, then rename).
void save_modules(const std::string& path, const std::string& agent,
                  const std::vector<CheckpointDimension>& dimensions,
                  const std::vector<std::pair<std::string, const torch::nn::Module*>>& modules);
/// Restores what save_modules wrote. InputError naming `path` when it is not a
/// checkpoint, holds another agent, any dimension differs, or a restored
/// tensor holds NaN or infinity. LibTorch's zip reader skips the archive's
/// CRCs, so byte-level damage is caught by the CRC-32 agent.json records.
void load_modules(const std::string& path, const std::string& agent,
                  const std::vector<CheckpointDimension>& dimensions,
                  const std::vector<std::pair<std::string, torch::nn::Module*>>& modules);

/// The agent name in the header of the checkpoint at `path`; InputError
/// naming `path` when it is not a trd agent checkpoint (empty, truncated).
std::string checkpoint_agent(const std::string& path);

}  // namespace trd
