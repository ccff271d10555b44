#pragma once

// Agents by name, for the command line and the loops. Each agent registers
// itself in one place next to its own code (register_dqn in dqn.cpp, ...):
// its name, its flags, how flags become settings and how settings become an
// agent. Settings travel as JSON, the form Agent::settings() reports and a
// checkpoint sidecar keeps, so a registration's make() takes either. A plugin
// (agents/plugin.hpp) adds registrations at run time.

#include <boost/program_options.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "data/error.hpp"

namespace trd {

namespace po = boost::program_options;

/// A double flag whose --help shows its default as written (0.05, not
/// 0.050000000000000003).
po::typed_value<double>* real_value(double value);

/// The flags DQN and DDPG share (widths, discount, replay), at `defaults`'
/// values; `Settings` has fields of those names.
template <typename Settings>
void add_learner_options(po::options_description& options, const Settings& defaults) {
  // clang-format off
  options.add_options()
      ("hidden", po::value<int>()->default_value(defaults.hidden), "width of the hidden layers")
      ("dim", po::value<int>()->default_value(defaults.dim),
       "embedding width when the teacher exports no embeddings")
      ("train-embeddings", po::value<bool>()->default_value(defaults.train_embeddings),
       "fine-tune the embedding tables (initialised from the teacher's); off by default because "
       "on ML-100K fine-tuning let the student memorise the rl split's users")
      ("gamma", real_value(defaults.gamma), "discount")
      ("grad-clip", real_value(defaults.grad_clip), "max gradient norm")
      ("batch-size", po::value<int>()->default_value(defaults.batch_size),
       "transitions per update")
      ("replay", po::value<int64_t>()->default_value(defaults.replay_capacity),
       "replay buffer capacity (transitions)")
      ("learning-starts", po::value<int64_t>()->default_value(defaults.learning_starts),
       "transitions observed before the first update");
  // clang-format on
}

template <typename Settings>
void read_learner_options(const po::variables_map& values, Settings& settings) {
  settings.hidden = values["hidden"].as<int>();
  settings.dim = values["dim"].as<int>();
  settings.train_embeddings = values["train-embeddings"].as<bool>();
  settings.gamma = values["gamma"].as<double>();
  settings.grad_clip = values["grad-clip"].as<double>();
  settings.batch_size = values["batch-size"].as<int>();
  settings.replay_capacity = values["replay"].as<int64_t>();
  settings.learning_starts = values["learning-starts"].as<int64_t>();
}

struct AgentRegistration {
  std::string name;
  std::string summary;  ///< one line for --help
  /// The agent's flags with its own defaults. Two agents may share a flag
  /// name (--hidden); each gives its own default and only the chosen agent's
  /// flags are parsed.
  po::options_description options;
  /// The settings the parsed flags give (`values` also holds the env and
  /// training flags); InputError naming the flag for a value out of range.
  std::function<nlohmann::json(const po::variables_map& values)> settings_from_flags;
  /// The agent, from settings_from_flags()'s or Agent::settings()'s JSON;
  /// `seed` overrides any seed the settings hold. InputError naming the bad
  /// field.
  std::function<std::unique_ptr<Agent>(const EnvData& data, const Spaces& spaces,
                                       const nlohmann::json& settings, uint64_t seed)>
      make;
};

class AgentRegistry {
 public:
  /// InputError when an agent of that name is registered already.
  void add(AgentRegistration registration);
  /// InputError naming the known agents unless `name` is registered.
  const AgentRegistration& find(const std::string& name) const;
  const AgentRegistration* find_nothrow(const std::string& name) const;
  /// "dqn, ddpg, teacher or random".
  std::string names_text() const;
  const std::vector<AgentRegistration>& registrations() const { return registrations_; }

  /// The settings an agent's flags give at their defaults.
  nlohmann::json default_settings(const std::string& name) const;
  std::unique_ptr<Agent> make(const std::string& name, const EnvData& data, const Spaces& spaces,
                              const nlohmann::json& settings, uint64_t seed) const;

 private:
  std::vector<AgentRegistration> registrations_;
};

/// "a, b and c" with `last` = "and" ("or" for a choice).
std::string list_text(const std::vector<std::string>& names, const std::string& last);

/// dqn, ddpg, teacher and random; an explicit call, because a static library
/// drops self-registering objects no one references.
void register_builtin_agents(AgentRegistry& registry);

/// `settings` as `Settings` (a type with nlohmann's from_json); InputError
/// naming the agent and the field.
template <typename Settings>
Settings settings_as(const std::string& agent, const nlohmann::json& settings) {
  try {
    return settings.get<Settings>();
  } catch (const nlohmann::json::exception& error) {
    throw InputError("settings of agent '" + agent + "': " + error.what());
  }
}

/// A registration's make() for an agent built as AgentType(data, spaces,
/// settings) from a Settings with a `seed` field, as DQN and DDPG are.
template <typename AgentType, typename Settings>
auto make_from_settings(std::string agent) {
  return [agent](const EnvData& data, const Spaces& spaces, const nlohmann::json& json,
                 uint64_t seed) -> std::unique_ptr<Agent> {
    Settings settings = settings_as<Settings>(agent, json);
    settings.seed = seed;
    return std::make_unique<AgentType>(data, spaces, settings);
  };
}

void register_dqn(AgentRegistry& registry);
void register_ddpg(AgentRegistry& registry);
void register_baselines(AgentRegistry& registry);

}  // namespace trd
