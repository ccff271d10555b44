#pragma once

// Agents by name, for the command line and the loops.

#include <memory>
#include <string>

#include "agents/agent.hpp"
#include "agents/ddpg.hpp"
#include "agents/dqn.hpp"

namespace trd {

inline constexpr const char* kAgentNames = "dqn, ddpg, teacher or random";

/// Settings of every agent; make_agent reads the ones its agent uses.
struct AgentSettings {
  DqnSettings dqn;
  DdpgSettings ddpg;
  uint64_t seed = 0;  ///< overrides each agent's own seed
};

/// InputError unless make_agent knows `name`, so a long pipeline can reject
/// a typo before it starts.
void check_agent_name(const std::string& name);

/// What an agent reported through Agent::settings() (a checkpoint sidecar),
/// back as AgentSettings; InputError naming the bad field.
AgentSettings settings_from_json(const std::string& name, const nlohmann::json& settings);

/// The agent called `name` for `data`'s env; InputError for an unknown name.
std::unique_ptr<Agent> make_agent(const std::string& name, const EnvData& data,
                                  const Spaces& spaces, const AgentSettings& settings);

}  // namespace trd
