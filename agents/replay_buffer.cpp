#include "agents/replay_buffer.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "data/error.hpp"
#include "data/random.hpp"

namespace trd {
namespace {

// The storage grows a block at a time with the transitions it holds: an
// agent built only to be judged, or a short run, never touches the rest of
// its capacity. It is reserved up front (address space only), so growing
// never moves it.
constexpr int64_t kStorageBlockRows = 1024;

void resize_sample(ReplaySample& sample, int rows, const Spaces& spaces, StateSlots state_slots,
                   ObservationArrays arrays) {
  sample.observations.arrays = arrays;
  sample.next_observations.arrays = arrays;
  sample.observations.resize(rows, spaces.history_length,
                             state_slots == StateSlots::kActed ? 1 : spaces.n_actions,
                             spaces.pad_item, spaces.n_features);
  sample.next_observations.resize(rows, spaces.history_length, spaces.n_actions, spaces.pad_item,
                                  spaces.n_features);
  sample.actions.assign(rows, 0);
  sample.rewards.assign(rows, 0.0f);
  sample.terminated.assign(rows, 0);
}

void grow_sample(ReplaySample& sample, int rows, int32_t pad_item) {
  sample.observations.grow(rows, pad_item);
  sample.next_observations.grow(rows, pad_item);
  sample.actions.resize(rows, 0);
  sample.rewards.resize(rows, 0.0f);
  sample.terminated.resize(rows, 0);
}

}  // namespace

ReplayBuffer::ReplayBuffer(const Spaces& spaces, int64_t capacity, uint64_t seed,
                           StateSlots state_slots, ObservationArrays arrays)
    : spaces_(spaces),
      state_slots_(state_slots),
      arrays_(arrays),
      capacity_(capacity),
      engine_(seed) {
  if (capacity < 1 || capacity > (int64_t{1} << 30)) {
    throw InputError("replay capacity must be in [1, 2^30], got " + std::to_string(capacity));
  }
  resize_sample(storage_, 0, spaces_, state_slots_, arrays_);
  storage_.observations.reserve(static_cast<int>(capacity));
  storage_.next_observations.reserve(static_cast<int>(capacity));
  storage_.actions.reserve(static_cast<std::size_t>(capacity));
  storage_.rewards.reserve(static_cast<std::size_t>(capacity));
  storage_.terminated.reserve(static_cast<std::size_t>(capacity));
}

void ReplayBuffer::add(const Transitions& transitions) {
  const ObservationBatch& before = *transitions.observations;
  const StepBatch& step = *transitions.step;
  for (int row = 0; row < before.batch; ++row) {
    if (before.active[row] == 0) continue;
    const bool ended = step.terminated[row] != 0 || step.truncated[row] != 0;
    const ObservationBatch& after =
        ended ? *transitions.final_observations : *transitions.next_observations;
    const int slot = static_cast<int>(next_);
    if (slot == storage_.observations.batch) {
      grow_sample(storage_, static_cast<int>(std::min(capacity_, next_ + kStorageBlockRows)),
                  spaces_.pad_item);
    }
    if (state_slots_ == StateSlots::kActed) {
      storage_.observations.copy_slot(before, row, transitions.actions[row], slot);
    } else {
      storage_.observations.copy_row(before, row, slot);
    }
    storage_.next_observations.copy_row(after, row, slot);
    storage_.actions[slot] = transitions.actions[row];
    storage_.rewards[slot] = step.reward[row];
    storage_.terminated[slot] = step.terminated[row];
    next_ = (next_ + 1) % capacity_;
    if (size_ < capacity_) ++size_;
  }
}

void ReplayBuffer::sample(int n, ReplaySample& sample) {
  draw(n, rows_);
  gather(rows_, sample);
}

void ReplayBuffer::draw(int n, std::vector<int>& rows) {
  if (size_ == 0) throw std::logic_error("ReplayBuffer::draw: the buffer is empty");
  rows.resize(static_cast<std::size_t>(n));
  for (int& row : rows) row = static_cast<int>(uniform_index(engine_, size_));
}

void ReplayBuffer::gather(const std::vector<int>& rows, ReplaySample& sample) const {
  const int n = static_cast<int>(rows.size());
  const ObservationArrays& held = sample.observations.arrays;
  if (sample.observations.batch != n || held.ids != arrays_.ids ||
      held.teacher != arrays_.teacher) {
    resize_sample(sample, n, spaces_, state_slots_, arrays_);
  }
  // Each row's reads start a few rows ahead of its copy: the rows lie
  // scattered over the whole buffer, and the copy spent most of its time
  // waiting on each array's first cache miss.
  constexpr int kRowsAhead = 4;
  for (int i = 0; i < n; ++i) {
    if (i + kRowsAhead < n) {
      storage_.observations.prefetch_row(rows[i + kRowsAhead]);
      storage_.next_observations.prefetch_row(rows[i + kRowsAhead]);
    }
    const int from = rows[i];
    sample.observations.copy_row(storage_.observations, from, i);
    sample.next_observations.copy_row(storage_.next_observations, from, i);
    sample.actions[i] = storage_.actions[from];
    sample.rewards[i] = storage_.rewards[from];
    sample.terminated[i] = storage_.terminated[from];
  }
}

}  // namespace trd
