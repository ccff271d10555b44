#include "agents/registry.hpp"

#include <cstdio>

#include "agents/baselines.hpp"

namespace trd {

po::typed_value<double>* real_value(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return po::value<double>()->default_value(value, text);
}

void AgentRegistry::add(AgentRegistration registration) {
  if (find_nothrow(registration.name) != nullptr) {
    throw InputError("agent '" + registration.name + "' is registered twice");
  }
  registrations_.push_back(std::move(registration));
}

const AgentRegistration* AgentRegistry::find_nothrow(const std::string& name) const {
  for (const AgentRegistration& registration : registrations_) {
    if (registration.name == name) return &registration;
  }
  return nullptr;
}

const AgentRegistration& AgentRegistry::find(const std::string& name) const {
  if (const AgentRegistration* registration = find_nothrow(name)) return *registration;
  throw InputError("--agent '" + name + "': unknown agent (expected " + names_text() +
                   "; a plugin's agents need --agent-library)");
}

std::string list_text(const std::vector<std::string>& names, const std::string& last) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " " + last + " " : ", ";
    text += names[i];
  }
  return text;
}

std::string AgentRegistry::names_text() const {
  std::vector<std::string> names;
  for (const AgentRegistration& registration : registrations_) names.push_back(registration.name);
  return list_text(names, "or");
}

nlohmann::json AgentRegistry::default_settings(const std::string& name) const {
  const AgentRegistration& registration = find(name);
  po::variables_map values;
  po::store(po::command_line_parser(std::vector<std::string>{})
                .options(registration.options)
                .run(),
            values);
  po::notify(values);
  return registration.settings_from_flags(values);
}

std::unique_ptr<Agent> AgentRegistry::make(const std::string& name, const EnvData& data,
                                           const Spaces& spaces, const nlohmann::json& settings,
                                           uint64_t seed) const {
  return find(name).make(data, spaces, settings, seed);
}

void register_builtin_agents(AgentRegistry& registry) {
  register_dqn(registry);
  register_ddpg(registry);
  register_baselines(registry);
}

}  // namespace trd
