#include "agents/baselines.hpp"

#include "agents/networks.hpp"
#include "agents/registry.hpp"
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

void register_baselines(AgentRegistry& registry) {
  auto no_settings = [](const po::variables_map&) { return nlohmann::json::object(); };
  registry.add({"teacher", "slot 0 every step: the teacher's own list", {}, no_settings,
                [](const EnvData&, const Spaces&, const nlohmann::json&, uint64_t) {
                  return std::unique_ptr<Agent>(std::make_unique<TeacherAgent>());
                }});
  registry.add({"random", "a uniform valid slot every step", {}, no_settings,
                [](const EnvData&, const Spaces&, const nlohmann::json&, uint64_t seed) {
                  return std::unique_ptr<Agent>(std::make_unique<RandomAgent>(seed));
                }});
}

}  // namespace trd
