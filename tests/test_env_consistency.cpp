// The environment against the evaluation module on real data: the teacher
// policy (always slot 0) must replay the teacher's list exactly.

#include <catch2/catch.hpp>
#include <vector>

#include "data/loaders.hpp"
#include "data/metrics.hpp"
#include "env/rec_env.hpp"
#include "teachers/mostpop.hpp"
#include "tests/shared_data.hpp"

namespace trd {
namespace {

TEST_CASE("ML-100K: the teacher policy through VecRecEnv reproduces the teacher's ranking",
          "[env][ml-100k]") {
  const std::optional<Dataset> ml100k = testing::ml100k();
  if (!ml100k) return;
  const Dataset& dataset = *ml100k;
  const TrainingSet data = training_set(dataset, kTest);
  MostPop mostpop;
  mostpop.fit(data, nullptr, {});
  const Knowledge knowledge = distill(mostpop, "mostpop", dataset, kTest, data, 100, nullptr);

  constexpr int kDepth = 20;
  EnvSettings settings;
  settings.episode_length = kDepth;
  const EnvData env_data = make_env_data(dataset, knowledge, kTest);
  VecSettings vec;
  vec.batch = 64;
  vec.order = UserOrder::kSequential;
  VecRecEnv env(env_data, settings, vec);
  env.reset(/*seed=*/0);
  RowMatrixXi replayed = RowMatrixXi::Constant(dataset.n_users(), kDepth, -1);
  std::vector<int> position(dataset.n_users(), 0);
  const std::vector<int32_t> teacher_policy(vec.batch, 0);
  int64_t episodes = 0;
  while (!env.all_done()) {
    const std::vector<int32_t> users = env.observations().user;
    const std::vector<int8_t> active = env.observations().active;
    const StepBatch& step = env.step(teacher_policy.data());
    for (int row = 0; row < vec.batch; ++row) {
      if (!active[row]) continue;
      replayed(users[row], position[users[row]]++) = step.item[row];
      episodes += step.terminated[row] || step.truncated[row];
    }
  }
  CHECK(episodes == dataset.n_users());  // every user holds test items under the per-user split
  CHECK(replayed == knowledge.ranking_items.leftCols(kDepth));

  const UserItems held_out = SplitUsers(dataset, kTest).held_out;
  const std::vector<int> ks = {1, 5, 10, 20};
  const Evaluation from_env = evaluate(replayed, held_out, data.seen, nullptr, ks);
  const Evaluation from_lists = evaluate(knowledge.ranking_items, held_out, data.seen, nullptr, ks);
  // Same numbers to the last digit, not just approximately.
  CHECK(from_env.mean == from_lists.mean);
  CHECK(from_env.value(Metric::kNdcg, 10) == Approx(0.1189).margin(0.001));
}

}  // namespace
}  // namespace trd
