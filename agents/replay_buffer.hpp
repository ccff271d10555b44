#pragma once

// Fixed-capacity experience replay. It stores what the env hands out (ids,
// masks, the teacher's and the env's per-slot features), never embedding
// vectors: the agent looks embeddings up in its own (possibly fine-tuned)
// tables when it learns. With trd run's 50-slot window and nine slot features
// a whole observation is about 2.5 KB; without the arrays the DQN does not
// read (ObservationArrays) 1.9 KB, nine tenths of it the slot features.

#include <cstdint>
#include <random>
#include <vector>

#include "agents/agent.hpp"
#include "env/rec_env.hpp"

namespace trd {

/// What a stored transition keeps of the state it acted on.
enum class StateSlots {
  kAll,    ///< the whole window
  kActed,  ///< the acted slot alone, as slot 0 (half the memory and the
           ///< copying): all a learner that values the action taken reads
           ///< of it (the DQN, the DDPG critic)
};

/// A sampled minibatch, as row-aligned arrays.
struct ReplaySample {
  ObservationBatch observations;       ///< [N] states acted on (one slot each under kActed)
  ObservationBatch next_observations;  ///< [N] states reached
  std::vector<int32_t> actions;        ///< [N] the slot acted on, in the env's window
                                       ///< (kActed keeps that slot as slot 0)
  std::vector<float> rewards;          ///< [N]
  std::vector<int8_t> terminated;      ///< [N] episode over: no bootstrap
};

class ReplayBuffer {
 public:
  /// Holds at most `capacity` transitions of env shape `spaces`; the oldest
  /// are overwritten first, and memory grows with what it holds. Sampling
  /// draws from `seed`'s stream. The states kept, and those reached, hold
  /// `arrays` (the learner's reads); the rest are not stored.
  ReplayBuffer(const Spaces& spaces, int64_t capacity, uint64_t seed,
               StateSlots state_slots = StateSlots::kAll, ObservationArrays arrays = {});

  /// Adds every active row of one env step.
  void add(const Transitions& transitions);
  /// `n` transitions drawn uniformly with replacement into `sample`;
  /// requires size() > 0. The same as draw() then gather().
  void sample(int n, ReplaySample& sample);
  /// Draws the rows of an `n`-transition sample into `rows`.
  void draw(int n, std::vector<int>& rows);
  /// Copies the transitions at `rows` into `sample`, a new one or one this
  /// buffer filled before. It only reads the buffer, so several may run at
  /// once while nothing adds.
  void gather(const std::vector<int>& rows, ReplaySample& sample) const;
  /// Restarts the sampling stream from `seed`.
  void reseed(uint64_t seed) { engine_.seed(seed); }

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }

 private:
  Spaces spaces_;
  StateSlots state_slots_;
  ObservationArrays arrays_;
  int64_t capacity_;
  int64_t size_ = 0;
  int64_t next_ = 0;  // slot the next transition overwrites
  ReplaySample storage_;
  std::mt19937_64 engine_;
  std::vector<int> rows_;  ///< the rows sample() draws
};

}  // namespace trd
