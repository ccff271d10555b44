#include "env/policies.hpp"

#include <algorithm>

#include "data/random.hpp"

namespace trd {

int valid_slots(const ObservationBatch& observations, int row) {
  const int8_t* mask =
      observations.mask.data() + static_cast<std::ptrdiff_t>(row) * observations.n_actions;
  // Valid slots are contiguous at the front of the window.
  return static_cast<int>(std::find(mask, mask + observations.n_actions, 0) - mask);
}

void teacher_policy(const ObservationBatch& observations, std::vector<int32_t>& actions) {
  actions.assign(static_cast<std::size_t>(observations.batch), 0);
}

int32_t random_slot(const ObservationBatch& observations, int row, std::mt19937_64& engine) {
  const int valid = valid_slots(observations, row);
  return valid == 0 ? 0 : static_cast<int32_t>(uniform_index(engine, valid));
}

void random_policy(const ObservationBatch& observations, std::mt19937_64& engine,
                   std::vector<int32_t>& actions) {
  actions.assign(static_cast<std::size_t>(observations.batch), 0);
  for (int row = 0; row < observations.batch; ++row) {
    actions[row] = random_slot(observations, row, engine);
  }
}

}  // namespace trd
