// The slot feature set: every column by hand on a small fixture, its names,
// masking, and that the env hands it out with each observation.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <random>

#include "data/error.hpp"
#include "env/features.hpp"
#include "env/policies.hpp"
#include "env/rec_env.hpp"

using namespace trd;

namespace {

// Items 0..5 in two dimensions; user 0 met 0 then 1, user 1 met 1, 2, 0.
EnvData feature_fixture() {
  EnvData data;
  data.n_users = 2;
  data.n_items = 6;
  data.item_embeddings.resize(6, 2);
  data.item_embeddings << 1, 0,  //
      0, 1,                      //
      1, 1,                      //
      3, 0,                      //
      0, 0,                      //
      1, -1;
  data.user_embeddings = RowMatrixXf::Zero(2, 2);
  data.lists.resize(2, 3);
  data.lists << 2, 3, -1,  //
      3, 4, 5;
  data.scores.resize(2, 3);
  data.scores << 2, 1, 0,  //
      3, 2, 1;
  data.past = UserItems(std::vector<std::vector<int32_t>>{{0, 1}, {1, 2, 0}});
  data.rewarded = UserItems(std::vector<std::vector<int32_t>>{{3}, {5}});
  data.rewarded_rating = {1, 1};
  return data;
}

EnvSettings feature_settings() {
  EnvSettings settings;
  settings.n_actions = 3;
  settings.history_length = 2;
  settings.episode_length = 5;
  return settings;
}

}  // namespace

TEST_CASE("ItemTransitions: counts of later items within the span", "[features]") {
  const UserItems past(std::vector<std::vector<int32_t>>{{0, 1, 2}, {1, 2}});
  const ItemTransitions near(past, 3, /*span=*/1);
  CHECK(near.count(0, 1) == 1);
  CHECK(near.count(1, 2) == 2);
  CHECK(near.count(0, 2) == 0);
  CHECK(near.count(2, 1) == 0);
  CHECK(near.total(1) == 2);
  const ItemTransitions far(past, 3, /*span=*/2);
  CHECK(far.count(0, 2) == 1);
  CHECK(far.total(0) == 2);
  CHECK(far.total(2) == 0);
}

TEST_CASE("ItemTransitions: every count and total as a pairwise recount gives them", "[features]") {
  // Sparse rows (a few followers among 400 items) and dense ones (item 0
  // follows everything) take the constructor's two ways of ordering a row.
  std::mt19937_64 engine(7);
  std::vector<std::vector<int32_t>> histories(60);
  for (auto& history : histories) {
    const int length = static_cast<int>(engine() % 40);
    for (int i = 0; i < length; ++i) {
      history.push_back(i % 3 == 0 ? 0 : static_cast<int32_t>(engine() % 400));
    }
  }
  const UserItems past(histories);
  for (int span : {1, 30}) {
    const ItemTransitions transitions(past, 400, span);
    std::vector<std::vector<float>> counts(400, std::vector<float>(400, 0.0f));
    std::vector<float> totals(400, 0.0f);
    for (const auto& history : histories) {
      for (std::size_t a = 0; a < history.size(); ++a) {
        for (std::size_t b = a + 1; b < history.size() && b - a <= static_cast<std::size_t>(span);
             ++b) {
          counts[history[a]][history[b]] += 1.0f;
          totals[history[a]] += 1.0f;
        }
      }
    }
    int wrong = 0;
    for (int32_t from = 0; from < 400; ++from) {
      if (transitions.total(from) != totals[from]) ++wrong;
      for (int32_t to = 0; to < 400; ++to) {
        if (transitions.count(from, to) != counts[from][to]) ++wrong;
      }
    }
    CHECK(wrong == 0);
  }
}

TEST_CASE("parse_slot_features: names, default, none, and bad lists", "[features]") {
  CHECK(parse_slot_features("default", "--features") == default_slot_features());
  CHECK(parse_slot_features("none", "--features").empty());
  CHECK(parse_slot_features("teacher_rank,popularity", "--features") ==
        std::vector<SlotFeature>{SlotFeature::kTeacherRank, SlotFeature::kPopularity});
  CHECK(slot_features_text(default_slot_features()) ==
        "teacher_score,teacher_rank,history_similarity,recent_similarity,popularity,transitions,"
        "transition_share,reverse_transitions,position");
  CHECK_THROWS_WITH(parse_slot_features("teacher_rank,colour", "--features"),
                    Catch::Contains("--features") && Catch::Contains("unknown feature 'colour'"));
  CHECK_THROWS_AS(parse_slot_features("popularity,popularity", "--features"), InputError);
  CHECK_THROWS_AS(parse_slot_features("", "--features"), InputError);
}

TEST_CASE("SlotFeatures: every column of the default set by hand, masked slots zero",
          "[features]") {
  const EnvData data = feature_fixture();
  const EnvSettings settings = feature_settings();
  RecEnv env(data, settings);
  const Observation obs = env.reset(0, 0).observation;
  // User 0: history [0, 1] (1 is the most recent), window [2, 3, pad].
  const SlotFeatures features(settings.features, 2, 3, 5, FeatureView(data).similarity(),
                              data.transitions, data.past, data.n_items);
  const std::vector<std::string> names = {
      "teacher_score",       "teacher_rank", "history_similarity", "recent_similarity_1",
      "recent_similarity_2", "popularity",   "transitions",        "transition_share",
      "reverse_transitions", "position"};
  REQUIRE(features.column_names() == names);
  REQUIRE(features.width() == 10);
  REQUIRE(env.spaces().n_features == 10);
  REQUIRE(obs.features.size() == 3 * 10);

  const double rank_1 = 1.0 / std::log2(3.0);
  // Two valid slots: a standardised column is -1/+1 by which slot is larger.
  // score 2 vs 1; mean similarity to {0, 1}: item 2 (1 + 1) / 2 = 1, item 3
  // (3 + 0) / 2 = 1.5; similarity to item 1: 1 vs 0, to item 0: 1 vs 3;
  // popularity 1 vs 0 users; 1 -> 2 once, nothing -> 3; share 1 / (1 + 2);
  // item 2 precedes 0 once (user 1); t = 1.
  const std::vector<double> slot_item2 = {1, 1, -1, 1, -1, 1, 1, 1, 1, 0};
  const std::vector<double> slot_item3 = {-1, rank_1, 1, -1, 1, -1, -1, -1, -1, 0};
  for (int c = 0; c < 10; ++c) {
    INFO(names[static_cast<std::size_t>(c)]);
    CHECK(obs.features[static_cast<std::size_t>(c)] == Approx(slot_item2[c]).margin(1e-6));
    CHECK(obs.features[static_cast<std::size_t>(10 + c)] == Approx(slot_item3[c]).margin(1e-6));
    CHECK(obs.features[static_cast<std::size_t>(20 + c)] == 0.0f);
  }

  // After one pick the position moves, and the window shifts with its features.
  const Observation next = env.step(0).observation;
  CHECK(next.window[0] == 3);
  CHECK(next.features[9] == Approx(0.2));
  CHECK(next.features[1] == Approx(rank_1));
  CHECK(next.features[0] == 0.0f);   // a single valid slot: nothing to standardise against
  CHECK(next.features[19] == 0.0f);  // the emptied slot
}

TEST_CASE("SlotFeatures: a chosen subset, in its own order of columns", "[features]") {
  const EnvData data = feature_fixture();
  EnvSettings settings = feature_settings();
  settings.features = {SlotFeature::kPosition, SlotFeature::kTransitions};
  RecEnv env(data, settings);
  REQUIRE(env.spaces().n_features == 2);
  env.reset(0, 1);
  // User 1: history [2, 0]; after the pick the window is [4, 5, empty].
  // Neither 2 nor 0 is ever followed by 4 or 5, so the transition column is
  // constant and reads 0.
  const Observation obs = env.step(0).observation;
  REQUIRE(obs.features.size() == 6);
  const std::vector<float> expected = {0.2f, 0, 0.2f, 0, 0, 0};
  for (std::size_t c = 0; c < expected.size(); ++c) CHECK(obs.features[c] == Approx(expected[c]));
  settings.features.clear();
  CHECK(RecEnv(data, settings).reset(0, 0).observation.features.empty());
}

TEST_CASE("VecRecEnv hands out the same features as RecEnv, row by row", "[features]") {
  const EnvData data = feature_fixture();
  const EnvSettings settings = feature_settings();
  VecSettings vec;
  vec.batch = 2;
  vec.users = {0, 1};
  vec.order = UserOrder::kSequential;
  VecRecEnv batch(data, settings, vec);
  const ObservationBatch& first = batch.reset(0);
  RecEnv single(data, settings);
  for (int row = 0; row < 2; ++row) {
    CHECK(first.row(row).features == single.reset(0, row).observation.features);
  }
}

namespace {

// Random items, lists and pasts for six users of 30 items; each user's
// rewarded items sit in its list, so hits change the history.
EnvData random_env_data() {
  std::mt19937_64 engine(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  EnvData data;
  data.n_users = 6;
  data.n_items = 30;
  data.item_embeddings.resize(30, 3);
  for (Eigen::Index i = 0; i < data.item_embeddings.size(); ++i) {
    data.item_embeddings.data()[i] = normal(engine);
  }
  data.lists.resize(6, 12);
  data.scores.resize(6, 12);
  std::vector<std::vector<int32_t>> past(6), rewarded(6);
  std::vector<int32_t> items(30);
  std::iota(items.begin(), items.end(), 0);
  for (int u = 0; u < 6; ++u) {
    std::shuffle(items.begin(), items.end(), engine);
    past[static_cast<std::size_t>(u)].assign(items.begin(), items.begin() + 4);
    for (int j = 0; j < 12; ++j) {
      data.lists(u, j) = j < 9 + u % 3 ? items[static_cast<std::size_t>(4 + j)] : -1;
      data.scores(u, j) = normal(engine);
    }
    rewarded[static_cast<std::size_t>(u)] = {items[5], items[7], items[9]};
    std::sort(rewarded[static_cast<std::size_t>(u)].begin(),
              rewarded[static_cast<std::size_t>(u)].end());
  }
  data.past = UserItems(past);
  data.rewarded = UserItems(rewarded);
  data.rewarded_rating.assign(18, 1.0f);
  data.transitions = ItemTransitions(data.past, data.n_items);
  return data;
}

EnvSettings small_settings(Feedback feedback) {
  EnvSettings settings;
  settings.n_actions = 4;
  settings.history_length = 2;
  settings.episode_length = 8;
  settings.feedback = feedback;
  return settings;
}

// Row `row`'s features computed from scratch from its ids.
std::vector<float> fresh_features(const SlotFeatures& fresh, const ObservationBatch& batch,
                                  int row) {
  const Observation obs = batch.row(row);
  std::vector<float> raw(obs.features.size()), expected(obs.features.size());
  fresh.fill(obs.t, obs.history.data(), obs.window.data(), obs.mask.data(),
             obs.teacher_score.data(), obs.teacher_rank.data(), raw.data(), expected.data());
  return expected;
}

}  // namespace

TEST_CASE("the env's step-by-step features equal a fresh computation of each observation",
          "[features]") {
  // Only the slot that enters is computed anew on a step without a new
  // history item, which must not change any figure.
  std::mt19937_64 engine(5);
  const EnvData data = random_env_data();
  for (const Feedback feedback : {Feedback::kHits, Feedback::kNone}) {
    const EnvSettings settings = small_settings(feedback);
    const SlotFeatures fresh(settings.features, 2, 4, 8, FeatureView(data).similarity(),
                             data.transitions, data.past, data.n_items);
    RecEnv env(data, settings);
    for (int32_t user = 0; user < 6; ++user) {
      env.reset(0, user);
      for (int step = 0; step < 8; ++step) {
        const std::vector<float> expected = fresh_features(fresh, env.observations(), 0);
        const Observation obs = env.observations().row(0);
        INFO("user " << user << " t " << obs.t);
        for (std::size_t c = 0; c < expected.size(); ++c) {
          REQUIRE(obs.features[c] == Approx(expected[c]).margin(1e-5));
        }
        std::vector<int> valid;
        for (int slot = 0; slot < 4; ++slot) {
          if (obs.mask[static_cast<std::size_t>(slot)]) valid.push_back(slot);
        }
        const StepResult result = env.step(valid[engine() % valid.size()]);
        if (result.terminated || result.truncated) break;
      }
    }
  }
}

TEST_CASE("a training env's per-user pair cache gives the features of a fresh computation",
          "[features]") {
  // Random user order keeps each user's pair lookups from its second episode
  // on; users replay, hits change the history, and every row of every step,
  // the ended episodes' final observations included, must be bit-identical
  // to computing the row from its ids.
  std::mt19937_64 engine(11);
  const EnvData data = random_env_data();
  for (const Feedback feedback : {Feedback::kHits, Feedback::kNone}) {
    const EnvSettings settings = small_settings(feedback);
    const SlotFeatures fresh(settings.features, 2, 4, 8, FeatureView(data).similarity(),
                             data.transitions, data.past, data.n_items);
    VecSettings vec;
    vec.batch = 3;
    vec.order = UserOrder::kRandom;
    VecRecEnv env(data, settings, vec);
    env.reset(3);
    int hits = 0, episodes = 0;
    std::vector<int32_t> actions(3);
    for (int step = 0; step < 200; ++step) {
      for (int row = 0; row < 3; ++row) {
        INFO("step " << step << " row " << row);
        REQUIRE(env.observations().row(row).features ==
                fresh_features(fresh, env.observations(), row));
        actions[static_cast<std::size_t>(row)] = static_cast<int32_t>(
            engine() % static_cast<uint64_t>(std::max(1, valid_slots(env.observations(), row))));
      }
      const StepBatch& result = env.step(actions.data());
      for (int row = 0; row < 3; ++row) {
        hits += result.hit[static_cast<std::size_t>(row)];
        if (result.terminated[static_cast<std::size_t>(row)] ||
            result.truncated[static_cast<std::size_t>(row)]) {
          ++episodes;
          INFO("final observation, step " << step << " row " << row);
          REQUIRE(env.final_observations().row(row).features ==
                  fresh_features(fresh, env.final_observations(), row));
        }
      }
    }
    CHECK(hits > 20);
    CHECK(episodes > 50);  // every user replays several times
  }
}

TEST_CASE("features read only now and then are those of a fresh computation", "[features]") {
  // The env computes a row's features when they are read. Steps that nobody
  // reads, hits among them, must leave nothing stale behind: whenever the
  // rows are read, every one equals a fresh computation from its ids, bit
  // for bit, and a policy that reads no feature sees every other field as it
  // is. Both orders (the cached and the uncached path, idle rows and resets
  // in sequential order), with K 8 and 12 (lists of 9-11 items run out
  // before 12 picks: truncated episodes).
  std::mt19937_64 engine(17);
  const EnvData data = random_env_data();
  for (const Feedback feedback : {Feedback::kHits, Feedback::kNone}) {
    for (const UserOrder order : {UserOrder::kRandom, UserOrder::kSequential}) {
      for (const int episode_length : {8, 12}) {
        EnvSettings settings = small_settings(feedback);
        settings.episode_length = episode_length;
        const SlotFeatures fresh(settings.features, 2, 4, episode_length,
                                 FeatureView(data).similarity(), data.transitions, data.past,
                                 data.n_items);
        VecSettings vec;
        vec.batch = 3;
        vec.order = order;
        // Four users over three rows: two rows idle while the first plays its second.
        if (order == UserOrder::kSequential) vec.users = {0, 1, 2, 3};
        VecRecEnv env(data, settings, vec);
        env.reset(5);
        int unread_hits = 0, reads = 0, final_reads = 0, truncated = 0, idle_reads = 0;
        std::vector<int32_t> actions(3);
        for (int step = 0; step < 300; ++step) {
          if (env.all_done()) env.reset(static_cast<uint64_t>(step));
          const ObservationBatch& unread = env.observations_without_features();
          const bool read = engine() % 4 == 0;
          for (int row = 0; row < 3; ++row) {
            INFO("order " << static_cast<int>(order) << " K " << episode_length << " step " << step
                          << " row " << row);
            if (read) {
              const Observation mechanics = unread.row(row);
              const Observation full = env.observations().row(row);
              REQUIRE(full.features == fresh_features(fresh, env.observations(), row));
              CHECK((mechanics.user == full.user && mechanics.t == full.t &&
                     mechanics.history == full.history && mechanics.window == full.window &&
                     mechanics.mask == full.mask && mechanics.teacher_score == full.teacher_score &&
                     mechanics.teacher_rank == full.teacher_rank));
              idle_reads += unread.active[static_cast<std::size_t>(row)] == 0;
            }
            actions[static_cast<std::size_t>(row)] = static_cast<int32_t>(
                engine() % static_cast<uint64_t>(std::max(1, valid_slots(unread, row))));
          }
          reads += read;
          const StepBatch& result = env.step(actions.data());
          const bool read_final = engine() % 2 == 0;
          for (int row = 0; row < 3; ++row) {
            const auto r = static_cast<std::size_t>(row);
            if (!read) unread_hits += result.hit[r];
            truncated += result.truncated[r];
            if (read_final && (result.terminated[r] || result.truncated[r])) {
              ++final_reads;
              INFO("final observation, step " << step << " row " << row);
              REQUIRE(env.final_observations().row(row).features ==
                      fresh_features(fresh, env.final_observations(), row));
            }
          }
        }
        CHECK(reads > 50);
        CHECK(unread_hits > 20);
        CHECK(final_reads > 20);
        CHECK((episode_length == 8 || truncated > 20));
        CHECK((order == UserOrder::kRandom || idle_reads > 0));
      }
    }
  }
}

TEST_CASE("a reranker kept between calls gives rerank_lists' lists for each new policy",
          "[features][policies]") {
  // From its second call on the reranker's env reads each user's pair terms
  // from what it kept. Each call's policy weighs the slot features anew and
  // reports the weighted sum as its score, so a feature off by one bit
  // changes a score and, mostly, a pick.
  const EnvData data = random_env_data();
  for (const Feedback feedback : {Feedback::kHits, Feedback::kNone}) {
    const EnvSettings settings = small_settings(feedback);
    ListReranker reranker(data, settings, /*batch_users=*/3);
    for (int call = 0; call < 3; ++call) {
      const ListPolicy weighed = [call](const ObservationBatch& observations,
                                        std::vector<int32_t>& actions, std::vector<float>& scores) {
        const int n = observations.n_actions;
        const int width = observations.n_features;
        scores.assign(static_cast<std::size_t>(observations.batch) * n, 0.0f);
        for (int row = 0; row < observations.batch; ++row) {
          for (int slot = 0; slot < n; ++slot) {
            const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(row) * n + slot;
            for (int c = 0; c < width; ++c) {
              scores[at] += std::sin(static_cast<float>(7 * call + c)) *
                            observations.features[at * width + c];
            }
          }
        }
        best_scored_slots(observations, scores, actions);
      };
      INFO("feedback " << static_cast<int>(feedback) << " call " << call);
      const RerankedLists kept = reranker.rerank(weighed);
      const RerankedLists fresh = rerank_lists(data, settings, 3, weighed);
      CHECK(kept.items == fresh.items);
      CHECK((kept.scores.array().isNaN() == fresh.scores.array().isNaN()).all());
      CHECK((kept.scores.array() == fresh.scores.array() || fresh.scores.array().isNaN()).all());
      CHECK(fresh.scores.array().isFinite().any());
    }
    // Under kHits a picked rewarded item joins the history, which the kept
    // terms must cover too.
    int rewarded_picks = 0;
    const RerankedLists teacher_order = reranker.rerank(
        [](const ObservationBatch& observations, std::vector<int32_t>& actions,
           std::vector<float>&) { teacher_policy(observations, actions); });
    for (int32_t user = 0; user < data.n_users; ++user) {
      for (int j = 0; j < settings.episode_length && teacher_order.items(user, j) >= 0; ++j) {
        rewarded_picks += std::binary_search(data.rewarded.begin(user), data.rewarded.end(user),
                                             teacher_order.items(user, j));
      }
    }
    CHECK(rewarded_picks > 5);
  }
}
