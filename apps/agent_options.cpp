#include "apps/agent_options.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "agents/plugin.hpp"
#include "data/error.hpp"
#include "data/loaders.hpp"
#include "torch_support/thread_scope.hpp"

namespace trd::cli {

po::options_description env_options() {
  po::options_description options("Environment options");
  const EnvSettings defaults;
  // clang-format off
  options.add_options()
      ("n-actions", po::value<int>()->default_value(kStudentWindow),
       "window slots: candidates the agent picks from at each step (DESIGN.md's env has 20; on "
       "ML-100K 50 gave the learned student more room over history_rerank)")
      ("history", po::value<int>()->default_value(defaults.history_length),
       "H: last hit items in the observation")
      ("episode-length", po::value<int>()->default_value(defaults.episode_length),
       "K: top positions an episode fills")
      ("reward", po::value<std::string>()->default_value("dcg"), "dcg, binary or graded")
      ("feedback", po::value<std::string>()->default_value(feedback_name(defaults.feedback)),
       "while training: hits (a hit joins the history) or none (the history stays the last H "
       "positives before the split); lists that are scored or shown are always built with none")
      ("features", po::value<std::string>()->default_value("default"),
       "what each observation reports per slot, comma-separated: teacher_score, teacher_rank, "
       "history_similarity, recent_similarity (one column per history item), popularity, "
       "transitions, transition_share, reverse_transitions, position; default (all) or none. The DQN reads them; "
       "teacher_score,teacher_rank with --state-embeddings 1 --slot-embeddings 1 is DESIGN.md's "
       "literal DQN input");
  // clang-format on
  return options;
}

AgentRegistry& agent_registry() {
  static AgentRegistry registry = [] {
    AgentRegistry builtin;
    register_builtin_agents(builtin);
    return builtin;
  }();
  return registry;
}

po::options_description agent_choice_options() {
  po::options_description options("Agent options");
  // clang-format off
  std::string agents;
  for (const AgentRegistration& registration : agent_registry().registrations()) {
    agents += "; " + registration.name + ": " + registration.summary;
  }
  options.add_options()
      ("agent", po::value<std::string>()->default_value("dqn"),
       ("the student" + agents + "; or one an --agent-library registers. Each agent's own flags "
        "follow").c_str())
      ("agent-library", po::value<std::vector<std::string>>()->composing()->value_name("PATH.so"),
       "load agents from a plugin (agents/plugin.hpp; repeatable)");
  // clang-format on
  return options;
}

namespace {

// --agent and --agent-library read ahead of the full parse, from the command
// line and the --config file, under the full parse's rules (abbreviations
// included, so --agent-lib loads what the full parse will say it names).
po::variables_map peek_agent_flags(const std::vector<std::string>& args) {
  po::options_description peek;
  peek.add_options()("agent", po::value<std::string>())(
      "agent-library", po::value<std::vector<std::string>>()->composing())(
      "config", po::value<std::string>());
  po::variables_map values;
  po::store(po::command_line_parser(args).options(peek).allow_unregistered().run(), values);
  if (values.count("config")) {
    std::ifstream config(values["config"].as<std::string>());
    if (config) po::store(po::parse_config_file(config, peek, /*allow_unregistered=*/true), values);
  }
  return values;
}

void load_libraries(const po::variables_map& peeked) {
  if (peeked.count("agent-library") == 0) return;
  for (const std::string& path : peeked["agent-library"].as<std::vector<std::string>>()) {
    load_agent_library(path, agent_registry());
  }
}

}  // namespace

void load_agent_libraries(const std::vector<std::string>& args) {
  load_libraries(peek_agent_flags(args));
}

std::optional<po::variables_map> parse_with_agent(const std::string& command,
                                                  const std::string& usage,
                                                  const po::options_description& options,
                                                  const std::vector<std::string>& args) {
  const po::variables_map peeked = peek_agent_flags(args);
  load_libraries(peeked);
  const AgentRegistry& registry = agent_registry();
  const std::string agent = peeked.count("agent") ? peeked["agent"].as<std::string>() : "dqn";
  po::options_description with_agent;
  with_agent.add(options);
  po::options_description help;
  help.add(options);
  for (const AgentRegistration& registration : registry.registrations()) {
    if (registration.name == agent) with_agent.add(registration.options);
    if (!registration.options.options().empty()) help.add(registration.options);
  }
  try {
    return parse(command, usage, with_agent, args, {}, &help);
  } catch (const po::unknown_option& unknown) {
    // A flag of another agent: say whose, rather than that it is unknown.
    const std::string flag = unknown.get_option_name();
    const std::string name = flag.substr(flag.find_first_not_of('-'));
    std::vector<std::string> owners;
    for (const AgentRegistration& registration : registry.registrations()) {
      if (registration.options.find_nothrow(name, false) != nullptr) {
        owners.push_back(registration.name);
      }
    }
    if (owners.empty()) throw;
    throw InputError(flag + " is a flag of " + (owners.size() == 1 ? "agent " : "agents ") +
                     list_text(owners, "and") + ", not of --agent " + agent);
  }
}

po::options_description training_options() {
  po::options_description options("Training options");
  const TrainSettings defaults;
  // clang-format off
  options.add_options()
      ("epochs", po::value<int>()->default_value(defaults.epochs),
       "epochs; each plays one episode per training user on average")
      ("batch-users", po::value<int>()->default_value(defaults.batch_users),
       "users played in lockstep")
      ("updates-per-step", po::value<int>()->default_value(defaults.updates_per_step),
       "learner updates per env step of all those users")
      ("patience", po::value<int>()->default_value(defaults.patience),
       "stop once this many epochs in a row have not beaten the best valid NDCG (0: run every "
       "epoch); only the best epoch is kept, so later epochs could only have replaced it, but "
       "valid NDCG is noisy and a later epoch often does")
      ("threads", po::value<int>()->default_value(1),
       "LibTorch threads (1 gives the same numbers for a seed everywhere)")
      ("eval-feedback", po::value<std::string>()->default_value("none"),
       "how the lists that pick the best epoch (and, in trd run, the test report's) are built: "
       "none is label-free; hits lets each pick after a hit see it (the original TRD code's "
       "protocol; reports then say the lists used held-out labels)");
  // clang-format on
  return options;
}

po::options_description replica_options() {
  po::options_description options("Data-parallel options (several trd train processes, one model)");
  const ReplicaSettings defaults;
  // clang-format off
  options.add_options()
      ("world-size", po::value<int>()->default_value(defaults.world_size),
       "processes training together: each plays its share of the users with its own replay "
       "buffer, and their gradients are averaged (c10d, Gloo) every update")
      ("rank", po::value<int>()->default_value(defaults.rank),
       "this process' number in [0, world size); rank 0 writes the checkpoint and the logs")
      ("rendezvous", po::value<std::string>()->default_value(defaults.rendezvous),
       "where the processes meet: tcp://HOST:PORT (rank 0 listens there) or file://PATH (a "
       "fresh file all of them reach)")
      ("rendezvous-timeout", po::value<int>()->default_value(defaults.timeout_s),
       "seconds a process waits for the others, to join and at every exchange, before it "
       "stops with an error")
      ("verify-replicas", po::value<bool>()->default_value(defaults.verify),
       "after every update, check that all processes hold bit-identical weights (one small "
       "exchange per update)");
  // clang-format on
  return options;
}

ReplicaSettings replica_settings(const po::variables_map& v) {
  ReplicaSettings settings;
  settings.world_size = v["world-size"].as<int>();
  settings.rank = v["rank"].as<int>();
  settings.rendezvous = v["rendezvous"].as<std::string>();
  settings.timeout_s = v["rendezvous-timeout"].as<int>();
  settings.verify = v["verify-replicas"].as<bool>();
  check_replica_settings(settings);
  return settings;
}

EnvSettings env_settings(const po::variables_map& v) {
  EnvSettings settings;
  settings.n_actions = v["n-actions"].as<int>();
  settings.history_length = v["history"].as<int>();
  settings.episode_length = v["episode-length"].as<int>();
  settings.reward = parse_reward_kind(v["reward"].as<std::string>());
  settings.feedback = parse_feedback(v["feedback"].as<std::string>(), "--feedback");
  settings.features = parse_slot_features(v["features"].as<std::string>(), "--features");
  check_env_settings(settings);
  return settings;
}

AgentConfig agent_config(const po::variables_map& v) {
  AgentConfig config;
  config.name = v["agent"].as<std::string>();
  config.settings = agent_registry().find(config.name).settings_from_flags(v);
  config.seed = v["seed"].as<uint64_t>();
  return config;
}

TrainSettings train_settings(const po::variables_map& v) {
  TrainSettings settings;
  settings.epochs = v["epochs"].as<int>();
  settings.batch_users = v["batch-users"].as<int>();
  settings.updates_per_step = v["updates-per-step"].as<int>();
  settings.patience = v["patience"].as<int>();
  settings.eval_feedback = parse_feedback(v["eval-feedback"].as<std::string>(), "--eval-feedback");
  settings.seed = v["seed"].as<uint64_t>();
  check_train_settings(settings);
  return settings;
}

}  // namespace trd::cli
