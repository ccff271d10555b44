#include "env/policies.hpp"

#include <algorithm>
#include <limits>

#include "data/random.hpp"

namespace trd {

int valid_slots(const ObservationBatch& observations, int row) {
  const int8_t* mask =
      observations.mask.data() + static_cast<std::ptrdiff_t>(row) * observations.n_actions;
  // Valid slots are contiguous at the front of the window.
  return static_cast<int>(std::find(mask, mask + observations.n_actions, 0) - mask);
}

void teacher_policy(const ObservationBatch& observations, std::vector<int32_t>& actions) {
  actions.assign(static_cast<std::size_t>(observations.batch), 0);
}

int32_t random_slot(const ObservationBatch& observations, int row, std::mt19937_64& engine) {
  const int valid = valid_slots(observations, row);
  return valid == 0 ? 0 : static_cast<int32_t>(uniform_index(engine, valid));
}

void random_policy(const ObservationBatch& observations, std::mt19937_64& engine,
                   std::vector<int32_t>& actions) {
  actions.assign(static_cast<std::size_t>(observations.batch), 0);
  for (int row = 0; row < observations.batch; ++row) {
    actions[row] = random_slot(observations, row, engine);
  }
}

void best_scored_slots(const ObservationBatch& observations, const std::vector<float>& scores,
                       std::vector<int32_t>& actions) {
  actions.assign(static_cast<std::size_t>(observations.batch), 0);
  const int n = observations.n_actions;
  for (int row = 0; row < observations.batch; ++row) {
    if (observations.active[row] == 0) continue;
    const float* row_scores = scores.data() + static_cast<std::ptrdiff_t>(row) * n;
    const int valid = valid_slots(observations, row);
    for (int slot = 1; slot < valid; ++slot) {
      if (row_scores[slot] > row_scores[actions[row]]) actions[row] = slot;
    }
  }
}

void history_rerank_policy(const ObservationBatch& observations, const ItemSimilarity& similarity,
                           std::vector<int32_t>& actions) {
  actions.assign(static_cast<std::size_t>(observations.batch), 0);
  const int h = observations.history_length;
  const int n = observations.n_actions;
  for (int row = 0; row < observations.batch; ++row) {
    if (observations.active[row] == 0) continue;
    const int32_t* history = observations.history.data() + static_cast<std::ptrdiff_t>(row) * h;
    const int32_t* window = observations.window.data() + static_cast<std::ptrdiff_t>(row) * n;
    const int valid = valid_slots(observations, row);
    float best = -std::numeric_limits<float>::infinity();
    for (int slot = 0; slot < valid; ++slot) {
      float sum = 0;
      for (int j = 0; j < h; ++j) {
        if (history[j] < similarity.n_items()) sum += similarity(window[slot], history[j]);
      }
      if (sum > best) {
        best = sum;
        actions[row] = slot;
      }
    }
  }
}

void window_ceiling_policy(const ObservationBatch& observations, const EnvData& data,
                           std::vector<int32_t>& actions) {
  actions.assign(static_cast<std::size_t>(observations.batch), 0);
  const int n = observations.n_actions;
  for (int row = 0; row < observations.batch; ++row) {
    if (observations.active[row] == 0) continue;
    const int32_t user = observations.user[row];
    const int32_t* window = observations.window.data() + static_cast<std::ptrdiff_t>(row) * n;
    const int valid = valid_slots(observations, row);
    for (int slot = 0; slot < valid; ++slot) {
      if (std::binary_search(data.rewarded.begin(user), data.rewarded.end(user), window[slot])) {
        actions[row] = slot;
        break;
      }
    }
  }
}

RerankedLists rerank_lists(const EnvData& data, const EnvSettings& settings, int batch_users,
                           const ListPolicy& policy) {
  return ListReranker(data, settings, batch_users).rerank(policy);
}

ListReranker::ListReranker(const EnvData& data, const EnvSettings& settings, int batch_users)
    : data_(&data) {
  const Eigen::Index length = data.lists.cols();
  for (int32_t u = 0; u < data.n_users; ++u) {
    if (length > 0 && data.lists(u, 0) >= 0) users_.push_back(u);
  }
  if (users_.empty()) return;
  VecSettings vec;
  vec.order = UserOrder::kSequential;
  vec.users = users_;
  vec.batch = std::min<int>(std::max(batch_users, 1), static_cast<int>(users_.size()));
  vec.replays_users = true;
  env_.emplace(data, settings, vec);
}

RerankedLists ListReranker::rerank(const ListPolicy& policy) {
  const EnvData& data = *data_;
  const Eigen::Index length = data.lists.cols();
  RerankedLists out{RowMatrixXi::Constant(data.n_users, length, -1),
                    RowMatrixXf::Constant(data.n_users, length,
                                          std::numeric_limits<float>::quiet_NaN())};
  if (!env_) return out;
  VecRecEnv& env = *env_;
  std::vector<Eigen::Index> picked(static_cast<std::size_t>(data.n_users), 0);
  std::vector<int32_t> actions, users;
  std::vector<int8_t> active;
  std::vector<float> scores;
  env.reset(0);
  while (!env.all_done()) {
    const ObservationBatch& observations = env.observations();
    users = observations.user;
    active = observations.active;
    scores.clear();
    policy(observations, actions, scores);
    std::vector<float> chosen_score(static_cast<std::size_t>(env.batch()),
                                    std::numeric_limits<float>::quiet_NaN());
    if (!scores.empty()) {
      for (int row = 0; row < env.batch(); ++row) {
        if (active[row] != 0) chosen_score[row] = scores[row * observations.n_actions + actions[row]];
      }
    }
    const StepBatch& step = env.step(actions.data());
    for (int row = 0; row < env.batch(); ++row) {
      if (active[row] == 0) continue;
      const int32_t u = users[row];
      out.items(u, picked[u]) = step.item[row];
      out.scores(u, picked[u]) = chosen_score[row];
      ++picked[u];
    }
  }
  for (int32_t u : users_) {
    Eigen::Index column = picked[u];
    const auto chosen = out.items.row(u).head(picked[u]);
    for (Eigen::Index j = 0; j < length && column < length; ++j) {
      const int32_t item = data.lists(u, j);
      if (item < 0) break;
      if ((chosen.array() != item).all()) out.items(u, column++) = item;
    }
  }
  return out;
}

}  // namespace trd
