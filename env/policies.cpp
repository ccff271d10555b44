#include "env/policies.hpp"

#include <algorithm>

namespace trd {

void teacher_policy(const ObservationBatch& observations, std::vector<int32_t>& actions) {
  actions.assign(static_cast<std::size_t>(observations.batch), 0);
}

void random_policy(const ObservationBatch& observations, std::mt19937_64& engine,
                   std::vector<int32_t>& actions) {
  actions.assign(static_cast<std::size_t>(observations.batch), 0);
  for (int row = 0; row < observations.batch; ++row) {
    const int8_t* mask =
        observations.mask.data() + static_cast<std::ptrdiff_t>(row) * observations.n_actions;
    // Valid slots are contiguous at the front of the window.
    const int valid = static_cast<int>(std::find(mask, mask + observations.n_actions, 0) - mask);
    if (valid == 0) continue;
    const double unit = static_cast<double>(engine() >> 11) * 0x1.0p-53;
    actions[row] = std::min(valid - 1, static_cast<int>(unit * valid));
  }
}

}  // namespace trd
