// The recommendation MDP (env/) against DESIGN.md's rules: the independently
// computed golden episodes (shared/golden/env_episodes.json) through RecEnv and
// VecRecEnv, a hand-made fixture written out as literals, determinism of the
// vectorised env, invariants over many configurations checked against an
// independent model of an episode, and the spaces and feature view.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/synthetic.hpp"
#include "env/policies.hpp"
#include "env/rec_env.hpp"
#include "teachers/mostpop.hpp"
#include "teachers/teacher.hpp"
#include "tests/shared_data.hpp"

namespace trd {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Helpers shared by the tests.

template <typename T>
std::string join(const std::vector<T>& values) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out << (i ? " " : "") << +values[i];  // + prints int8_t as a number
  }
  out << "]";
  return out.str();
}

std::string describe(const Observation& obs) {
  std::ostringstream out;
  out << "user " << obs.user << " t " << obs.t << " history " << join(obs.history) << " window "
      << join(obs.window) << " mask " << join(obs.mask) << " rank " << join(obs.teacher_rank)
      << " score " << join(obs.teacher_score);
  return out.str();
}

// "" when the observations are equal field by field, else both described.
std::string mismatch(const Observation& got, const Observation& want) {
  if (got.user == want.user && got.t == want.t && got.history == want.history &&
      got.window == want.window && got.mask == want.mask &&
      got.teacher_score == want.teacher_score && got.teacher_rank == want.teacher_rank) {
    return "";
  }
  return "got  " + describe(got) + "\nwant " + describe(want);
}

std::vector<int32_t> items_of(const UserItems& items, int32_t user) {
  return std::vector<int32_t>(items.begin(user), items.end(user));
}

bool contains(const UserItems& items, int32_t user, int32_t item) {
  return std::find(items.begin(user), items.end(user), item) != items.end(user);
}

// Number of real entries at the head of `user`'s teacher list (-1 pads the tail).
int list_length(const EnvData& data, int32_t user) {
  int length = 0;
  while (length < data.lists.cols() && data.lists(user, length) >= 0) ++length;
  return length;
}

// Valid slots of an observation, taken from its mask.
std::vector<int> valid_slots(const Observation& obs) {
  std::vector<int> slots;
  for (std::size_t j = 0; j < obs.mask.size(); ++j) {
    if (obs.mask[j] != 0) slots.push_back(static_cast<int>(j));
  }
  return slots;
}

// An independent model of one episode under DESIGN.md's rules, used as the
// oracle the env is compared with: the window is always the first
// min(n_actions, unused) not yet recommended entries of the teacher list, in
// list order; the history is the last H of (past items, then hits).
class EpisodeModel {
 public:
  EpisodeModel(const EnvData& data, const EnvSettings& settings, int32_t user)
      : data_(&data),
        settings_(settings),
        user_(user),
        used_(static_cast<std::size_t>(list_length(data, user)), false),
        sequence_(data.past.begin(user), data.past.end(user)) {}

  int32_t user() const { return user_; }
  bool ended() const { return ended_; }

  Observation observation() const {
    const int32_t pad = data_->n_items;
    Observation obs;
    obs.user = user_;
    obs.t = t_;
    const std::size_t h = static_cast<std::size_t>(settings_.history_length);
    obs.history.assign(h, pad);
    const std::size_t kept = std::min(h, sequence_.size());
    std::copy(sequence_.end() - static_cast<std::ptrdiff_t>(kept), sequence_.end(),
              obs.history.end() - static_cast<std::ptrdiff_t>(kept));
    const std::size_t a = static_cast<std::size_t>(settings_.n_actions);
    obs.window.assign(a, pad);
    obs.mask.assign(a, 0);
    obs.teacher_score.assign(a, 0.0f);
    obs.teacher_rank.assign(a, -1);
    const std::vector<int> ranks = window_ranks();
    for (std::size_t j = 0; j < ranks.size(); ++j) {
      obs.window[j] = data_->lists(user_, ranks[j]);
      obs.mask[j] = 1;
      obs.teacher_score[j] = data_->scores(user_, ranks[j]);
      obs.teacher_rank[j] = ranks[j];
    }
    return obs;
  }

  // Plays a valid `action`; returns the reward and sets the rest.
  double play(int action, bool& terminated, bool& truncated, StepInfo& info) {
    const std::vector<int> ranks = window_ranks();
    REQUIRE(action >= 0);
    REQUIRE(action < static_cast<int>(ranks.size()));
    used_[static_cast<std::size_t>(ranks[static_cast<std::size_t>(action)])] = true;
    info.item = data_->lists(user_, ranks[static_cast<std::size_t>(action)]);
    const int32_t* begin = data_->rewarded.begin(user_);
    const int32_t* end = data_->rewarded.end(user_);
    const int32_t* found = std::find(begin, end, info.item);
    info.hit = found != end;
    double reward = 0;
    if (info.hit) {
      const double discount = 1.0 / std::log2(t_ + 1.0);
      const float rating =
          data_->rewarded_rating[static_cast<std::size_t>(found - data_->rewarded.begin(0))];
      switch (settings_.reward) {
        case RewardKind::kDcg:
          reward = discount;
          break;
        case RewardKind::kBinary:
          reward = 1;
          break;
        case RewardKind::kGraded:
          reward = rating * discount;
          break;
      }
      sequence_.push_back(info.item);
    }
    terminated = t_ == settings_.episode_length;
    ++t_;
    truncated = !terminated && window_ranks().empty();
    ended_ = terminated || truncated;
    return reward;
  }

 private:
  std::vector<int> window_ranks() const {
    std::vector<int> ranks;
    for (std::size_t r = 0; r < used_.size(); ++r) {
      if (static_cast<int>(ranks.size()) == settings_.n_actions) break;
      if (!used_[r]) ranks.push_back(static_cast<int>(r));
    }
    return ranks;
  }

  const EnvData* data_;
  EnvSettings settings_;
  int32_t user_;
  int t_ = 1;
  bool ended_ = false;
  std::vector<bool> used_;         // per list rank: already recommended
  std::vector<int32_t> sequence_;  // past items, then hits, oldest first
};

// Rule-by-rule checks of one observation that need no model: "" when it
// satisfies them, else what is wrong.
std::string invariant_violation(const Observation& obs, const EnvData& data,
                                const EnvSettings& settings) {
  const int32_t pad = data.n_items;
  const std::string where = "\nin " + describe(obs);
  if (obs.user < 0 || obs.user >= data.n_users) return "user out of range" + where;
  if (obs.t < 1 || obs.t > settings.episode_length + 1) return "t out of range" + where;
  const std::size_t a = static_cast<std::size_t>(settings.n_actions);
  if (obs.window.size() != a || obs.mask.size() != a || obs.teacher_rank.size() != a ||
      obs.teacher_score.size() != a) {
    return "window arrays are not n_actions long" + where;
  }
  if (obs.history.size() != static_cast<std::size_t>(settings.history_length)) {
    return "history is not H long" + where;
  }
  bool real_seen = false;
  for (int32_t item : obs.history) {
    if (item == pad) {
      if (real_seen) return "pad after a real history item" + where;
    } else {
      real_seen = true;
      if (item < 0 || item >= data.n_items) return "history item out of range" + where;
    }
  }
  bool invalid_seen = false;
  int previous_rank = -1;
  for (std::size_t j = 0; j < a; ++j) {
    if (obs.mask[j] != (obs.window[j] != pad ? 1 : 0)) return "mask != (window != pad)" + where;
    if (obs.mask[j] == 0) {
      invalid_seen = true;
      if (obs.teacher_rank[j] != -1 || obs.teacher_score[j] != 0.0f) {
        return "invalid slot with a rank or score" + where;
      }
      continue;
    }
    if (invalid_seen) return "valid slot after an invalid one" + where;
    const int rank = obs.teacher_rank[j];
    if (rank <= previous_rank || rank >= data.lists.cols()) return "ranks not increasing" + where;
    previous_rank = rank;
    if (data.lists(obs.user, rank) != obs.window[j]) return "window item != list[rank]" + where;
    if (data.scores(obs.user, rank) != obs.teacher_score[j]) return "score != scores[rank]" + where;
  }
  return "";
}

// "" when row `i` of `obs` is an idle row (a sequential sub-env with no user
// left): inactive, with every slot invalid in the canonical way (pad_item,
// mask 0, rank -1, score 0), as for any invalid slot.
std::string idle_violation(const ObservationBatch& obs, int i, int32_t pad) {
  const Observation row = obs.row(i);
  const std::size_t a = row.window.size();
  if (obs.active[static_cast<std::size_t>(i)] != 0 || row.window != std::vector<int32_t>(a, pad) ||
      row.mask != std::vector<int8_t>(a, 0) || row.teacher_rank != std::vector<int32_t>(a, -1) ||
      row.teacher_score != std::vector<float>(a, 0.0f)) {
    return "not an idle row: active " + std::to_string(obs.active[static_cast<std::size_t>(i)]) +
           " " + describe(row);
  }
  return "";
}

// ---------------------------------------------------------------------------
// Golden episodes.

std::optional<json> load_golden() { return testing::golden("env_episodes.json"); }

const json& golden_episode(const json& golden, int32_t user) {
  return golden.at("episodes").at(std::to_string(user));
}

EnvSettings golden_settings(const json& golden) {
  const json& settings = golden.at("settings");
  EnvSettings out;
  out.n_actions = settings.at("n_actions").get<int>();
  out.history_length = settings.at("history_length").get<int>();
  out.episode_length = settings.at("episode_length").get<int>();
  out.reward = parse_reward_kind(settings.at("reward").get<std::string>());
  return out;
}

// Golden teacher score of list rank r: any strictly decreasing values do.
float golden_score(int rank) { return 100.0f - 2.0f * static_cast<float>(rank); }

// One user per golden episode ("0" is user 0, ...).
EnvData golden_env_data(const json& golden) {
  const json& episodes = golden.at("episodes");
  EnvData data;
  data.n_users = static_cast<int32_t>(episodes.size());
  data.n_items = golden.at("settings").at("n_items").get<int32_t>();
  std::size_t longest = 0;
  for (const auto& episode : episodes)
    longest = std::max(longest, episode.at("teacher_list").size());
  data.lists = RowMatrixXi::Constant(data.n_users, static_cast<Eigen::Index>(longest), -1);
  data.scores = RowMatrixXf::Zero(data.n_users, static_cast<Eigen::Index>(longest));
  std::vector<std::vector<int32_t>> past, rewarded;
  for (int32_t user = 0; user < data.n_users; ++user) {
    const json& episode = golden_episode(golden, user);
    const auto list = episode.at("teacher_list").get<std::vector<int32_t>>();
    for (std::size_t r = 0; r < list.size(); ++r) {
      data.lists(user, static_cast<Eigen::Index>(r)) = list[r];
      data.scores(user, static_cast<Eigen::Index>(r)) = golden_score(static_cast<int>(r));
    }
    past.push_back(episode.at("past_items_in_time_order").get<std::vector<int32_t>>());
    auto held_out = episode.at("held_out").get<std::vector<int32_t>>();
    std::sort(held_out.begin(), held_out.end());
    rewarded.push_back(held_out);
    data.rewarded_rating.insert(data.rewarded_rating.end(), held_out.size(), 1.0f);
  }
  data.past = UserItems(past);
  data.rewarded = UserItems(rewarded);
  return data;
}

// The golden file's canonical observation (real items only) in the env's form.
Observation golden_observation(const json& canonical, int32_t user, const EnvData& data,
                               const EnvSettings& settings) {
  const int32_t pad = data.n_items;
  Observation obs;
  obs.user = user;
  obs.t = canonical.at("t").get<int>();
  const auto history = canonical.at("history").get<std::vector<int32_t>>();
  REQUIRE(history.size() <= static_cast<std::size_t>(settings.history_length));
  obs.history.assign(static_cast<std::size_t>(settings.history_length) - history.size(), pad);
  obs.history.insert(obs.history.end(), history.begin(), history.end());
  const auto window = canonical.at("window").get<std::vector<int32_t>>();
  const auto ranks = canonical.at("teacher_rank_of_window").get<std::vector<int32_t>>();
  const auto valid = canonical.at("valid_slots").get<std::size_t>();
  REQUIRE(window.size() == valid);
  REQUIRE(ranks.size() == valid);
  const std::size_t a = static_cast<std::size_t>(settings.n_actions);
  obs.window.assign(a, pad);
  obs.mask.assign(a, 0);
  obs.teacher_score.assign(a, 0.0f);
  obs.teacher_rank.assign(a, -1);
  for (std::size_t j = 0; j < valid; ++j) {
    obs.window[j] = window[j];
    obs.mask[j] = 1;
    obs.teacher_rank[j] = ranks[j];
    obs.teacher_score[j] = golden_score(ranks[j]);
  }
  return obs;
}

bool golden_hit(const json& episode, int32_t item) {
  const auto held_out = episode.at("held_out").get<std::vector<int32_t>>();
  return std::find(held_out.begin(), held_out.end(), item) != held_out.end();
}

TEST_CASE("RecEnv: reproduces every golden episode step by step", "[env][golden]") {
  const std::optional<json> golden = load_golden();
  if (!golden) return;
  const EnvData data = golden_env_data(*golden);
  const EnvSettings settings = golden_settings(*golden);
  REQUIRE(data.n_users == 3);
  RecEnv env(data, settings);

  for (int32_t user = 0; user < data.n_users; ++user) {
    INFO("episode " << user);
    const json& episode = golden_episode(*golden, user);
    const auto actions = episode.at("actions").get<std::vector<int>>();
    const json& steps = episode.at("steps");
    REQUIRE(actions.size() == steps.size());

    const ResetResult start = env.reset(0, user);
    CHECK(mismatch(start.observation, golden_observation(episode.at("first_observation"), user,
                                                         data, settings)) == "");
    CHECK(start.info.list_length == static_cast<int64_t>(episode.at("teacher_list").size()));
    CHECK(start.info.rewarded_items == static_cast<int64_t>(episode.at("held_out").size()));
    double total = 0;
    std::vector<int32_t> recommended;
    StepResult result;
    for (std::size_t s = 0; s < steps.size(); ++s) {
      INFO("step " << s);
      const json& step = steps[s];
      REQUIRE(step.at("action").get<int>() == actions[s]);
      result = env.step(actions[s]);
      CHECK(result.reward == Approx(step.at("reward").get<double>()).epsilon(0).margin(1e-12));
      CHECK(result.terminated == step.at("terminated").get<bool>());
      CHECK(result.truncated == step.at("truncated").get<bool>());
      CHECK(result.info.item == step.at("item").get<int32_t>());
      CHECK(result.info.hit == golden_hit(episode, result.info.item));
      CHECK(mismatch(result.observation,
                     golden_observation(step.at("next"), user, data, settings)) == "");
      total += result.reward;
      recommended.push_back(result.info.item);
    }
    CHECK(recommended == episode.at("recommended").get<std::vector<int32_t>>());
    CHECK(total == Approx(episode.at("return").get<double>()).epsilon(0).margin(1e-12));
    // The episode is over: stepping again is an error until reset.
    CHECK((result.terminated || result.truncated));
    CHECK_THROWS_AS(env.step(0), InputError);
  }
}

TEST_CASE("RecEnv: rejects the golden file's invalid action and keeps its state", "[env][golden]") {
  const std::optional<json> golden = load_golden();
  if (!golden) return;
  const EnvData data = golden_env_data(*golden);
  const EnvSettings settings = golden_settings(*golden);
  RecEnv env(data, settings);
  const json& episode = golden_episode(*golden, 1);
  const json& steps = episode.at("steps");

  // The file's "about": user 1 at t = 2, action 2 is an invalid slot.
  env.reset(0, 1);
  env.step(steps[0].at("action").get<int>());
  CHECK_THROWS_AS(env.step(2), InputError);
  CHECK_THROWS_AS(env.step(-1), InputError);
  CHECK_THROWS_AS(env.step(settings.n_actions), InputError);
  // The rejected actions changed nothing: the scripted episode goes on.
  for (std::size_t s = 1; s < steps.size(); ++s) {
    INFO("step " << s);
    const StepResult result = env.step(steps[s].at("action").get<int>());
    CHECK(result.info.item == steps[s].at("item").get<int32_t>());
    CHECK(result.truncated == steps[s].at("truncated").get<bool>());
    CHECK(mismatch(result.observation,
                   golden_observation(steps[s].at("next"), 1, data, settings)) == "");
  }
  CHECK_THROWS_AS(env.step(0), InputError);
  // reset() starts afresh.
  CHECK(mismatch(env.reset(0, 1).observation,
                 golden_observation(episode.at("first_observation"), 1, data, settings)) == "");
}

// Plays the golden episodes through a sequential VecRecEnv of `batch` rows
// over `users`, one RecEnv per row alongside, and checks every row against the
// file and the RecEnv: sub-env i plays users[i], users[i + B], ...
void play_golden_batch(const json& golden, int batch, const std::vector<int32_t>& users) {
  const EnvData data = golden_env_data(golden);
  const EnvSettings settings = golden_settings(golden);
  VecSettings vec_settings;
  vec_settings.batch = batch;
  vec_settings.users = users;
  vec_settings.order = UserOrder::kSequential;
  VecRecEnv env(data, settings, vec_settings);
  REQUIRE(env.batch() == batch);

  struct Row {
    std::vector<int32_t> queue;  // users this row plays, in order
    std::size_t next = 0;        // index into queue of the next user to start
    int32_t user = -1;           // -1: no user left
    std::size_t step = 0;        // steps played in the current episode
    std::optional<RecEnv> single;
  };
  std::vector<Row> rows(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < users.size(); ++i) {
    rows[i % static_cast<std::size_t>(batch)].queue.push_back(users[i]);
  }

  for (int round = 0; round < 2; ++round) {  // round 1: reset() restarts from the first user
    INFO("round " << round);
    const ObservationBatch& first = env.reset(static_cast<uint64_t>(round) * 17);
    REQUIRE(first.batch == batch);
    REQUIRE(first.active.size() == static_cast<std::size_t>(batch));
    // Starts the next user of row i and checks its first observation.
    auto start_next = [&](std::size_t i) {
      Row& row = rows[i];
      const ObservationBatch& obs = env.observations();
      if (row.next == row.queue.size()) {
        row.user = -1;
        CHECK(idle_violation(obs, static_cast<int>(i), data.n_items) == "");
        return;
      }
      row.user = row.queue[row.next++];
      row.step = 0;
      row.single.emplace(data, settings);
      const Observation single_first = row.single->reset(0, row.user).observation;
      const Observation want = golden_observation(
          golden_episode(golden, row.user).at("first_observation"), row.user, data, settings);
      CHECK(obs.active[i] == 1);
      CHECK(mismatch(obs.row(static_cast<int>(i)), want) == "");
      CHECK(mismatch(single_first, want) == "");
    };
    for (std::size_t i = 0; i < rows.size(); ++i) {
      INFO("row " << i);
      rows[i].next = 0;
      start_next(i);
    }
    CHECK(env.all_done() == users.empty());

    for (int lockstep = 0;; ++lockstep) {
      INFO("lockstep " << lockstep);
      bool any_active = false;
      for (const Row& row : rows) any_active = any_active || row.user >= 0;
      if (!any_active) break;
      REQUIRE(lockstep < 50);
      CHECK_FALSE(env.all_done());

      std::vector<int32_t> actions(rows.size());
      for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& row = rows[i];
        // An inactive row's action is ignored, even an out-of-range one.
        actions[i] =
            row.user < 0
                ? -7
                : golden_episode(golden, row.user).at("actions").at(row.step).get<int32_t>();
      }
      const StepBatch& out = env.step(actions.data());
      REQUIRE(out.reward.size() == rows.size());
      for (std::size_t i = 0; i < rows.size(); ++i) {
        INFO("row " << i);
        Row& row = rows[i];
        if (row.user < 0) {
          CHECK(idle_violation(env.observations(), static_cast<int>(i), data.n_items) == "");
          CHECK(out.item[i] == -1);
          CHECK(out.reward[i] == 0.0f);
          CHECK(out.terminated[i] == 0);
          CHECK(out.truncated[i] == 0);
          CHECK(out.hit[i] == 0);
          continue;
        }
        INFO("user " << row.user << " step " << row.step);
        const json& episode = golden_episode(golden, row.user);
        const json& step = episode.at("steps").at(row.step);
        const StepResult single = row.single->step(actions[i]);
        ++row.step;
        CHECK(out.reward[i] == Approx(step.at("reward").get<double>()).epsilon(0).margin(1e-6));
        CHECK(out.reward[i] == static_cast<float>(single.reward));
        CHECK(static_cast<bool>(out.terminated[i]) == step.at("terminated").get<bool>());
        CHECK(static_cast<bool>(out.truncated[i]) == step.at("truncated").get<bool>());
        CHECK(static_cast<bool>(out.terminated[i]) == single.terminated);
        CHECK(static_cast<bool>(out.truncated[i]) == single.truncated);
        CHECK(out.item[i] == step.at("item").get<int32_t>());
        CHECK(out.item[i] == single.info.item);
        CHECK(static_cast<bool>(out.hit[i]) == single.info.hit);
        const Observation want = golden_observation(step.at("next"), row.user, data, settings);
        CHECK(mismatch(single.observation, want) == "");
        if (step.at("terminated").get<bool>() || step.at("truncated").get<bool>()) {
          CHECK(mismatch(env.final_observations().row(static_cast<int>(i)), want) == "");
          start_next(i);
        } else {
          CHECK(env.observations().active[i] == 1);
          CHECK(mismatch(env.observations().row(static_cast<int>(i)), want) == "");
        }
      }
    }
    CHECK(env.all_done());
    // Every row is inactive now: a further step is ignored, whatever the actions.
    const std::vector<int32_t> junk(rows.size(), 99);
    const StepBatch& idle = env.step(junk.data());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CHECK(idle.item[i] == -1);
      CHECK(idle.reward[i] == 0.0f);
      CHECK(idle.terminated[i] == 0);
      CHECK(idle.truncated[i] == 0);
      CHECK(env.observations().active[i] == 0);
    }
    CHECK(env.all_done());
  }
}

TEST_CASE("VecRecEnv: sequential order reproduces the golden episodes in lockstep",
          "[env][golden][vec]") {
  const std::optional<json> golden = load_golden();
  if (!golden) return;
  SECTION("batch 3 over users 0, 1, 2: rows end at different steps") {
    play_golden_batch(*golden, 3, {0, 1, 2});
  }
  SECTION("batch 2 over users 0, 1, 2: row 0 autoresets to user 2") {
    play_golden_batch(*golden, 2, {0, 1, 2});
  }
  SECTION("batch 4 over users 2, 0: rows without a user are inactive from the start") {
    play_golden_batch(*golden, 4, {2, 0});
  }
  SECTION("batch 1 over users 1, 0, 2: one row plays all three in turn") {
    play_golden_batch(*golden, 1, {1, 0, 2});
  }
}

// ---------------------------------------------------------------------------
// A hand-made fixture, every value written out. n_items = 10 (pad_item 10),
// n_actions = 3, H = 2, K = 5.
//
//   user  teacher list (scores)                    past (time order)  rewarded (rating)
//   0     7 2 9 4 0 5 (5 4.5 4 3.5 3 2.5)          8 1 3              2 (3), 4 (5), 5 (2)
//   1     6 3 (2 1)                                 -                  3 (4)
//   2     1 0 2 3 5 6 7 8 9 (9 8 7 6 5 4 3 2 1)     4                  0 (1), 3 (1)
//
// User 0, actions 1 2 0 2 1: refills at the back, hits that push the oldest
// history item out, a miss, then termination at t = K with a short window.
// User 1: the list runs out at t = 2 (truncation). User 2: the teacher policy
// (always slot 0) from a half-empty history.

constexpr int32_t kPad = 10;

EnvData fixture_data() {
  EnvData data;
  data.n_users = 3;
  data.n_items = 10;
  data.lists = RowMatrixXi::Constant(3, 9, -1);
  data.scores = RowMatrixXf::Zero(3, 9);
  const std::vector<std::vector<int32_t>> lists = {
      {7, 2, 9, 4, 0, 5}, {6, 3}, {1, 0, 2, 3, 5, 6, 7, 8, 9}};
  const std::vector<std::vector<float>> scores = {
      {5, 4.5, 4, 3.5, 3, 2.5}, {2, 1}, {9, 8, 7, 6, 5, 4, 3, 2, 1}};
  for (int u = 0; u < 3; ++u) {
    for (std::size_t r = 0; r < lists[u].size(); ++r) {
      data.lists(u, static_cast<Eigen::Index>(r)) = lists[u][r];
      data.scores(u, static_cast<Eigen::Index>(r)) = scores[u][r];
    }
  }
  data.past = UserItems(std::vector<std::vector<int32_t>>{{8, 1, 3}, {}, {4}});
  data.rewarded = UserItems(std::vector<std::vector<int32_t>>{{2, 4, 5}, {3}, {0, 3}});
  data.rewarded_rating = {3, 5, 2, 4, 1, 1};
  return data;
}

EnvSettings fixture_settings(RewardKind reward = RewardKind::kDcg) {
  EnvSettings settings;
  settings.n_actions = 3;
  settings.history_length = 2;
  settings.episode_length = 5;
  settings.reward = reward;
  return settings;
}

Observation literal(int32_t user, int t, std::vector<int32_t> history, std::vector<int32_t> window,
                    std::vector<int8_t> mask, std::vector<int32_t> rank, std::vector<float> score) {
  Observation obs;
  obs.user = user;
  obs.t = t;
  obs.history = std::move(history);
  obs.window = std::move(window);
  obs.mask = std::move(mask);
  obs.teacher_rank = std::move(rank);
  obs.teacher_score = std::move(score);
  return obs;
}

constexpr double kInvLog2Of3 = 0.6309297535714575;   // 1 / log2(3)
constexpr double kInvLog2Of5 = 0.43067655807339306;  // 1 / log2(5)

struct LiteralStep {
  int action;
  int32_t item;
  bool hit;
  double reward;
  bool terminated;
  bool truncated;
  Observation next;
};

// Plays `steps` from `user`'s `first` observation and checks each literal.
void play_literal(RecEnv& env, int32_t user, const Observation& first,
                  const std::vector<LiteralStep>& steps) {
  CHECK(mismatch(env.reset(0, user).observation, first) == "");
  for (std::size_t s = 0; s < steps.size(); ++s) {
    INFO("user " << user << " step " << s);
    const StepResult result = env.step(steps[s].action);
    CHECK(result.info.item == steps[s].item);
    CHECK(result.info.hit == steps[s].hit);
    CHECK(result.reward == Approx(steps[s].reward).epsilon(0).margin(1e-12));
    CHECK(result.terminated == steps[s].terminated);
    CHECK(result.truncated == steps[s].truncated);
    CHECK(mismatch(result.observation, steps[s].next) == "");
  }
}

const Observation kUser0First = literal(0, 1, {1, 3}, {7, 2, 9}, {1, 1, 1}, {0, 1, 2}, {5, 4.5, 4});

// User 0's scripted episode with the rewards of each kind left to the caller.
std::vector<LiteralStep> user0_steps(const std::vector<double>& rewards) {
  return {
      {1, 2, true, rewards[0], false, false,
       literal(0, 2, {3, 2}, {7, 9, 4}, {1, 1, 1}, {0, 2, 3}, {5, 4, 3.5})},
      {2, 4, true, rewards[1], false, false,
       literal(0, 3, {2, 4}, {7, 9, 0}, {1, 1, 1}, {0, 2, 4}, {5, 4, 3})},
      {0, 7, false, rewards[2], false, false,
       literal(0, 4, {2, 4}, {9, 0, 5}, {1, 1, 1}, {2, 4, 5}, {4, 3, 2.5})},
      {2, 5, true, rewards[3], false, false,
       literal(0, 5, {4, 5}, {9, 0, kPad}, {1, 1, 0}, {2, 4, -1}, {4, 3, 0})},
      {1, 0, false, rewards[4], true, false,
       literal(0, 6, {4, 5}, {9, kPad, kPad}, {1, 0, 0}, {2, -1, -1}, {4, 0, 0})},
  };
}

TEST_CASE("RecEnv: hand-made fixture, every observation, reward and flag", "[env]") {
  const EnvData data = fixture_data();

  SECTION("user 0, dcg: refills, hits, a miss and termination at t = K") {
    RecEnv env(data, fixture_settings(RewardKind::kDcg));
    play_literal(env, 0, kUser0First, user0_steps({1.0, kInvLog2Of3, 0, kInvLog2Of5, 0}));
    CHECK_THROWS_AS(env.step(0), InputError);
  }
  SECTION("user 0, binary: 1 per hit") {
    RecEnv env(data, fixture_settings(RewardKind::kBinary));
    play_literal(env, 0, kUser0First, user0_steps({1, 1, 0, 1, 0}));
  }
  SECTION("user 0, graded: rating / log2(t + 1)") {
    RecEnv env(data, fixture_settings(RewardKind::kGraded));
    play_literal(env, 0, kUser0First, user0_steps({3.0, 5 * kInvLog2Of3, 0, 2 * kInvLog2Of5, 0}));
  }
  SECTION("user 0, feedback none: the same picks and rewards, the history never moves") {
    EnvSettings settings = fixture_settings(RewardKind::kDcg);
    settings.feedback = Feedback::kNone;
    RecEnv env(data, settings);
    std::vector<LiteralStep> steps = user0_steps({1.0, kInvLog2Of3, 0, kInvLog2Of5, 0});
    for (LiteralStep& step : steps) step.next.history = {1, 3};  // the last H = 2 past items
    play_literal(env, 0, kUser0First, steps);
  }
  SECTION("user 2, feedback none: the teacher policy's hits leave the half-empty history") {
    EnvSettings settings = fixture_settings();
    settings.feedback = Feedback::kNone;
    RecEnv env(data, settings);
    play_literal(env, 2, literal(2, 1, {kPad, 4}, {1, 0, 2}, {1, 1, 1}, {0, 1, 2}, {9, 8, 7}),
                 {
                     {0, 1, false, 0, false, false,
                      literal(2, 2, {kPad, 4}, {0, 2, 3}, {1, 1, 1}, {1, 2, 3}, {8, 7, 6})},
                     {0, 0, true, kInvLog2Of3, false, false,
                      literal(2, 3, {kPad, 4}, {2, 3, 5}, {1, 1, 1}, {2, 3, 4}, {7, 6, 5})},
                     {0, 2, false, 0, false, false,
                      literal(2, 4, {kPad, 4}, {3, 5, 6}, {1, 1, 1}, {3, 4, 5}, {6, 5, 4})},
                     {0, 3, true, kInvLog2Of5, false, false,
                      literal(2, 5, {kPad, 4}, {5, 6, 7}, {1, 1, 1}, {4, 5, 6}, {5, 4, 3})},
                     {0, 5, false, 0, true, false,
                      literal(2, 6, {kPad, 4}, {6, 7, 8}, {1, 1, 1}, {5, 6, 7}, {4, 3, 2})},
                 });
  }
  SECTION("user 0: a masked slot is rejected near the end, and the state is kept") {
    RecEnv env(data, fixture_settings());
    env.reset(0, 0);
    for (int action : {1, 2, 0, 2}) env.step(action);
    CHECK_THROWS_AS(env.step(2), InputError);  // window 9 0 pad
    const StepResult last = env.step(1);
    CHECK(last.info.item == 0);
    CHECK(last.terminated);
    CHECK_FALSE(last.truncated);
  }
  SECTION("user 1: out-of-range and masked slots are errors; the list runs out") {
    RecEnv env(data, fixture_settings());
    const Observation first =
        literal(1, 1, {kPad, kPad}, {6, 3, kPad}, {1, 1, 0}, {0, 1, -1}, {2, 1, 0});
    CHECK(mismatch(env.reset(0, 1).observation, first) == "");
    CHECK_THROWS_AS(env.step(-1), InputError);
    CHECK_THROWS_AS(env.step(3), InputError);  // n_actions
    CHECK_THROWS_AS(env.step(2), InputError);  // masked
    play_literal(env, 1, first,
                 {{1, 3, true, 1.0, false, false,
                   literal(1, 2, {kPad, 3}, {6, kPad, kPad}, {1, 0, 0}, {0, -1, -1}, {2, 0, 0})}});
    CHECK_THROWS_AS(env.step(1), InputError);  // masked now
    const StepResult result = env.step(0);
    CHECK(result.info.item == 6);
    CHECK_FALSE(result.info.hit);
    CHECK(result.reward == 0.0);
    CHECK(result.truncated);
    CHECK_FALSE(result.terminated);
    CHECK(mismatch(result.observation, literal(1, 3, {kPad, 3}, {kPad, kPad, kPad}, {0, 0, 0},
                                               {-1, -1, -1}, {0, 0, 0})) == "");
    CHECK_THROWS_AS(env.step(0), InputError);
  }
  SECTION("user 2: the teacher policy replays the list from a half-empty history") {
    RecEnv env(data, fixture_settings());
    play_literal(env, 2, literal(2, 1, {kPad, 4}, {1, 0, 2}, {1, 1, 1}, {0, 1, 2}, {9, 8, 7}),
                 {
                     {0, 1, false, 0, false, false,
                      literal(2, 2, {kPad, 4}, {0, 2, 3}, {1, 1, 1}, {1, 2, 3}, {8, 7, 6})},
                     {0, 0, true, kInvLog2Of3, false, false,
                      literal(2, 3, {4, 0}, {2, 3, 5}, {1, 1, 1}, {2, 3, 4}, {7, 6, 5})},
                     {0, 2, false, 0, false, false,
                      literal(2, 4, {4, 0}, {3, 5, 6}, {1, 1, 1}, {3, 4, 5}, {6, 5, 4})},
                     {0, 3, true, kInvLog2Of5, false, false,
                      literal(2, 5, {0, 3}, {5, 6, 7}, {1, 1, 1}, {4, 5, 6}, {5, 4, 3})},
                     {0, 5, false, 0, true, false,
                      literal(2, 6, {0, 3}, {6, 7, 8}, {1, 1, 1}, {5, 6, 7}, {4, 3, 2})},
                 });
  }
  SECTION("reset ignores the seed and repeats the first observation") {
    RecEnv env(data, fixture_settings());
    CHECK(mismatch(env.reset(1, 0).observation, kUser0First) == "");
    env.step(0);
    CHECK(mismatch(env.reset(12345, 0).observation, kUser0First) == "");
  }
  SECTION("a step before any reset is an error") {
    RecEnv env(data, fixture_settings());
    CHECK_THROWS_AS(env.step(0), InputError);
  }
}

TEST_CASE("RecEnv and VecRecEnv: bad settings, users and reward names are InputErrors", "[env]") {
  const EnvData data = fixture_data();
  CHECK(parse_reward_kind("dcg") == RewardKind::kDcg);
  CHECK(parse_reward_kind("binary") == RewardKind::kBinary);
  CHECK(parse_reward_kind("graded") == RewardKind::kGraded);
  CHECK_THROWS_AS(parse_reward_kind("ndcg"), InputError);
  CHECK_THROWS_AS(parse_reward_kind(""), InputError);
  CHECK(parse_feedback("hits", "--feedback") == Feedback::kHits);
  CHECK(parse_feedback("none", "--feedback") == Feedback::kNone);
  CHECK_THROWS_WITH(parse_feedback("labels", "--feedback"),
                    "--feedback 'labels': expected hits or none");

  EnvSettings settings = fixture_settings();
  settings.n_actions = 0;
  CHECK_THROWS_AS(RecEnv(data, settings), InputError);
  settings = fixture_settings();
  settings.episode_length = 0;
  CHECK_THROWS_AS(RecEnv(data, settings), InputError);
  settings = fixture_settings();
  settings.history_length = -1;
  CHECK_THROWS_AS(RecEnv(data, settings), InputError);

  RecEnv env(data, fixture_settings());
  CHECK_THROWS_AS(env.reset(0, -1).observation, InputError);
  CHECK_THROWS_AS(env.reset(0, 3).observation, InputError);

  VecSettings vec;
  vec.batch = 0;
  CHECK_THROWS_AS(VecRecEnv(data, fixture_settings(), vec), InputError);
  vec.batch = 2;
  vec.users = {0, 3};
  CHECK_THROWS_AS(VecRecEnv(data, fixture_settings(), vec), InputError);
  vec.users = {-1};
  CHECK_THROWS_AS(VecRecEnv(data, fixture_settings(), vec), InputError);
  settings = fixture_settings();
  settings.n_actions = 0;
  vec.users = {0, 1};
  CHECK_THROWS_AS(VecRecEnv(data, settings, vec), InputError);

  // An invalid action of an active row is an error too.
  vec.order = UserOrder::kSequential;
  VecRecEnv batch(data, fixture_settings(), vec);
  const ObservationBatch& obs = batch.reset(0);
  const Observation row0 = obs.row(0);
  const Observation row1 = obs.row(1);
  // A rejected step changes no row, not even those before the bad action.
  const std::vector<int32_t> masked = {0, 2};  // user 1's slot 2 is empty
  CHECK_THROWS_AS(batch.step(masked.data()), InputError);
  CHECK(mismatch(batch.observations().row(0), row0) == "");
  CHECK(mismatch(batch.observations().row(1), row1) == "");
  const std::vector<int32_t> out_of_range = {3, 0};
  CHECK_THROWS_AS(batch.step(out_of_range.data()), InputError);
  const std::vector<int32_t> negative = {0, -1};
  CHECK_THROWS_AS(batch.step(negative.data()), InputError);
  CHECK(mismatch(batch.observations().row(0), row0) == "");
  CHECK(mismatch(batch.observations().row(1), row1) == "");
  // The batch goes on from where it was: user 0 picks 7, user 1 picks 3.
  const std::vector<int32_t> valid = {0, 1};
  const StepBatch& out = batch.step(valid.data());
  CHECK(out.item == std::vector<int32_t>{7, 3});
  CHECK(batch.observations().t == std::vector<int32_t>{2, 2});
}

// ---------------------------------------------------------------------------
// Synthetic data: MostPop lists (unseen items only) on a small synthetic log.

struct SyntheticEnv {
  Dataset dataset;
  Knowledge knowledge;
  EnvData data;
};

const SyntheticEnv& synthetic_env() {
  static const SyntheticEnv env = [] {
    SyntheticSettings synthetic;
    synthetic.n_interactions = 2500;
    synthetic.n_users = 50;
    synthetic.n_items = 120;
    synthetic.seed = 23;
    DatasetProvenance provenance;
    provenance.name = "synthetic";
    SyntheticEnv out;
    out.dataset = make_dataset(generate_synthetic(synthetic), provenance);
    const TrainingSet training = training_set(out.dataset, kRl);
    MostPop teacher;
    teacher.fit(training, nullptr, nullptr);
    out.knowledge = distill(teacher, "mostpop", out.dataset, kRl, training, 40, nullptr);
    out.data = make_env_data(out.dataset, out.knowledge, kRl);
    return out;
  }();
  return env;
}

// The synthetic env data with lists cut to many lengths (1 to 40, so that
// K = 10 and K = 30 outrun some of them) and random embeddings of size 4.
const EnvData& varied_env_data() {
  static const EnvData data = [] {
    EnvData out = synthetic_env().data;
    std::mt19937_64 rng(5);
    std::uniform_int_distribution<int> length(1, static_cast<int>(out.lists.cols()));
    for (int32_t u = 0; u < out.n_users; ++u) {
      int keep = length(rng);
      if (u == 0) keep = 1;
      if (u == 1) keep = 10;  // exactly K = 10: terminates with an empty window
      if (u == 2) keep = 30;  // exactly K = 30
      if (u == 3) keep = 2;
      for (Eigen::Index r = keep; r < out.lists.cols(); ++r) {
        out.lists(u, r) = -1;
        out.scores(u, r) = 0;
      }
    }
    std::normal_distribution<float> normal;
    out.user_embeddings.resize(out.n_users, 4);
    out.item_embeddings.resize(out.n_items, 4);
    for (Eigen::Index i = 0; i < out.user_embeddings.size(); ++i) {
      out.user_embeddings.data()[i] = normal(rng);
    }
    for (Eigen::Index i = 0; i < out.item_embeddings.size(); ++i) {
      out.item_embeddings.data()[i] = normal(rng);
    }
    return out;
  }();
  return data;
}

TEST_CASE("make_env_data: lists, past, rewarded items and ratings from the dataset", "[env]") {
  const SyntheticEnv& env = synthetic_env();
  const EnvData& data = env.data;
  REQUIRE(data.n_users == env.dataset.n_users());
  REQUIRE(data.n_items == env.dataset.n_items());
  CHECK(data.lists == env.knowledge.ranking_items);
  CHECK(data.scores == env.knowledge.ranking_scores);
  CHECK(data.user_embeddings.size() == 0);  // MostPop has none
  CHECK(data.item_embeddings.size() == 0);
  REQUIRE(data.past.n_users() == data.n_users);
  REQUIRE(data.rewarded.n_users() == data.n_users);
  REQUIRE(data.rewarded_rating.size() == static_cast<std::size_t>(data.rewarded.total()));

  const TrainingSet training = training_set(env.dataset, kRl);
  const InteractionTable& rl = env.dataset.splits[kRl];
  for (int32_t u = 0; u < data.n_users; ++u) {
    INFO("user " << u);
    CHECK(items_of(data.past, u) == items_of(training.seen, u));
    std::vector<int32_t> want;
    for (std::size_t row = 0; row < rl.size(); ++row) {
      if (rl.user[row] == u) want.push_back(rl.item[row]);
    }
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    CHECK(items_of(data.rewarded, u) == want);
    for (const int32_t* it = data.rewarded.begin(u); it != data.rewarded.end(u); ++it) {
      float rating = -1;
      for (std::size_t row = 0; row < rl.size(); ++row) {
        if (rl.user[row] == u && rl.item[row] == *it) rating = rl.rating[row];
      }
      CHECK(data.rewarded_rating[static_cast<std::size_t>(it - data.rewarded.begin(0))] == rating);
    }
  }

  Knowledge foreign = env.knowledge;
  foreign.dataset_fingerprint = "00000000";
  CHECK_THROWS_AS(make_env_data(env.dataset, foreign, kRl), InputError);
  Knowledge short_knowledge = env.knowledge;
  short_knowledge.n_users -= 1;
  short_knowledge.ranking_items.conservativeResize(short_knowledge.n_users, Eigen::NoChange);
  short_knowledge.ranking_scores.conservativeResize(short_knowledge.n_users, Eigen::NoChange);
  CHECK_THROWS_AS(make_env_data(env.dataset, short_knowledge, kRl), InputError);
}

// Checks one step of one row against its model and the rules; `recommended`
// collects the row's items of the episode.
void check_step(EpisodeModel& model, const EnvData& data, const EnvSettings& settings, int action,
                double reward, bool terminated, bool truncated, const StepInfo& info,
                std::set<int32_t>& recommended) {
  bool want_terminated = false, want_truncated = false;
  StepInfo want_info;
  const double want_reward = model.play(action, want_terminated, want_truncated, want_info);
  REQUIRE(info.item == want_info.item);
  REQUIRE(info.hit == want_info.hit);
  REQUIRE(reward == Approx(want_reward).epsilon(0).margin(1e-6));
  if (settings.reward != RewardKind::kGraded) {
    REQUIRE(reward >= 0.0);
    REQUIRE(reward <= 1.0);
  }
  REQUIRE(terminated == want_terminated);
  REQUIRE(truncated == want_truncated);
  REQUIRE_FALSE((terminated && truncated));
  // No repeats, only the teacher's items, never a past item.
  REQUIRE(recommended.insert(info.item).second);
  const int length = list_length(data, model.user());
  bool listed = false;
  for (int r = 0; r < length; ++r) listed = listed || data.lists(model.user(), r) == info.item;
  REQUIRE(listed);
  REQUIRE_FALSE(contains(data.past, model.user(), info.item));
}

std::string config_name(const EnvSettings& s) {
  std::ostringstream out;
  out << "n_actions " << s.n_actions << " H " << s.history_length << " K " << s.episode_length
      << " reward " << static_cast<int>(s.reward);
  return out.str();
}

std::vector<EnvSettings> conformance_configs() {
  std::vector<EnvSettings> configs;
  for (int n_actions : {1, 3, 20}) {
    for (int h : {1, 5}) {
      for (int k : {1, 10, 30}) {
        for (RewardKind reward : {RewardKind::kDcg, RewardKind::kBinary, RewardKind::kGraded}) {
          EnvSettings settings;
          settings.n_actions = n_actions;
          settings.history_length = h;
          settings.episode_length = k;
          settings.reward = reward;
          configs.push_back(settings);
        }
      }
    }
  }
  return configs;
}

TEST_CASE("RecEnv: random rollouts follow the rules in every configuration", "[env]") {
  const EnvData& data = varied_env_data();
  std::mt19937_64 policy(11);
  for (const EnvSettings& settings : conformance_configs()) {
    INFO(config_name(settings));
    RecEnv env(data, settings);
    for (int32_t user = 0; user < data.n_users; ++user) {
      INFO("user " << user);
      EpisodeModel model(data, settings, user);
      Observation obs = env.reset(user, user).observation;
      REQUIRE(invariant_violation(obs, data, settings) == "");
      REQUIRE(mismatch(obs, model.observation()) == "");
      std::set<int32_t> recommended;
      int steps = 0;
      while (!model.ended()) {
        const std::vector<int> slots = valid_slots(obs);
        REQUIRE_FALSE(slots.empty());
        const int action =
            slots[std::uniform_int_distribution<std::size_t>(0, slots.size() - 1)(policy)];
        const StepResult result = env.step(action);
        check_step(model, data, settings, action, result.reward, result.terminated,
                   result.truncated, result.info, recommended);
        obs = result.observation;
        REQUIRE(invariant_violation(obs, data, settings) == "");
        REQUIRE(mismatch(obs, model.observation()) == "");
        ++steps;
      }
      CHECK(steps == std::min(settings.episode_length, list_length(data, user)));
      CHECK_THROWS_AS(env.step(0), InputError);
    }
  }
}

TEST_CASE("VecRecEnv: random rollouts follow the rules and autoreset in every configuration",
          "[env][vec]") {
  const EnvData& data = varied_env_data();
  std::set<int32_t> with_rewarded;
  for (int32_t u = 0; u < data.n_users; ++u) {
    if (data.rewarded.size(u) > 0) with_rewarded.insert(u);
  }
  std::mt19937_64 policy(13);
  for (const EnvSettings& settings : conformance_configs()) {
    INFO(config_name(settings));
    VecSettings vec;
    vec.batch = 8;
    vec.order = UserOrder::kRandom;
    VecRecEnv env(data, settings, vec);
    const ObservationBatch& first = env.reset(3);
    REQUIRE(first.batch == 8);
    REQUIRE(first.history_length == settings.history_length);
    REQUIRE(first.n_actions == settings.n_actions);
    std::vector<EpisodeModel> models;
    std::vector<std::set<int32_t>> recommended(8);
    for (int i = 0; i < 8; ++i) {
      const Observation obs = first.row(i);
      REQUIRE(with_rewarded.count(obs.user) == 1);
      REQUIRE(first.active[static_cast<std::size_t>(i)] == 1);
      models.emplace_back(data, settings, obs.user);
      REQUIRE(mismatch(obs, models.back().observation()) == "");
    }
    int episodes_ended = 0;
    std::vector<int32_t> actions(8);
    for (int step = 0; step < 150; ++step) {
      INFO("step " << step);
      for (int i = 0; i < 8; ++i) {
        const std::vector<int> slots = valid_slots(env.observations().row(i));
        REQUIRE_FALSE(slots.empty());
        actions[static_cast<std::size_t>(i)] =
            slots[std::uniform_int_distribution<std::size_t>(0, slots.size() - 1)(policy)];
      }
      const StepBatch& out = env.step(actions.data());
      for (int i = 0; i < 8; ++i) {
        INFO("row " << i);
        const std::size_t row = static_cast<std::size_t>(i);
        StepInfo info;
        info.item = out.item[row];
        info.hit = out.hit[row] != 0;
        check_step(models[row], data, settings, actions[row], out.reward[row],
                   out.terminated[row] != 0, out.truncated[row] != 0, info, recommended[row]);
        const Observation now = env.observations().row(i);
        REQUIRE(invariant_violation(now, data, settings) == "");
        REQUIRE(env.observations().active[row] == 1);
        if (models[row].ended()) {
          ++episodes_ended;
          const Observation final_obs = env.final_observations().row(i);
          REQUIRE(invariant_violation(final_obs, data, settings) == "");
          REQUIRE(mismatch(final_obs, models[row].observation()) == "");
          // The same call started the next episode.
          REQUIRE(with_rewarded.count(now.user) == 1);
          models[row] = EpisodeModel(data, settings, now.user);
          recommended[row].clear();
        }
        REQUIRE(mismatch(now, models[row].observation()) == "");
      }
    }
    CHECK(episodes_ended > 0);
  }
}

TEST_CASE("VecRecEnv: empty users means every user with a rewarded item", "[env][vec]") {
  // The synthetic data with users 0..9 stripped of their rewarded items.
  EnvData data = varied_env_data();
  std::vector<std::vector<int32_t>> rewarded;
  std::vector<float> ratings;
  for (int32_t u = 0; u < data.n_users; ++u) {
    const auto first = static_cast<std::size_t>(data.rewarded.begin(u) - data.rewarded.begin(0));
    if (u < 10) {
      rewarded.emplace_back();
      continue;
    }
    rewarded.push_back(items_of(data.rewarded, u));
    ratings.insert(
        ratings.end(), data.rewarded_rating.begin() + static_cast<std::ptrdiff_t>(first),
        data.rewarded_rating.begin() + static_cast<std::ptrdiff_t>(first + rewarded.back().size()));
  }
  data.rewarded = UserItems(rewarded);
  data.rewarded_rating = ratings;
  EnvSettings settings;
  settings.n_actions = 4;
  settings.history_length = 3;
  settings.episode_length = 6;

  SECTION("sequential: each such user exactly once") {
    VecSettings vec;
    vec.batch = 7;
    vec.order = UserOrder::kSequential;
    VecRecEnv env(data, settings, vec);
    std::multiset<int32_t> started;
    const ObservationBatch& first = env.reset(0);
    for (int i = 0; i < 7; ++i) {
      if (first.active[static_cast<std::size_t>(i)])
        started.insert(first.user[static_cast<std::size_t>(i)]);
    }
    const std::vector<int32_t> teacher(7, 0);
    for (int step = 0; step < 1000 && !env.all_done(); ++step) {
      const StepBatch& out = env.step(teacher.data());
      for (std::size_t i = 0; i < 7; ++i) {
        if ((out.terminated[i] || out.truncated[i]) && env.observations().active[i]) {
          started.insert(env.observations().user[i]);
        }
      }
    }
    REQUIRE(env.all_done());
    std::multiset<int32_t> want;
    for (int32_t u = 10; u < data.n_users; ++u) want.insert(u);
    CHECK(started == want);
  }
  SECTION("random: draws only such users") {
    VecSettings vec;
    vec.batch = 8;
    vec.order = UserOrder::kRandom;
    VecRecEnv env(data, settings, vec);
    env.reset(9);
    const std::vector<int32_t> teacher(8, 0);
    std::set<int32_t> drawn;
    for (int step = 0; step < 200; ++step) {
      env.step(teacher.data());
      for (int32_t user : env.observations().user) drawn.insert(user);
    }
    CHECK(*drawn.begin() >= 10);
    CHECK(drawn.size() > 20);
    CHECK_FALSE(env.all_done());
  }
}

// ---------------------------------------------------------------------------
// Determinism.

struct Trajectory {
  std::vector<std::vector<int32_t>> users;
  std::vector<std::vector<int32_t>> windows;
  std::vector<std::vector<float>> rewards;
};

// 200 lockstep steps of a uniformly random policy over the valid slots.
Trajectory random_trajectory(const EnvData& data, uint64_t env_seed, uint64_t policy_seed) {
  EnvSettings settings;
  settings.n_actions = 5;
  settings.history_length = 3;
  settings.episode_length = 10;
  VecSettings vec;
  vec.batch = 8;
  vec.order = UserOrder::kRandom;
  VecRecEnv env(data, settings, vec);
  std::mt19937_64 policy(policy_seed);
  Trajectory trajectory;
  const ObservationBatch* obs = &env.reset(env_seed);
  std::vector<int32_t> actions(8);
  for (int step = 0; step < 200; ++step) {
    trajectory.users.push_back(obs->user);
    trajectory.windows.push_back(obs->window);
    for (int i = 0; i < 8; ++i) {
      const std::vector<int> slots = valid_slots(obs->row(i));
      REQUIRE_FALSE(slots.empty());
      actions[static_cast<std::size_t>(i)] =
          slots[std::uniform_int_distribution<std::size_t>(0, slots.size() - 1)(policy)];
    }
    trajectory.rewards.push_back(env.step(actions.data()).reward);
    obs = &env.observations();
  }
  return trajectory;
}

TEST_CASE("VecRecEnv: the same seed repeats the trajectory, another seed draws other users",
          "[env][vec]") {
  // Full lists of 40: no episode is truncated, so every episode lasts K steps.
  const EnvData& data = synthetic_env().data;
  for (int32_t u = 0; u < data.n_users; ++u) REQUIRE(list_length(data, u) == 40);

  const Trajectory a = random_trajectory(data, 42, 7);
  const Trajectory b = random_trajectory(data, 42, 7);
  CHECK(a.users == b.users);
  CHECK(a.windows == b.windows);
  CHECK(a.rewards == b.rewards);
  double total = 0;
  for (const auto& rewards : a.rewards) {
    for (float reward : rewards) total += reward;
  }
  CHECK(total > 0);  // some hits, so the rewards compared are not all zero

  const Trajectory c = random_trajectory(data, 43, 7);
  CHECK(a.users != c.users);
  std::set<int32_t> distinct;
  for (const auto& users : a.users) distinct.insert(users.begin(), users.end());
  CHECK(distinct.size() > 20);

  // Each row draws from its own stream of the seed: under seed + i streams,
  // row i of seed 42 met exactly the users of row i - 1 of seed 43.
  for (std::size_t i = 1; i < 8; ++i) {
    int same = 0;
    for (std::size_t step = 0; step < a.users.size(); ++step) {
      same += a.users[step][i] == c.users[step][i - 1] ? 1 : 0;
    }
    INFO("row " << i);
    CHECK(same < static_cast<int>(a.users.size()));
  }
}

// ---------------------------------------------------------------------------
// Spaces and the feature view.

TEST_CASE("RecEnv and VecRecEnv: spaces and a feature view over the env data", "[env]") {
  const EnvData& data = varied_env_data();
  EnvSettings settings;
  settings.n_actions = 7;
  settings.history_length = 4;
  settings.episode_length = 9;
  VecSettings vec;
  vec.batch = 5;
  RecEnv single(data, settings);
  VecRecEnv batch(data, settings, vec);

  for (const Spaces& spaces : {single.spaces(), batch.spaces()}) {
    CHECK(spaces.n_actions == 7);
    CHECK(spaces.history_length == 4);
    CHECK(spaces.episode_length == 9);
    CHECK(spaces.n_users == data.n_users);
    CHECK(spaces.n_items == data.n_items);
    CHECK(spaces.pad_item == data.n_items);
    CHECK(spaces.embedding_dim == 4);
  }
  for (const FeatureView& view : {single.features(), batch.features()}) {
    REQUIRE(view.dim() == 4);
    for (int32_t u = 0; u < data.n_users; ++u) {
      const auto row = view.user(u);
      REQUIRE(row.size() == 4);
      REQUIRE(row.data() == data.user_embeddings.data() + u * 4);  // a view, not a copy
      REQUIRE(row == data.user_embeddings.row(u));
    }
    for (int32_t i = 0; i < data.n_items; ++i) {
      const auto row = view.item(i);
      REQUIRE(row.size() == 4);
      REQUIRE(row.data() == data.item_embeddings.data() + i * 4);
      REQUIRE(row == data.item_embeddings.row(i));
    }
    // The pad item is one row past the table: reading it was out of bounds.
    CHECK_THROWS_WITH(view.item(data.n_items), Catch::Contains("outside [0, "));
    CHECK_THROWS_AS(view.item(-1), InputError);
    CHECK_THROWS_WITH(view.user(data.n_users), Catch::Contains("user"));
  }

  // Without embeddings the view is empty.
  RecEnv plain(synthetic_env().data, settings);
  CHECK(plain.spaces().embedding_dim == 0);
  CHECK(plain.features().dim() == 0);
  CHECK_THROWS_WITH(plain.features().item(0), Catch::Contains("no item embeddings"));

  // The batch's arrays are [B, ...] row-major, and row() reads them.
  const ObservationBatch& obs = batch.reset(1);
  REQUIRE(obs.user.size() == 5);
  REQUIRE(obs.t.size() == 5);
  REQUIRE(obs.history.size() == 5 * 4);
  REQUIRE(obs.window.size() == 5 * 7);
  REQUIRE(obs.mask.size() == 5 * 7);
  REQUIRE(obs.teacher_score.size() == 5 * 7);
  REQUIRE(obs.teacher_rank.size() == 5 * 7);
  for (int i = 0; i < 5; ++i) {
    const Observation row = obs.row(i);
    CHECK(row.user == obs.user[static_cast<std::size_t>(i)]);
    CHECK(row.t == 1);
    CHECK(row.history ==
          std::vector<int32_t>(obs.history.begin() + i * 4, obs.history.begin() + (i + 1) * 4));
    CHECK(row.window ==
          std::vector<int32_t>(obs.window.begin() + i * 7, obs.window.begin() + (i + 1) * 7));
    CHECK(row.teacher_rank == std::vector<int32_t>(obs.teacher_rank.begin() + i * 7,
                                                   obs.teacher_rank.begin() + (i + 1) * 7));
    CHECK(mismatch(row, single.reset(0, row.user).observation) == "");
  }
}

TEST_CASE("baseline policies: teacher picks slot 0, random covers exactly the valid slots",
          "[env]") {
  ObservationBatch obs;
  obs.resize(/*batch=*/3, /*history_length=*/1, /*n_actions=*/4, /*pad_item=*/9, /*n_features=*/0);
  // Row 0: 4 valid slots; row 1: 2; row 2: none (an idle sub-env).
  obs.mask = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
  std::vector<int32_t> actions;
  teacher_policy(obs, actions);
  CHECK(actions == std::vector<int32_t>{0, 0, 0});
  std::mt19937_64 engine(3);
  std::vector<std::set<int32_t>> seen(3);
  for (int draw = 0; draw < 400; ++draw) {
    random_policy(obs, engine, actions);
    for (int row = 0; row < 3; ++row) seen[row].insert(actions[row]);
  }
  CHECK(seen[0] == std::set<int32_t>{0, 1, 2, 3});
  CHECK(seen[1] == std::set<int32_t>{0, 1});
  CHECK(seen[2] == std::set<int32_t>{0});
}

}  // namespace


// The reference lines on the fixture, by hand. Item i's embedding is the
// single number i, so a candidate's similarity to the history is c * (sum of
// the history's ids): the rule takes the largest id in the window.
TEST_CASE("history_rerank and window_ceiling: the fixture's lists by hand", "[env][policies]") {
  EnvData data = fixture_data();
  data.item_embeddings.resize(data.n_items, 1);
  for (int32_t i = 0; i < data.n_items; ++i) data.item_embeddings(i, 0) = static_cast<float>(i);
  EnvSettings settings = fixture_settings();
  settings.feedback = Feedback::kNone;
  const ItemSimilarity similarity = FeatureView(data).similarity();
  REQUIRE(similarity.available());
  CHECK(similarity(3, 4) == 12.0f);

  const RerankedLists rule =
      rerank_lists(data, settings, /*batch_users=*/2,
                   [&similarity](const ObservationBatch& observations,
                                 std::vector<int32_t>& actions, std::vector<float>&) {
                     history_rerank_policy(observations, similarity, actions);
                   });
  RowMatrixXi expected = RowMatrixXi::Constant(3, 9, -1);
  expected.row(0).head(6) << 9, 7, 4, 5, 2, 0;   // windows 7 2 9 | 7 2 4 | 2 4 0 | 2 0 5 | 2 0
  expected.row(1).head(2) << 6, 3;               // no history: every score 0, the teacher's order
  expected.row(2) << 2, 3, 5, 6, 7, 1, 0, 8, 9;  // history {4}: the largest id each time
  CHECK(rule.items == expected);
  CHECK(rule.scores.array().isNaN().all());  // the rule reports no scores

  const RerankedLists ceiling =
      rerank_lists(data, settings, /*batch_users=*/3,
                   [&data](const ObservationBatch& observations, std::vector<int32_t>& actions,
                           std::vector<float>&) {
                     window_ceiling_policy(observations, data, actions);
                   });
  expected = RowMatrixXi::Constant(3, 9, -1);
  expected.row(0).head(6) << 2, 4, 7, 5, 9, 0;  // rewarded 2 4 5: each as soon as it is in the window
  expected.row(1).head(2) << 3, 6;
  expected.row(2) << 0, 3, 1, 2, 5, 6, 7, 8, 9;  // rewarded 0 3
  CHECK(ceiling.items == expected);
}

TEST_CASE("best_scored_slots: the first highest valid score per active row", "[env][policies]") {
  ObservationBatch observations;
  observations.resize(/*batch=*/3, /*history_length=*/1, /*n_actions=*/4, /*pad_item=*/99,
                      /*n_features=*/0);
  observations.active = {1, 1, 0};
  observations.mask = {1, 1, 1, 0,   // row 0: slot 3 is empty
                       1, 1, 1, 1,   // row 1
                       1, 1, 1, 1};  // row 2: inactive
  const std::vector<float> scores = {0.5f, 2.0f, 2.0f, 9.0f,  // tie at 1 and 2; 9 is masked
                                     -1.0f, -3.0f, -0.5f, -0.5f,
                                     0.0f, 0.0f, 7.0f, 0.0f};
  std::vector<int32_t> actions = {-1, -1, -1};
  best_scored_slots(observations, scores, actions);
  CHECK(actions == std::vector<int32_t>{1, 2, 0});
}

TEST_CASE("ItemSimilarity: neighbour weights in either direction, 0 otherwise", "[env]") {
  const RowMatrixXf no_embeddings;
  RowMatrixXi neighbours(4, 2);
  neighbours << 1, 2,  //
      0, -1,           //
      -1, -1,          //
      2, -1;
  RowMatrixXf weights(4, 2);
  weights << 0.5f, 0.25f,  //
      0.75f, 0.0f,         //
      0.0f, 0.0f,          //
      0.125f, 0.0f;
  const ItemSimilarity similarity(no_embeddings, neighbours, weights);
  CHECK(similarity.available());
  CHECK(similarity.n_items() == 4);
  CHECK(similarity(0, 1) == 0.5f);    // 0 lists 1
  CHECK(similarity(1, 0) == 0.75f);   // 1 lists 0 with its own weight
  CHECK(similarity(2, 0) == 0.25f);   // 2 lists nothing; 0 lists 2
  CHECK(similarity(2, 3) == 0.125f);  // 3 lists 2
  CHECK(similarity(1, 3) == 0.0f);
  const RowMatrixXi none;
  CHECK_FALSE(ItemSimilarity(no_embeddings, none, weights).available());
}

}  // namespace trd
