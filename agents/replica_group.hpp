#pragma once

// Data-parallel training over LibTorch's c10d with the Gloo backend. Every
// rank plays its own VecRecEnv over its shard of the users and keeps its own
// replay buffer; before each optimiser step the learners average their
// gradients, so every rank holds the same weights. The networking is c10d's
// (TCPStore or FileStore for the rendezvous, Gloo for the all-reduce); the
// c10d headers stay in replica_group.cpp.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace trd {

struct ReplicaSettings {
  int world_size = 1;
  int rank = 0;
  /// tcp://HOST:PORT (rank 0 listens there) or file://PATH (a file every
  /// rank can reach, on a shared disk); unused when world_size is 1.
  std::string rendezvous;
  int timeout_s = 120;  ///< how long a rank waits for the others, to join and in each exchange
  bool verify = false;  ///< compare a hash of the weights across ranks after every update
};

/// InputError naming the flag unless world_size >= 1, rank in [0,
/// world_size), timeout_s >= 1 and, when world_size > 1, the rendezvous is a
/// tcp://HOST:PORT or file://PATH address.
void check_replica_settings(const ReplicaSettings& settings);

/// `users` dealt round-robin: the share of rank `rank` of `world_size`.
std::vector<int32_t> user_shard(const std::vector<int32_t>& users, int rank, int world_size);

class ReplicaGroup {
 public:
  /// Joins the group; returns when every rank has. `shared` is what must be
  /// the same on every rank (flags and input fingerprints that shape the
  /// exchanges). InputError when this rank's number is taken, the group was
  /// started with another size, or `shared` differs from rank 0's (the
  /// message names the first difference); ExternalError when the others do
  /// not join within the timeout.
  ReplicaGroup(const ReplicaSettings& settings, const nlohmann::json& shared);
  ~ReplicaGroup();
  ReplicaGroup(const ReplicaGroup&) = delete;
  ReplicaGroup& operator=(const ReplicaGroup&) = delete;

  int rank() const { return settings_.rank; }
  int world_size() const { return settings_.world_size; }
  const ReplicaSettings& settings() const { return settings_; }

  /// Overwrites every tensor with rank 0's (at the start, so the ranks
  /// begin from one set of weights whatever their seeds).
  void broadcast_from_first(const std::vector<torch::Tensor>& tensors);
  /// Replaces each defined gradient of `parameters` by its mean over the
  /// ranks, in one all-reduce.
  void average_gradients(const std::vector<torch::Tensor>& parameters);
  /// `values` summed over the ranks.
  std::vector<double> sum(const std::vector<double>& values);
  /// With settings().verify: ExternalError unless every rank's `parameters`
  /// hash the same after update `update`; counts the checks.
  void verify_identical(const std::vector<torch::Tensor>& parameters, int64_t update);
  int64_t verified_updates() const { return verified_updates_; }

 private:
  struct Connection;
  ReplicaSettings settings_;
  std::unique_ptr<Connection> connection_;
  std::vector<torch::Tensor> gradient_buffers_;  // one per size (DDPG averages two sets)
  int64_t verified_updates_ = 0;
};

}  // namespace trd
