#pragma once

// Flags shared by `trd train` and `trd run`: the env's shape, the agent and
// the training budget.

#include <functional>
#include <string>

#include "agents/registry.hpp"
#include "agents/replica_group.hpp"
#include "agents/training.hpp"
#include "apps/cli.hpp"
#include "apps/protocol_checks.hpp"
#include "data/dataset.hpp"
#include "data/knowledge.hpp"
#include "data/protocol.hpp"
#include "env/rec_env.hpp"

namespace trd::cli {

/// trd's student window, wider than DESIGN.md's env default of 20: measured
/// on ML-100K valid (README, "What the student reads").
inline constexpr int kStudentWindow = 50;

/// The built-in agents and those of every --agent-library loaded so far.
AgentRegistry& agent_registry();

/// The agent a command trains or reads, after its libraries are loaded.
struct AgentConfig {
  std::string name;
  nlohmann::json settings;  ///< as the registration's settings_from_flags() gives them
  uint64_t seed = 0;
};

po::options_description env_options();
/// --agent and --agent-library; each agent's own flags come from the registry.
po::options_description agent_choice_options();
/// Without --seed: each command adds its own (trd run shares one seed).
po::options_description training_options();
/// --world-size, --rank, --rendezvous, --rendezvous-timeout, --verify-replicas.
po::options_description replica_options();

/// Loads every --agent-library that `args` (or the --config file they name)
/// gives, so the registry knows their agents before the flags are parsed.
void load_agent_libraries(const std::vector<std::string>& args);

/// parse() for a command that takes agent_choice_options(): loads the
/// libraries, parses the chosen agent's flags with `options` and lists every
/// agent's flags in --help. A flag of another agent than the chosen one is
/// an InputError that names its agent.
std::optional<po::variables_map> parse_with_agent(const std::string& command,
                                                  const std::string& usage,
                                                  const po::options_description& options,
                                                  const std::vector<std::string>& args);

EnvSettings env_settings(const po::variables_map& values);
AgentConfig agent_config(const po::variables_map& values);
TrainSettings train_settings(const po::variables_map& values);
/// Checked (check_replica_settings) before anything is read.
ReplicaSettings replica_settings(const po::variables_map& values);

/// A knowledge file another process is still writing.
struct KnowledgeInTheMaking {
  std::function<bool()> done;  ///< true once it is written (wait() would not wait)
  std::function<void()> wait;  ///< waits until it is written
};

/// Trains an agent (see `trd train --help`) into `out_dir`: agent.pt (the best
/// epoch on valid), agent.json (its sidecar) and train.csv (one line per
/// epoch). Returns the sidecar. With a group of `replicas.world_size` > 1
/// the ranks train together and only rank 0 writes (the others return a
/// summary of their share). With `valid_knowledge_written` given, the
/// valid knowledge is read only when the first epoch is to be judged (see
/// train_agent), after its wait(); else it is read and checked before
/// training starts.
nlohmann::json train_into(const po::variables_map& values, const std::string& dataset_path,
                          const std::string& train_knowledge_path,
                          const std::string& valid_knowledge_path, const std::string& out_dir,
                          const ReplicaSettings& replicas = {},
                          const KnowledgeInTheMaking& valid_knowledge_written = {});

}  // namespace trd::cli
