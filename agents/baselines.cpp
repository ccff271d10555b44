#include "agents/baselines.hpp"

#include "agents/networks.hpp"
#include "env/policies.hpp"

namespace trd {

void BaselineAgent::save(const std::string& path) const { save_modules(path, name(), {}, {}); }

void BaselineAgent::load(const std::string& path) { load_modules(path, name(), {}, {}); }

void TeacherAgent::act(const ObservationBatch& observations, bool /*explore*/,
                       std::vector<int32_t>& actions) {
  teacher_policy(observations, actions);
}

void RandomAgent::act(const ObservationBatch& observations, bool /*explore*/,
                      std::vector<int32_t>& actions) {
  random_policy(observations, engine_, actions);
}

}  // namespace trd
