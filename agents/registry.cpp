#include "agents/registry.hpp"

#include <stdexcept>

#include "agents/baselines.hpp"
#include "data/error.hpp"

namespace trd {

void check_agent_name(const std::string& name) {
  for (const char* known : {"dqn", "ddpg", "teacher", "random"}) {
    if (name == known) return;
  }
  throw InputError("--agent '" + name + "': unknown agent (expected " + kAgentNames + ")");
}

AgentSettings settings_from_json(const std::string& name, const nlohmann::json& settings) {
  AgentSettings result;
  try {
    if (name == "dqn") {
      result.dqn = settings.get<DqnSettings>();
      result.seed = result.dqn.seed;
    } else if (name == "ddpg") {
      result.ddpg = settings.get<DdpgSettings>();
      result.seed = result.ddpg.seed;
    }
  } catch (const nlohmann::json::exception& error) {
    throw InputError("settings of agent '" + name + "': " + error.what());
  }
  return result;
}

std::unique_ptr<Agent> make_agent(const std::string& name, const EnvData& data,
                                  const Spaces& spaces, const AgentSettings& settings) {
  if (name == "dqn") {
    DqnSettings dqn = settings.dqn;
    dqn.seed = settings.seed;
    return std::make_unique<DqnAgent>(data, spaces, dqn);
  }
  if (name == "ddpg") {
    DdpgSettings ddpg = settings.ddpg;
    ddpg.seed = settings.seed;
    return std::make_unique<DdpgAgent>(data, spaces, ddpg);
  }
  if (name == "teacher") return std::make_unique<TeacherAgent>();
  if (name == "random") return std::make_unique<RandomAgent>(settings.seed);
  check_agent_name(name);
  throw std::logic_error("make_agent: '" + name + "' is known but not built");
}

}  // namespace trd
