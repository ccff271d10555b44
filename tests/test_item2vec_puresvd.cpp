#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "data/error.hpp"
#include "teachers/item2vec.hpp"
#include "teachers/puresvd.hpp"

namespace trd {
namespace {

using Catch::Matchers::Contains;

// One row per (user, item) in list order, timestamps increasing, so `seen`
// keeps each list's order.
TrainingSet make_set(const std::vector<std::vector<int32_t>>& lists, int32_t n_items) {
  TrainingSet set;
  int64_t time = 0;
  for (std::size_t user = 0; user < lists.size(); ++user) {
    for (int32_t item : lists[user]) {
      set.interactions.push_back(static_cast<int32_t>(user), item, 1.0f, time++);
    }
  }
  set.n_users = static_cast<int32_t>(lists.size());
  set.n_items = n_items;
  set.seen = UserItems({&set.interactions}, set.n_users);
  return set;
}

// Two worlds that never meet: users 0-29 see only items 0-9, users 30-59 only
// items 10-19; each user sees `per_user` of their group's ten items in a
// random order.
std::vector<std::vector<int32_t>> two_groups(int per_user, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int32_t>> lists;
  for (int user = 0; user < 60; ++user) {
    std::vector<int32_t> group;
    for (int32_t item = 0; item < 10; ++item) group.push_back(item + (user < 30 ? 0 : 10));
    for (int i = 9; i > 0; --i) std::swap(group[i], group[rng() % (i + 1)]);
    group.resize(per_user);
    lists.push_back(group);
  }
  return lists;
}

Knowledge exported(const Teacher& teacher) {
  Knowledge knowledge;
  teacher.export_state(knowledge);
  return knowledge;
}

// For every user: the lowest score of an unseen item of their own group minus
// the highest score of an item of the other group (> 0: the groups separate).
float worst_margin(const Teacher& teacher, const std::vector<std::vector<int32_t>>& lists,
                   int32_t group_size) {
  std::vector<int32_t> users(lists.size());
  for (std::size_t u = 0; u < users.size(); ++u) users[u] = static_cast<int32_t>(u);
  RowMatrixXf scores;
  teacher.score(users, scores);
  float worst = INFINITY;
  for (std::size_t u = 0; u < lists.size(); ++u) {
    const int32_t own = lists[u][0] / group_size;
    float unseen_own = INFINITY;
    float other = -INFINITY;
    for (int32_t item = 0; item < scores.cols(); ++item) {
      const float s = scores(static_cast<Eigen::Index>(u), item);
      if (item / group_size != own) {
        other = std::max(other, s);
      } else if (std::find(lists[u].begin(), lists[u].end(), item) == lists[u].end()) {
        unseen_own = std::min(unseen_own, s);
      }
    }
    worst = std::min(worst, unseen_own - other);
  }
  return worst;
}

TeacherSettings item2vec_settings() {
  TeacherSettings settings;
  settings.dim = 8;
  settings.epochs = 30;
  settings.lr = 0.025f;
  settings.negatives = 5;
  settings.window = 3;
  settings.seed = 7;
  return settings;
}

TEST_CASE("item2vec ranks unseen items of a user's group above the other group", "[item2vec]") {
  const auto lists = two_groups(/*per_user=*/6, /*seed=*/1);
  const TrainingSet data = make_set(lists, 20);
  // A run-time length (8) and a compile-time one (16); Hogwild with 2
  // threads splits the users and must still train every one of them.
  TeacherSettings settings = item2vec_settings();
  settings.dim = GENERATE(8, 16);
  settings.threads = GENERATE(1, 2);
  CAPTURE(settings.dim, settings.threads);
  Item2Vec teacher(settings);
  teacher.fit(data, nullptr, {});
  CHECK(worst_margin(teacher, lists, /*group_size=*/10) > 0);

  // The skip-gram model itself: SGNS fits input . context ~ PMI - log(negatives),
  // so every pair that co-occurs scores above every pair that never does.
  const Knowledge k = exported(teacher);
  const RowMatrixXf logits = k.teacher_state.at(kItem2VecInputState) *
                             k.teacher_state.at(kItem2VecContextState).transpose();
  float together = INFINITY;
  float apart = -INFINITY;
  for (int a = 0; a < 20; ++a) {
    for (int b = 0; b < 20; ++b) {
      if (a / 10 != b / 10) {
        apart = std::max(apart, logits(a, b));
      } else if (a != b) {
        together = std::min(together, logits(a, b));
      }
    }
  }
  CHECK(together > apart + 1);
}

TEST_CASE("item2vec scores the mean cosine between an item and the user's items", "[item2vec]") {
  // User 2 has no items; user 0 sees item 1 twice, which counts twice.
  const TrainingSet data = make_set({{0, 1, 1, 3}, {2, 3}, {}}, 5);
  TeacherSettings settings = item2vec_settings();
  settings.epochs = 3;
  Item2Vec teacher(settings);
  teacher.fit(data, nullptr, {});
  const Knowledge k = exported(teacher);
  REQUIRE(k.user_embeddings.rows() == 3);
  REQUIRE(k.user_embeddings.cols() == 8);
  REQUIRE(k.item_embeddings.rows() == 5);
  REQUIRE(k.item_embeddings.cols() == 8);
  const RowMatrixXf& input = k.teacher_state.at(kItem2VecInputState);
  REQUIRE(input.rows() == 5);
  REQUIRE(input.cols() == 8);
  REQUIRE(k.teacher_state.at(kItem2VecContextState).rows() == 5);

  // item_embeddings are the raw input vectors scaled to unit length, and the
  // raw ones are not (else the state would carry nothing more). Item 4, which
  // no user met, kept its random start and is zeroed rather than scaled up.
  CHECK(k.item_embeddings.row(4).isZero(0));
  for (int item = 0; item < 4; ++item) {
    CHECK(k.item_embeddings.row(item).norm() == Approx(1).epsilon(1e-5));
    CHECK((k.item_embeddings.row(item) - input.row(item).normalized()).cwiseAbs().maxCoeff() <
          1e-6f);
    CHECK(std::abs(input.row(item).norm() - 1) > 1e-3f);
  }
  const Eigen::RowVectorXf mean0 =
      (k.item_embeddings.row(0) + 2 * k.item_embeddings.row(1) + k.item_embeddings.row(3)) / 4;
  CHECK((k.user_embeddings.row(0) - mean0).cwiseAbs().maxCoeff() < 1e-6f);
  CHECK(k.user_embeddings.row(2).isZero(0));

  RowMatrixXf scores;
  teacher.score({2, 0}, scores);
  REQUIRE(scores.rows() == 2);
  REQUIRE(scores.cols() == 5);
  CHECK(scores.row(0).isZero(0));
  const auto cosine = [&](int a, int b) {
    return input.row(a).dot(input.row(b)) / (input.row(a).norm() * input.row(b).norm());
  };
  CHECK(scores(1, 4) == 0.0f);
  for (int item = 0; item < 4; ++item) {
    const float mean_cosine = (cosine(item, 0) + 2 * cosine(item, 1) + cosine(item, 3)) / 4;
    CHECK(scores(1, item) == Approx(mean_cosine).margin(1e-5));
    CHECK(scores(1, item) ==
          Approx(k.user_embeddings.row(0).dot(k.item_embeddings.row(item))).margin(1e-6));
  }
  CHECK_THROWS_AS(teacher.score({3}, scores), std::out_of_range);

  // A zero input vector stays zero rather than becoming NaN.
  Knowledge zeroed = k;
  zeroed.teacher_state[kItem2VecInputState].row(1).setZero();
  settings.epochs = 0;
  Item2Vec resumed(settings);
  resumed.fit(data, &zeroed, {});
  const Knowledge after = exported(resumed);
  CHECK(after.item_embeddings.row(1).isZero(0));
  CHECK(after.item_embeddings.allFinite());
  const Eigen::RowVectorXf mean0_zeroed = (k.item_embeddings.row(0) + k.item_embeddings.row(3)) / 4;
  CHECK((after.user_embeddings.row(0) - mean0_zeroed).cwiseAbs().maxCoeff() < 1e-6f);
  resumed.score({0}, scores);
  CHECK(scores(0, 1) == 0);
  CHECK(scores.allFinite());
}

TEST_CASE("item2vec is deterministic per seed", "[item2vec]") {
  const TrainingSet data = make_set(two_groups(6, 1), 20);
  Item2Vec first(item2vec_settings());
  Item2Vec second(item2vec_settings());
  first.fit(data, nullptr, {});
  second.fit(data, nullptr, {});
  const Knowledge a = exported(first);
  const Knowledge b = exported(second);
  CHECK(a.item_embeddings == b.item_embeddings);
  CHECK(a.user_embeddings == b.user_embeddings);
  CHECK(a.teacher_state.at(kItem2VecInputState) == b.teacher_state.at(kItem2VecInputState));
  CHECK(a.teacher_state.at(kItem2VecContextState) == b.teacher_state.at(kItem2VecContextState));

  TeacherSettings other_seed = item2vec_settings();
  other_seed.seed = 8;
  Item2Vec third(other_seed);
  third.fit(data, nullptr, {});
  CHECK(exported(third).item_embeddings != a.item_embeddings);
}

TEST_CASE("item2vec reports a falling SGNS loss once per epoch", "[item2vec]") {
  const TrainingSet data = make_set(two_groups(6, 1), 20);
  std::vector<int> epochs;
  std::vector<double> losses;
  // With 2 threads the epoch's loss sums both workers' shares.
  TeacherSettings settings = item2vec_settings();
  settings.threads = GENERATE(1, 2);
  CAPTURE(settings.threads);
  Item2Vec teacher(settings);
  teacher.fit(data, nullptr, [&](int epoch, int of, double loss) {
    CHECK(of == 30);
    epochs.push_back(epoch);
    losses.push_back(loss);
  });
  REQUIRE(epochs.size() == 30);
  CHECK(epochs.front() == 1);
  CHECK(epochs.back() == 30);
  // At the start every pair costs log 2 for the positive and for each of the
  // five negatives: 6 log 2. The first epoch's mean already holds some
  // learning, and with 2 threads how much depends on the workers' timing.
  CHECK(losses.front() == Approx(6 * std::log(2.0)).epsilon(settings.threads == 1 ? 0.05 : 0.1));
  CHECK(losses.back() < 0.8 * losses.front());
}

TEST_CASE("item2vec warm start with no epochs keeps the embeddings exactly", "[item2vec]") {
  const TrainingSet data = make_set(two_groups(6, 1), 20);
  Item2Vec teacher(item2vec_settings());
  teacher.fit(data, nullptr, {});
  const Knowledge before = exported(teacher);

  TeacherSettings settings = item2vec_settings();
  settings.epochs = 0;
  settings.seed = 99;  // no draw may touch the embeddings
  Item2Vec resumed(settings);
  const TrainingSet more = make_set(two_groups(8, 2), 20);
  // The warm start reads the raw vectors from teacher_state, not the
  // normalised item_embeddings.
  Knowledge state_only = before;
  state_only.item_embeddings.setZero();
  resumed.fit(more, &state_only, {});
  const Knowledge after = exported(resumed);
  // The raw input vectors round-trip, and the unit vectors follow from them.
  CHECK(after.teacher_state.at(kItem2VecInputState) ==
        before.teacher_state.at(kItem2VecInputState));
  CHECK(after.teacher_state.at(kItem2VecContextState) ==
        before.teacher_state.at(kItem2VecContextState));
  CHECK(after.item_embeddings == before.item_embeddings);
  // User embeddings follow the new data.
  CHECK(after.user_embeddings != before.user_embeddings);
}

TEST_CASE("item2vec warm start stays closer to the earlier embeddings than a fresh fit",
          "[item2vec]") {
  const auto base = two_groups(6, 1);
  Item2Vec teacher(item2vec_settings());
  teacher.fit(make_set(base, 20), nullptr, {});
  const Knowledge before = exported(teacher);

  // The later stage: every user has two more items of their group.
  const auto later = two_groups(8, 1);
  const TrainingSet more = make_set(later, 20);
  TeacherSettings short_run = item2vec_settings();
  short_run.epochs = 5;
  Item2Vec resumed(short_run);
  resumed.fit(more, &before, {});
  Item2Vec fresh(item2vec_settings());
  fresh.fit(more, nullptr, {});

  const RowMatrixXf& old_items = before.teacher_state.at(kItem2VecInputState);
  const float warm_moved =
      (exported(resumed).teacher_state.at(kItem2VecInputState) - old_items).norm();
  const float fresh_moved =
      (exported(fresh).teacher_state.at(kItem2VecInputState) - old_items).norm();
  CHECK(warm_moved > 0);
  CHECK(warm_moved < 0.5f * fresh_moved);
  CHECK(worst_margin(resumed, later, 10) > 0);
}

TEST_CASE("item2vec warm start rejects knowledge of another shape", "[item2vec]") {
  const TrainingSet data = make_set(two_groups(6, 1), 20);
  Item2Vec teacher(item2vec_settings());
  teacher.fit(data, nullptr, {});
  const Knowledge good = exported(teacher);

  Item2Vec resumed(item2vec_settings());
  Knowledge wrong_dim = good;
  wrong_dim.teacher_state[kItem2VecInputState] = RowMatrixXf::Zero(20, 4);
  CHECK_THROWS_WITH(resumed.fit(data, &wrong_dim, {}),
                    Contains("teacher_state 'item2vec_input' is [20, 4], expected [20, 8]"));
  Knowledge wrong_items = good;
  wrong_items.teacher_state[kItem2VecInputState] = RowMatrixXf::Zero(19, 8);
  CHECK_THROWS_AS(resumed.fit(data, &wrong_items, {}), InputError);
  Knowledge no_input = good;
  no_input.teacher_state.erase(kItem2VecInputState);
  CHECK_THROWS_WITH(resumed.fit(data, &no_input, {}),
                    Contains("teacher_state has no 'item2vec_input' entry"));
  CHECK_THROWS_AS(resumed.fit(data, &no_input, {}), InputError);
  Knowledge no_context = good;
  no_context.teacher_state.erase(kItem2VecContextState);
  CHECK_THROWS_WITH(resumed.fit(data, &no_context, {}),
                    Contains("teacher_state has no 'item2vec_context' entry"));
  CHECK_THROWS_AS(resumed.fit(data, &no_context, {}), InputError);
  Knowledge wrong_context = good;
  wrong_context.teacher_state[kItem2VecContextState] = RowMatrixXf::Zero(20, 7);
  CHECK_THROWS_WITH(resumed.fit(data, &wrong_context, {}),
                    Contains("teacher_state 'item2vec_context' is [20, 7], expected [20, 8]"));
  // The normalised item_embeddings are not read, whatever their shape.
  Knowledge odd_items = good;
  odd_items.item_embeddings = RowMatrixXf::Zero(3, 2);
  CHECK_NOTHROW(resumed.fit(data, &odd_items, {}));
}

TEST_CASE("item2vec rejects settings out of range", "[item2vec]") {
  TeacherSettings settings = item2vec_settings();
  settings.dim = 0;
  CHECK_THROWS_AS(Item2Vec(settings), InputError);
  settings = item2vec_settings();
  settings.window = 0;
  CHECK_THROWS_AS(Item2Vec(settings), InputError);
  settings = item2vec_settings();
  settings.lr = 0;
  CHECK_THROWS_AS(Item2Vec(settings), InputError);
}

// Block A: users 0-9 x items 0-7; block B: users 10-15 x items 8-12. Items 13
// and 14 and user 16 have no interactions. Exactly rank 2 with singular values
// sqrt(80) and sqrt(30); `held_out` (user, item) pairs are left out.
std::vector<std::vector<int32_t>> two_blocks(
    const std::vector<std::pair<int32_t, int32_t>>& held_out) {
  std::vector<std::vector<int32_t>> lists(17);
  for (int32_t user = 0; user < 16; ++user) {
    const bool in_a = user < 10;
    for (int32_t item = in_a ? 0 : 8; item < (in_a ? 8 : 13); ++item) {
      if (std::find(held_out.begin(), held_out.end(), std::make_pair(user, item)) ==
          held_out.end()) {
        lists[user].push_back(item);
      }
    }
  }
  return lists;
}

// Five disjoint blocks of different sizes (60 users, 35 items), density 0.8
// inside and 0.05 outside, plus `extra_per_user` uniform items per user: five
// clearly separated singular values above the noise.
std::vector<std::vector<int32_t>> noisy_blocks(uint32_t seed, int extra_per_user) {
  const int user_sizes[] = {8, 10, 12, 14, 16};
  const int item_sizes[] = {5, 6, 7, 8, 9};
  std::mt19937 rng(seed);
  std::vector<std::vector<int32_t>> lists;
  for (int block = 0; block < 5; ++block) {
    for (int u = 0; u < user_sizes[block]; ++u) {
      std::vector<int32_t> items;
      for (int other = 0, item = 0; other < 5; ++other) {
        for (int i = 0; i < item_sizes[other]; ++i, ++item) {
          if (rng() % 100 < (other == block ? 80u : 5u)) items.push_back(item);
        }
      }
      for (int e = 0; e < extra_per_user; ++e) items.push_back(static_cast<int32_t>(rng() % 35));
      lists.push_back(items);
    }
  }
  return lists;
}

TeacherSettings puresvd_settings(int dim) {
  TeacherSettings settings;
  settings.dim = dim;
  settings.epochs = 10;
  settings.seed = 3;
  return settings;
}

TEST_CASE("puresvd recovers the blocks of a rank-2 matrix", "[puresvd]") {
  const auto lists = two_blocks({});
  const TrainingSet data = make_set(lists, 15);
  std::vector<double> residuals;
  PureSvd teacher(puresvd_settings(2));
  teacher.fit(data, nullptr, [&](int, int, double residual) { residuals.push_back(residual); });
  REQUIRE(residuals.size() == 10);
  // ||X||^2 - sum(sigma^2) cancels in float: about 1e-3 is an exact fit.
  CHECK(residuals.back() < 3e-3);

  const Knowledge k = exported(teacher);
  REQUIRE(k.item_embeddings.rows() == 15);
  REQUIRE(k.item_embeddings.cols() == 2);
  REQUIRE(k.user_embeddings.rows() == 17);
  // The larger block comes first; the sign rule makes both columns positive.
  for (int item = 0; item < 15; ++item) {
    const float a = item < 8 ? 1 / std::sqrt(8.0f) : 0;
    const float b = item >= 8 && item < 13 ? 1 / std::sqrt(5.0f) : 0;
    CHECK(k.item_embeddings(item, 0) == Approx(a).margin(1e-4));
    CHECK(k.item_embeddings(item, 1) == Approx(b).margin(1e-4));
  }
  // x_u V V^T reproduces X itself.
  RowMatrixXf scores;
  teacher.score({0, 12, 16}, scores);
  REQUIRE(scores.rows() == 3);
  REQUIRE(scores.cols() == 15);
  for (int item = 0; item < 15; ++item) {
    CHECK(scores(0, item) == Approx(item < 8 ? 1 : 0).margin(1e-4));
    CHECK(scores(1, item) == Approx(item >= 8 && item < 13 ? 1 : 0).margin(1e-4));
    CHECK(scores(2, item) == 0);
  }
}

TEST_CASE("puresvd scores unseen in-block items above out-of-block items", "[puresvd]") {
  const auto lists = two_blocks({{0, 6}, {0, 7}, {3, 2}, {10, 12}, {14, 9}});
  PureSvd teacher(puresvd_settings(2));
  teacher.fit(make_set(lists, 15), nullptr, {});
  RowMatrixXf scores;
  teacher.score({0, 3, 10, 14}, scores);
  const float a_outside = scores.row(0).segment(8, 7).maxCoeff();
  CHECK(scores(0, 6) > a_outside + 0.5f);
  CHECK(scores(0, 7) > a_outside + 0.5f);
  CHECK(scores(1, 2) > scores.row(1).segment(8, 7).maxCoeff() + 0.5f);
  CHECK(scores(2, 12) > scores.row(2).head(8).maxCoeff() + 0.5f);
  CHECK(scores(3, 9) > scores.row(3).head(8).maxCoeff() + 0.5f);
}

TEST_CASE("puresvd counts a repeated interaction once", "[puresvd]") {
  auto lists = two_blocks({});
  PureSvd once(puresvd_settings(2));
  once.fit(make_set(lists, 15), nullptr, {});
  lists[0].push_back(3);
  lists[11].push_back(9);
  lists[11].push_back(9);
  PureSvd repeated(puresvd_settings(2));
  repeated.fit(make_set(lists, 15), nullptr, {});
  CHECK(exported(once).item_embeddings == exported(repeated).item_embeddings);
  CHECK(exported(once).user_embeddings == exported(repeated).user_embeddings);
}

TEST_CASE("puresvd is deterministic per seed and converges to the same vectors from any seed",
          "[puresvd]") {
  const TrainingSet data = make_set(noisy_blocks(5, 0), 35);
  PureSvd first(puresvd_settings(5));
  PureSvd second(puresvd_settings(5));
  first.fit(data, nullptr, {});
  second.fit(data, nullptr, {});
  const Knowledge a = exported(first);
  CHECK(a.item_embeddings == exported(second).item_embeddings);
  CHECK(a.user_embeddings == exported(second).user_embeddings);

  TeacherSettings other_seed = puresvd_settings(5);
  other_seed.seed = 4;
  other_seed.epochs = 40;
  PureSvd third(other_seed);
  third.fit(data, nullptr, {});
  const RowMatrixXf& c = exported(third).item_embeddings;
  CHECK(c != a.item_embeddings);
  CHECK((c - a.item_embeddings).cwiseAbs().maxCoeff() < 1e-3f);
}

TEST_CASE("puresvd residual never grows over the power iterations", "[puresvd]") {
  const TrainingSet data = make_set(noisy_blocks(5, 2), 35);
  std::vector<double> residuals;
  TeacherSettings settings = puresvd_settings(5);
  settings.epochs = 8;
  PureSvd teacher(settings);
  teacher.fit(data, nullptr, [&](int epoch, int of, double residual) {
    CHECK(epoch == static_cast<int>(residuals.size()) + 1);
    CHECK(of == 8);
    residuals.push_back(residual);
  });
  REQUIRE(residuals.size() == 8);
  for (std::size_t i = 1; i < residuals.size(); ++i) {
    CHECK(residuals[i] <= residuals[i - 1] + 1e-5);
  }
  CHECK(residuals.back() > 0.1);  // noise keeps X off rank 5
  CHECK(residuals.back() < 0.9);
}

TEST_CASE("puresvd warm start on the same data keeps the embeddings", "[puresvd]") {
  const TrainingSet data = make_set(noisy_blocks(5, 0), 35);
  PureSvd teacher(puresvd_settings(5));
  teacher.fit(data, nullptr, {});
  const Knowledge before = exported(teacher);

  TeacherSettings settings = puresvd_settings(5);
  settings.seed = 11;
  settings.epochs = 3;
  PureSvd resumed(settings);
  resumed.fit(data, &before, {});
  const Knowledge after = exported(resumed);
  for (int col = 0; col < 5; ++col) {
    CHECK(after.item_embeddings.col(col).dot(before.item_embeddings.col(col)) ==
          Approx(1).margin(1e-3));
  }
  CHECK((after.item_embeddings - before.item_embeddings).cwiseAbs().maxCoeff() < 1e-3f);
  CHECK((after.user_embeddings - before.user_embeddings).cwiseAbs().maxCoeff() < 1e-2f);
}

TEST_CASE("puresvd warm start on new data scores like a fresh fit in the old space", "[puresvd]") {
  PureSvd teacher(puresvd_settings(5));
  teacher.fit(make_set(noisy_blocks(5, 0), 35), nullptr, {});
  const Knowledge before = exported(teacher);

  // The later stage adds random interactions on top of the same users.
  const TrainingSet later = make_set(noisy_blocks(5, 3), 35);
  TeacherSettings long_run = puresvd_settings(5);
  long_run.epochs = 30;
  PureSvd resumed(long_run);
  resumed.fit(later, &before, {});
  PureSvd fresh(long_run);
  fresh.fit(later, nullptr, {});

  std::vector<int32_t> users(60);
  for (int32_t u = 0; u < 60; ++u) users[u] = u;
  RowMatrixXf warm_scores;
  RowMatrixXf fresh_scores;
  resumed.score(users, warm_scores);
  fresh.score(users, fresh_scores);
  CHECK((warm_scores - fresh_scores).cwiseAbs().maxCoeff() < 1e-3f);

  const RowMatrixXf& old_items = before.item_embeddings;
  const RowMatrixXf warm_items = exported(resumed).item_embeddings;
  CHECK((warm_items - old_items).norm() <= (exported(fresh).item_embeddings - old_items).norm());
  CHECK((warm_items.transpose() * warm_items - Eigen::MatrixXf::Identity(5, 5))
            .cwiseAbs()
            .maxCoeff() < 1e-4f);
}

TEST_CASE("puresvd rejects a rank it cannot have and warm starts of another shape", "[puresvd]") {
  const TrainingSet data = make_set(two_blocks({}), 15);
  PureSvd too_wide(puresvd_settings(16));
  CHECK_THROWS_WITH(too_wide.fit(data, nullptr, {}),
                    Contains("exceeds min(n_users, n_items) = 15"));

  PureSvd teacher(puresvd_settings(2));
  teacher.fit(data, nullptr, {});
  Knowledge wrong = exported(teacher);
  wrong.item_embeddings = RowMatrixXf::Zero(15, 3);
  PureSvd resumed(puresvd_settings(2));
  CHECK_THROWS_AS(resumed.fit(data, &wrong, {}), InputError);
  CHECK_THROWS_WITH(resumed.fit(data, &wrong, {}),
                    Contains("item_embeddings is [15, 3], expected [15, 2]"));
}

}  // namespace
}  // namespace trd
