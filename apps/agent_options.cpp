#include "apps/agent_options.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "data/error.hpp"
#include "data/loaders.hpp"
#include "torch_support/thread_scope.hpp"

namespace trd::cli {
namespace {

// A double flag whose --help shows its default as written (0.05, not
// 0.050000000000000003).
po::typed_value<double>* real(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return po::value<double>()->default_value(value, text);
}

}  // namespace

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

po::options_description agent_options() {
  po::options_description options("Agent options");
  const DqnSettings dqn;
  const DdpgSettings ddpg;
  // clang-format off
  options.add_options()
      ("agent", po::value<std::string>()->default_value("dqn"), kAgentNames)
      ("hidden", po::value<int>()->default_value(dqn.hidden), "width of the hidden layers")
      ("dim", po::value<int>()->default_value(dqn.dim),
       "embedding width when the teacher exports no embeddings")
      ("train-embeddings", po::value<bool>()->default_value(dqn.train_embeddings),
       "fine-tune the embedding tables (initialised from the teacher's); off by default because "
       "on ML-100K fine-tuning let the student memorise the rl split's users")
      ("slot-embeddings", po::value<bool>()->default_value(dqn.slot_embeddings),
       "dqn: feed each candidate's embedding and its products with the state, beside their "
       "dot products")
      ("state-embeddings", po::value<bool>()->default_value(dqn.state_embeddings),
       "dqn: feed the user's and the history's embeddings to the state part, beside the "
       "candidates' dot products with them")
      ("gamma", real(dqn.gamma), "discount")
      ("lr", real(dqn.lr), "dqn: Adam learning rate")
      ("grad-clip", real(dqn.grad_clip), "max gradient norm")
      ("batch-size", po::value<int>()->default_value(dqn.batch_size), "transitions per update")
      ("replay", po::value<int64_t>()->default_value(dqn.replay_capacity),
       "replay buffer capacity (transitions)")
      ("learning-starts", po::value<int64_t>()->default_value(dqn.learning_starts),
       "transitions observed before the first update")
      ("target-update", po::value<int>()->default_value(dqn.target_update),
       "dqn: updates between target-network copies")
      ("epsilon-start", real(dqn.epsilon_start),
       "dqn: exploration rate at the start")
      ("epsilon-end", real(dqn.epsilon_end),
       "dqn: exploration rate after the decay")
      ("epsilon-decay", po::value<int64_t>()->default_value(dqn.epsilon_decay_steps),
       "dqn: exploring user-steps of the linear decay")
      ("state", po::value<std::string>()->default_value(ddpg.state),
       "ddpg: state representation, concat (user and history embeddings, as TRD) or drr-ave "
       "([user, user * mean(history), mean(history)])")
      ("noise", po::value<std::string>()->default_value(ddpg.noise), "ddpg: gaussian or ou")
      ("noise-start", real(ddpg.noise_start),
       "ddpg: exploration noise at the start, relative to the actor vector's length")
      ("noise-end", real(ddpg.noise_end),
       "ddpg: exploration noise after the decay")
      ("noise-decay", po::value<int64_t>()->default_value(ddpg.noise_decay_steps),
       "ddpg: exploring user-steps of the linear decay")
      ("teacher-weight", real(ddpg.teacher_weight),
       "ddpg: weight of the teacher's standardised score in slot scores (0: actor alone)")
      ("actor-lr", real(ddpg.actor_lr), "ddpg: actor learning rate")
      ("critic-lr", real(ddpg.critic_lr),
       "ddpg: critic learning rate")
      ("tau", real(ddpg.tau), "ddpg: soft target update rate");
  // clang-format on
  return options;
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
      ("threads", po::value<int>()->default_value(1),
       "LibTorch threads (1 gives the same numbers for a seed everywhere)")
      ("eval-feedback", po::value<std::string>()->default_value("none"),
       "how the lists that pick the best epoch (and, in trd run, the test report's) are built: "
       "none is label-free; hits lets each pick after a hit see it (the original TRD code's "
       "protocol; reports then say the lists used held-out labels)");
  // clang-format on
  return options;
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

AgentSettings agent_settings(const po::variables_map& v) {
  AgentSettings settings;
  DqnSettings& dqn = settings.dqn;
  dqn.hidden = v["hidden"].as<int>();
  dqn.dim = v["dim"].as<int>();
  dqn.train_embeddings = v["train-embeddings"].as<bool>();
  dqn.slot_embeddings = v["slot-embeddings"].as<bool>();
  dqn.state_embeddings = v["state-embeddings"].as<bool>();
  dqn.gamma = v["gamma"].as<double>();
  dqn.lr = v["lr"].as<double>();
  dqn.grad_clip = v["grad-clip"].as<double>();
  dqn.batch_size = v["batch-size"].as<int>();
  dqn.replay_capacity = v["replay"].as<int64_t>();
  dqn.learning_starts = v["learning-starts"].as<int64_t>();
  dqn.target_update = v["target-update"].as<int>();
  dqn.epsilon_start = v["epsilon-start"].as<double>();
  dqn.epsilon_end = v["epsilon-end"].as<double>();
  dqn.epsilon_decay_steps = v["epsilon-decay"].as<int64_t>();
  check_dqn_settings(dqn);
  DdpgSettings& ddpg = settings.ddpg;
  ddpg.hidden = dqn.hidden;
  ddpg.dim = dqn.dim;
  ddpg.train_embeddings = dqn.train_embeddings;
  ddpg.gamma = dqn.gamma;
  ddpg.grad_clip = dqn.grad_clip;
  ddpg.batch_size = dqn.batch_size;
  ddpg.replay_capacity = dqn.replay_capacity;
  ddpg.learning_starts = dqn.learning_starts;
  ddpg.state = v["state"].as<std::string>();
  ddpg.noise = v["noise"].as<std::string>();
  ddpg.noise_start = v["noise-start"].as<double>();
  ddpg.noise_end = v["noise-end"].as<double>();
  ddpg.noise_decay_steps = v["noise-decay"].as<int64_t>();
  ddpg.teacher_weight = v["teacher-weight"].as<double>();
  ddpg.actor_lr = v["actor-lr"].as<double>();
  ddpg.critic_lr = v["critic-lr"].as<double>();
  ddpg.tau = v["tau"].as<double>();
  check_ddpg_settings(ddpg);
  if (v["agent"].as<std::string>() == "dqn" && !dqn.slot_embeddings &&
      parse_slot_features(v["features"].as<std::string>(), "--features").empty()) {
    throw InputError("--features none leaves the DQN's slots without inputs: name features or "
                     "add --slot-embeddings 1");
  }
  settings.seed = v["seed"].as<uint64_t>();
  return settings;
}

TrainSettings train_settings(const po::variables_map& v) {
  TrainSettings settings;
  settings.epochs = v["epochs"].as<int>();
  settings.batch_users = v["batch-users"].as<int>();
  settings.updates_per_step = v["updates-per-step"].as<int>();
  settings.eval_feedback = parse_feedback(v["eval-feedback"].as<std::string>(), "--eval-feedback");
  settings.seed = v["seed"].as<uint64_t>();
  check_train_settings(settings);
  return settings;
}

nlohmann::json knowledge_summary(const Knowledge& knowledge, const std::string& path) {
  return {{"file", path},
          {"teacher", knowledge.teacher},
          {"stage", knowledge.stage},
          {"n_users", knowledge.n_users},
          {"n_items", knowledge.n_items},
          {"dim", knowledge.user_embeddings.cols()},
          {"dataset_fingerprint", knowledge.dataset_fingerprint},
          {"crc32", file_crc32(path)}};
}

void check_window_fits(const EnvSettings& env, int list_length, const std::string& source) {
  if (env.n_actions > list_length || env.episode_length > list_length) {
    throw InputError(source + ": the teacher's lists hold " + std::to_string(list_length) +
                     " items, fewer than --n-actions " + std::to_string(env.n_actions) +
                     " or --episode-length " + std::to_string(env.episode_length));
  }
}

void check_stage(const Knowledge& knowledge, const std::string& knowledge_path, Split expected,
                 const std::string& role) {
  if (knowledge.stage != kSplitNames[expected]) {
    throw InputError(knowledge_path + ": attribute stage = '" + knowledge.stage +
                     "', expected '" + kSplitNames[expected] + "' (" + role + " takes the " +
                     kSplitNames[expected] + "-stage lists)");
  }
}

void check_split_not_empty(const Dataset& dataset, const std::string& dataset_path, Split split,
                           const std::string& why) {
  if (dataset.splits[split].size() == 0) {
    throw InputError(dataset_path + ": the " + kSplitNames[split] + " split is empty, and " + why +
                     " (too few interactions per user for its --ratios?)");
  }
}

void check_candidates(const Knowledge& knowledge, const std::string& knowledge_path,
                      int n_candidates, uint64_t candidate_seed) {
  const KnowledgeProtocol& protocol = knowledge.protocol;
  if (protocol.candidates == 0) {
    if (protocol.recorded && n_candidates > 0) {
      throw InputError(knowledge_path + ": attribute candidates = 0 (a full ranking, cut at " +
                       std::to_string(knowledge.list_length()) + " items), expected " +
                       std::to_string(n_candidates) + ": rank within those sets with trd teacher "
                       "--candidates " + std::to_string(n_candidates));
    }
    return;
  }
  const std::string ranked = "its lists were ranked within " +
                             std::to_string(protocol.candidates) +
                             " candidates drawn with seed " +
                             std::to_string(protocol.candidate_seed);
  if (n_candidates == 0) {
    throw InputError(knowledge_path + ": attribute candidates = " +
                     std::to_string(protocol.candidates) + ", expected 0 for a full ranking (" +
                     ranked + "; score it with --candidates " +
                     std::to_string(protocol.candidates) + " --candidate-seed " +
                     std::to_string(protocol.candidate_seed) + ")");
  }
  if (n_candidates != protocol.candidates ||
      candidate_seed != static_cast<uint64_t>(protocol.candidate_seed)) {
    throw InputError(knowledge_path + ": attributes candidates = " +
                     std::to_string(protocol.candidates) + ", candidate_seed = " +
                     std::to_string(protocol.candidate_seed) + ", expected " +
                     std::to_string(n_candidates) + " and " + std::to_string(candidate_seed) +
                     " (" + ranked + ", not within the sets asked for here)");
  }
}

void check_warm_start_from(const Knowledge& knowledge, const std::string& knowledge_path,
                           const std::string& earlier_crc32, const std::string& earlier_path) {
  const std::string& recorded = knowledge.protocol.warm_start_crc32;
  if (!recorded.empty() && recorded != earlier_crc32) {
    throw InputError(knowledge_path + ": attribute warm_start_crc32 = " + recorded +
                     ", expected " + earlier_crc32 + " (the CRC-32 of " + earlier_path +
                     "): it continues another teacher than the one the student learned from");
  }
}

std::string protocol_text(const Knowledge& knowledge, const std::string& knowledge_path,
                          int n_candidates) {
  std::string text =
      n_candidates > 0 ? std::to_string(n_candidates) + " candidates" : "full ranking";
  if (!knowledge.protocol.recorded) {
    text += " (" + knowledge_path + " records no protocol attributes: taken as a full ranking)";
  }
  return text;
}

void check_knowledge_matches(const Knowledge& knowledge, const std::string& knowledge_path,
                             const Dataset& dataset, const std::string& dataset_path) {
  if (knowledge.n_users != dataset.n_users() || knowledge.n_items != dataset.n_items()) {
    throw InputError(knowledge_path + ": has " + std::to_string(knowledge.n_users) + " users and " +
                     std::to_string(knowledge.n_items) + " items, but " + dataset_path + " has " +
                     std::to_string(dataset.n_users()) + " and " +
                     std::to_string(dataset.n_items()) + " (knowledge for another dataset?)");
  }
  const std::string fingerprint = dataset_fingerprint(dataset);
  if (!knowledge.dataset_fingerprint.empty() && knowledge.dataset_fingerprint != fingerprint) {
    throw InputError(knowledge_path + ": was made from a dataset with fingerprint " +
                     knowledge.dataset_fingerprint + ", not " + dataset_path + " (" + fingerprint +
                     ")");
  }
}

}  // namespace trd::cli
