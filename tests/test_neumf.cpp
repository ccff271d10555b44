#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "data/error.hpp"
#include "teachers/neural/neumf.hpp"

namespace trd {
namespace {

constexpr int32_t kUsersPerGroup = 40;
constexpr int32_t kBlock = 10;  // items per group
constexpr int32_t kSeenPerUser = 6;

// Two taste groups: users [0, 40) meet only items [0, 10), users [40, 80) only
// items [10, 20). Each user meets 6 of its block's 10 items, rotated by user id,
// so every item has several fans and 4 block items per user stay unseen: the
// ones collaborative filtering should rank first.
TrainingSet two_blocks() {
  TrainingSet data;
  data.n_users = 2 * kUsersPerGroup;
  data.n_items = 2 * kBlock;
  int64_t time = 0;
  for (int32_t user = 0; user < data.n_users; ++user) {
    const int32_t block_start = (user / kUsersPerGroup) * kBlock;
    for (int32_t k = 0; k < kSeenPerUser; ++k) {
      data.interactions.push_back(user, block_start + (user + k) % kBlock, 1.0f, time++);
    }
  }
  data.seen = UserItems({&data.interactions}, data.n_users);
  return data;
}

// Unseen in-block items are also drawn as negatives, so long training
// memorises them as dislikes: 20 epochs separate the blocks for every seed
// tried (0-5), 40 already fail for some.
TeacherSettings small_settings() {
  TeacherSettings settings;
  settings.dim = 8;
  settings.epochs = 20;
  settings.lr = 0.01f;
  settings.negatives = 4;
  settings.threads = 1;
  settings.seed = 7;
  return settings;
}

std::vector<int32_t> all_users(const TrainingSet& data) {
  std::vector<int32_t> users(static_cast<std::size_t>(data.n_users));
  for (int32_t user = 0; user < data.n_users; ++user) users[user] = user;
  return users;
}

Knowledge exported(const NeuMf& teacher) {
  Knowledge knowledge;
  teacher.export_state(knowledge);
  return knowledge;
}

// Fits a NeuMF on two_blocks() and returns its exported knowledge.
Knowledge trained_knowledge(const TrainingSet& data) {
  NeuMf teacher(small_settings());
  teacher.fit(data, nullptr, {});
  return exported(teacher);
}

TEST_CASE("NeuMF ranks unseen in-block items above the other block", "[neumf]") {
  const TrainingSet data = two_blocks();
  NeuMf teacher(small_settings());
  teacher.fit(data, nullptr, {});
  RowMatrixXf scores;
  teacher.score(all_users(data), scores);
  REQUIRE(scores.rows() == data.n_users);
  REQUIRE(scores.cols() == data.n_items);

  int separated = 0;  // users whose every unseen in-block item beats every other-block item
  for (int32_t user = 0; user < data.n_users; ++user) {
    const int32_t block_start = (user / kUsersPerGroup) * kBlock;
    const int32_t other_start = kBlock - block_start;
    float worst_unseen = INFINITY;
    for (int32_t k = kSeenPerUser; k < kBlock; ++k) {
      worst_unseen = std::min(worst_unseen, scores(user, block_start + (user + k) % kBlock));
    }
    const float best_other = scores.row(user).segment(other_start, kBlock).maxCoeff();
    if (worst_unseen > best_other) ++separated;
  }
  CHECK(separated >= data.n_users * 9 / 10);
}

TEST_CASE("NeuMF reports each epoch's loss, which falls", "[neumf]") {
  const TrainingSet data = two_blocks();
  TeacherSettings settings = small_settings();
  settings.epochs = 5;
  NeuMf teacher(settings);
  std::vector<int> epochs_seen;
  std::vector<double> losses;
  teacher.fit(data, nullptr, [&](int epoch, int epochs, double loss) {
    CHECK(epochs == 5);
    epochs_seen.push_back(epoch);
    losses.push_back(loss);
  });
  CHECK(epochs_seen == std::vector<int>{1, 2, 3, 4, 5});
  // An untrained network predicts about 0.5 everywhere: loss near log 2.
  CHECK(losses.front() == Approx(std::log(2.0)).epsilon(0.05));
  CHECK(losses.back() < losses.front());
}

TEST_CASE("NeuMF with the same seed and one thread exports identical knowledge", "[neumf]") {
  const TrainingSet data = two_blocks();
  const Knowledge first = trained_knowledge(data);
  const Knowledge second = trained_knowledge(data);
  CHECK(first.user_embeddings == second.user_embeddings);
  CHECK(first.item_embeddings == second.item_embeddings);
  REQUIRE(first.teacher_state.size() == second.teacher_state.size());
  for (const auto& [name, values] : first.teacher_state) {
    INFO(name);
    CHECK(values == second.teacher_state.at(name));
  }

  TeacherSettings other_seed = small_settings();
  other_seed.seed = 8;
  NeuMf other(other_seed);
  other.fit(data, nullptr, {});
  CHECK(exported(other).user_embeddings != first.user_embeddings);
}

TEST_CASE("NeuMF exports concatenated embeddings and its whole training state", "[neumf]") {
  const TrainingSet data = two_blocks();
  const Knowledge knowledge = trained_knowledge(data);
  const int dim = small_settings().dim;
  CHECK(knowledge.user_embeddings.rows() == data.n_users);
  CHECK(knowledge.user_embeddings.cols() == 2 * dim);
  CHECK(knowledge.item_embeddings.rows() == data.n_items);
  CHECK(knowledge.item_embeddings.cols() == 2 * dim);
  // [GMF | MLP] halves of the embeddings are the stored tables.
  CHECK(knowledge.user_embeddings.leftCols(dim) ==
        knowledge.teacher_state.at("neumf/gmf_user.weight"));
  CHECK(knowledge.item_embeddings.rightCols(dim) ==
        knowledge.teacher_state.at("neumf/mlp_item.weight"));

  const std::vector<std::pair<std::string, std::pair<int, int>>> expected = {
      {"gmf_user.weight", {data.n_users, dim}}, {"gmf_item.weight", {data.n_items, dim}},
      {"mlp_user.weight", {data.n_users, dim}}, {"mlp_item.weight", {data.n_items, dim}},
      {"mlp0.weight", {dim, 2 * dim}},          {"mlp0.bias", {1, dim}},
      {"mlp1.weight", {dim / 2, dim}},          {"mlp1.bias", {1, dim / 2}},
      {"out.weight", {1, dim + dim / 2}},       {"out.bias", {1, 1}}};
  // Each parameter, Adam's two moments of it, and Adam's step count.
  CHECK(knowledge.teacher_state.size() == 3 * expected.size() + 1);
  for (const auto& [name, shape] : expected) {
    for (const std::string& stored : {"neumf/" + name, "neumf/adam/" + name + ".exp_avg",
                                      "neumf/adam/" + name + ".exp_avg_sq"}) {
      INFO(stored);
      REQUIRE(knowledge.teacher_state.count(stored) == 1);
      CHECK(knowledge.teacher_state.at(stored).rows() == shape.first);
      CHECK(knowledge.teacher_state.at(stored).cols() == shape.second);
    }
  }
  // 80 users * 6 positives * (1 + 4 negatives) = 2400 samples: 3 batches an epoch.
  CHECK(knowledge.teacher_state.at("neumf/adam/step") ==
        RowMatrixXf::Constant(1, 1, 3.0f * small_settings().epochs));
}

TEST_CASE("NeuMF scores any subset of users in any order", "[neumf]") {
  const TrainingSet data = two_blocks();
  NeuMf teacher(small_settings());
  teacher.fit(data, nullptr, {});
  RowMatrixXf all;
  teacher.score(all_users(data), all);
  RowMatrixXf some;
  teacher.score({5, 2, 5, 79}, some);
  REQUIRE(some.rows() == 4);
  REQUIRE(some.cols() == data.n_items);
  const std::vector<int32_t> rows = {5, 2, 5, 79};
  for (int k = 0; k < 4; ++k) {
    INFO("row " << k);
    // Batch shapes differ, so the arithmetic may round differently.
    CHECK(some.row(k).isApprox(all.row(rows[k]), 1e-5f));
  }
  RowMatrixXf none;
  teacher.score({}, none);
  CHECK(none.rows() == 0);
  CHECK_THROWS_AS(teacher.score({data.n_users}, none), std::out_of_range);
}

TEST_CASE("NeuMF warm start with 0 epochs reproduces the scores exactly", "[neumf]") {
  const TrainingSet data = two_blocks();
  NeuMf original(small_settings());
  original.fit(data, nullptr, {});
  const Knowledge knowledge = exported(original);

  TeacherSettings no_training = small_settings();
  no_training.epochs = 0;
  no_training.seed = 99;  // the restored weights, not the seed, must decide
  NeuMf restored(no_training);
  restored.fit(data, &knowledge, {});

  RowMatrixXf before;
  RowMatrixXf after;
  original.score(all_users(data), before);
  restored.score(all_users(data), after);
  CHECK(before == after);
  CHECK(exported(restored).teacher_state == knowledge.teacher_state);
}

TEST_CASE("NeuMF warm start continues from the restored network", "[neumf]") {
  const TrainingSet data = two_blocks();
  const Knowledge knowledge = trained_knowledge(data);
  TeacherSettings one_epoch = small_settings();
  one_epoch.epochs = 1;
  double fresh_loss = 0;
  double warm_loss = 0;
  NeuMf fresh(one_epoch);
  fresh.fit(data, nullptr, [&](int, int, double loss) { fresh_loss = loss; });
  NeuMf warm(one_epoch);
  warm.fit(data, &knowledge, [&](int, int, double loss) { warm_loss = loss; });
  CHECK(warm_loss < 0.8 * fresh_loss);
}

TEST_CASE("NeuMF warm start rejects state that does not fit the network", "[neumf]") {
  const TrainingSet data = two_blocks();
  const Knowledge good = trained_knowledge(data);
  NeuMf teacher(small_settings());

  SECTION("a parameter with the wrong shape") {
    Knowledge bad = good;
    bad.teacher_state["neumf/mlp0.weight"] = RowMatrixXf::Zero(3, 5);
    CHECK_THROWS_AS(teacher.fit(data, &bad, {}), InputError);
    CHECK_THROWS_WITH(teacher.fit(data, &bad, {}),
                      Catch::Contains("\"neumf/mlp0.weight\" is [3, 5], expected [8, 16]"));
  }
  SECTION("a missing parameter") {
    Knowledge bad = good;
    bad.teacher_state.erase("neumf/out.bias");
    CHECK_THROWS_WITH(teacher.fit(data, &bad, {}), Catch::Contains("no \"neumf/out.bias\""));
  }
  SECTION("a parameter the network does not have") {
    Knowledge bad = good;
    bad.teacher_state["neumf/mlp2.weight"] = RowMatrixXf::Zero(2, 4);
    CHECK_THROWS_WITH(teacher.fit(data, &bad, {}), Catch::Contains("\"neumf/mlp2.weight\""));
  }
  SECTION("Adam's state with a wrong shape, a missing step or a fractional one") {
    Knowledge bad = good;
    bad.teacher_state["neumf/adam/out.weight.exp_avg_sq"] = RowMatrixXf::Zero(1, 2);
    CHECK_THROWS_WITH(
        teacher.fit(data, &bad, {}),
        Catch::Contains("\"neumf/adam/out.weight.exp_avg_sq\" is [1, 2], expected [1, 12]"));
    bad = good;
    bad.teacher_state.erase("neumf/adam/step");
    CHECK_THROWS_WITH(teacher.fit(data, &bad, {}), Catch::Contains("no \"neumf/adam/step\""));
    bad = good;
    bad.teacher_state["neumf/adam/step"](0, 0) = 2.5f;
    CHECK_THROWS_AS(teacher.fit(data, &bad, {}), InputError);
  }
  SECTION("a non-finite value") {
    Knowledge bad = good;
    bad.teacher_state["neumf/gmf_item.weight"](3, 1) = NAN;
    CHECK_THROWS_WITH(teacher.fit(data, &bad, {}), Catch::Contains("non-finite"));
  }
  SECTION("another embedding size") {
    TeacherSettings wider = small_settings();
    wider.dim = 16;
    NeuMf wide(wider);
    CHECK_THROWS_AS(wide.fit(data, &good, {}), InputError);
  }
  SECTION("knowledge from another teacher") {
    Knowledge other;
    other.user_embeddings = good.user_embeddings;
    other.item_embeddings = good.item_embeddings;
    CHECK_THROWS_AS(teacher.fit(data, &other, {}), InputError);
  }
  // A failed warm start leaves the teacher unfitted.
  CHECK_THROWS_AS(exported(teacher), std::logic_error);
}

TEST_CASE("NeuMF rejects bad settings and handles users who met every item", "[neumf]") {
  TeacherSettings settings = small_settings();
  settings.dim = 1;
  CHECK_THROWS_AS(NeuMf(settings), InputError);
  settings = small_settings();
  settings.threads = 0;
  CHECK_THROWS_AS(NeuMf(settings), InputError);

  NeuMf unfitted(small_settings());
  RowMatrixXf scores;
  CHECK_THROWS_AS(unfitted.score({0}, scores), std::logic_error);

  // User 0 has met all 3 items: no negatives can be drawn for it.
  TrainingSet data;
  data.n_users = 2;
  data.n_items = 3;
  for (int32_t item = 0; item < 3; ++item) data.interactions.push_back(0, item, 1.0f, item);
  data.interactions.push_back(1, 0, 1.0f, 3);
  data.seen = UserItems({&data.interactions}, data.n_users);
  settings = small_settings();
  settings.epochs = 2;
  NeuMf teacher(settings);
  teacher.fit(data, nullptr, {});
  teacher.score({0, 1}, scores);
  CHECK(scores.allFinite());
}

}  // namespace
}  // namespace trd
