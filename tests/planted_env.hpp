#pragma once

// The planted environment the learner tests train on (test_agents.cpp and
// replica_worker.cpp): a learner that finds the planted slot scores
// precision@1 of 1 where the teacher scores 0.

#include <random>
#include <vector>

#include "agents/dqn.hpp"
#include "agents/training.hpp"

namespace trd {

constexpr int kPlantedSlot = 3;

// Every user's rewarded item sits at position kPlantedSlot of its teacher
// list, so the teacher (slot 0) never hits and a learner must find the slot.
// One step per episode: the reward is 1 for the planted item, else 0. Lists
// do not overlap, and the planted items' embeddings share a direction, so a
// DDPG actor (which sees embeddings, not slots) can find them too.
struct PlantedEnv {
  EnvData data;
  EnvSettings settings;
  UserItems seen;
  JudgedSplit split() const { return {&data, &data.rewarded, &seen, nullptr}; }
};

inline PlantedEnv planted_env(int32_t n_users = 48) {
  PlantedEnv env;
  const int32_t n_items = 256;
  const int dim = 8;
  const int list_length = 8;
  env.data.n_users = n_users;
  env.data.n_items = n_items;
  env.data.lists.resize(n_users, list_length);
  env.data.scores.resize(n_users, list_length);
  std::vector<std::vector<int32_t>> rewarded(n_users), past(n_users);
  for (int32_t u = 0; u < n_users; ++u) {
    for (int j = 0; j < list_length; ++j) {
      env.data.lists(u, j) = u * 5 + j;
      env.data.scores(u, j) = static_cast<float>(list_length - j);
    }
    rewarded[u] = {env.data.lists(u, kPlantedSlot)};
  }
  std::mt19937_64 engine(42);
  std::normal_distribution<float> normal(0.0f, 0.35f);
  env.data.user_embeddings.resize(n_users, dim);
  env.data.item_embeddings.resize(n_items, dim);
  for (Eigen::Index i = 0; i < env.data.user_embeddings.size(); ++i) {
    env.data.user_embeddings.data()[i] = normal(engine);
  }
  for (Eigen::Index i = 0; i < env.data.item_embeddings.size(); ++i) {
    env.data.item_embeddings.data()[i] = normal(engine);
  }
  for (const auto& items : rewarded) env.data.item_embeddings(items[0], 0) += 2.5f;
  env.data.rewarded = UserItems(rewarded);
  env.data.rewarded_rating.assign(n_users, 1.0f);
  env.data.past = UserItems(past);
  env.seen = UserItems(past);
  env.settings.n_actions = 5;
  env.settings.history_length = 2;
  env.settings.episode_length = 1;
  env.settings.reward = RewardKind::kBinary;
  return env;
}

inline DqnSettings toy_dqn(uint64_t seed) {
  DqnSettings settings;
  settings.dim = 8;
  settings.hidden = 32;
  settings.batch_size = 64;
  settings.learning_starts = 64;
  settings.target_update = 20;
  settings.epsilon_decay_steps = 1500;
  settings.seed = seed;
  return settings;
}

inline TrainSettings toy_training(int epochs) {
  TrainSettings settings;
  settings.epochs = epochs;
  settings.batch_users = 16;
  settings.updates_per_step = 4;
  return settings;
}

}  // namespace trd
