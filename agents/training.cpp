#include "agents/training.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <utility>

#include "agents/replica_group.hpp"
#include "agents/task_worker.hpp"
#include "data/error.hpp"
#include "data/random.hpp"

namespace trd {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double named(const std::vector<NamedValue>& values, const std::string& name, double fallback) {
  for (const auto& value : values) {
    if (value.name == name) return value.value;
  }
  return fallback;
}

// An epoch's record while its valid lists are judged (or wait to be: the
// split may still be in the making), from `frozen` (a copy of the agent at
// the epoch's end) or, without one, from the agent itself.
struct JudgedEpoch {
  EpochRecord record;  // without its valid figures yet
  std::unique_ptr<Agent> frozen;
  std::future<Evaluation> evaluation;  // none yet while waiting; ends before `frozen`
  bool done() const {
    return evaluation.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }
};

}  // namespace

Evaluation judge(const RowMatrixXi& lists, const JudgedSplit& split, const std::vector<int>& ks) {
  return evaluate(lists, *split.held_out, *split.seen, split.candidates, ks);
}

namespace {

// Users one judging of the valid lists plays in lockstep.
constexpr int kJudgedUsers = 256;

ListPolicy greedy_policy(Agent& agent) {
  return [&agent](const ObservationBatch& observations, std::vector<int32_t>& actions,
                  std::vector<float>& scores) {
    // Greedy act() picks the best scored slot, so one forward serves both
    // where the agent has scores.
    if (agent.score_slots(observations, scores)) {
      best_scored_slots(observations, scores, actions);
    } else {
      scores.clear();
      agent.act(observations, /*explore=*/false, actions);
    }
  };
}

}  // namespace

RerankedLists refine_lists(Agent& agent, const EnvData& data, EnvSettings env_settings,
                           Feedback feedback, int batch_users) {
  env_settings.feedback = feedback;
  return rerank_lists(data, env_settings, batch_users, greedy_policy(agent));
}

void check_train_settings(const TrainSettings& settings) {
  if (settings.epochs < 1 || settings.batch_users < 1 || settings.updates_per_step < 0 ||
      settings.patience < 0) {
    throw InputError("training needs --epochs >= 1, --batch-users >= 1, --updates-per-step "
                     ">= 0 and --patience >= 0 (got " + std::to_string(settings.epochs) + ", " +
                     std::to_string(settings.batch_users) + ", " +
                     std::to_string(settings.updates_per_step) + ", " +
                     std::to_string(settings.patience) + ")");
  }
}

TrainResult train_agent(Agent& agent, const EnvData& train, const EnvSettings& env_settings,
                        const JudgedSplit& valid, const TrainSettings& settings,
                        const std::string& best_checkpoint,
                        const std::function<void(const EpochRecord&)>& on_epoch,
                        const std::function<void(double done, int epoch)>& on_progress) {
  const ValidSource ready_now{[] { return true; }, [&]() -> const JudgedSplit& { return valid; }};
  return train_agent(agent, train, env_settings, ready_now, settings, best_checkpoint, on_epoch,
                     on_progress);
}

TrainResult train_agent(Agent& agent, const EnvData& train, const EnvSettings& env_settings,
                        const ValidSource& valid_source, const TrainSettings& settings,
                        const std::string& best_checkpoint,
                        const std::function<void(const EpochRecord&)>& on_epoch,
                        const std::function<void(double done, int epoch)>& on_progress) {
  check_train_settings(settings);
  const auto start = std::chrono::steady_clock::now();
  const int world_size = settings.replicas != nullptr ? settings.replicas->world_size() : 1;
  const int rank = settings.replicas != nullptr ? settings.replicas->rank() : 0;
  VecSettings vec;
  vec.batch = settings.batch_users;
  vec.order = UserOrder::kRandom;
  int64_t training_users = 0;
  if (world_size > 1) {
    const std::vector<int32_t> users = playable_users(train);
    vec.users = user_shard(users, rank, world_size);
    if (static_cast<int64_t>(users.size()) < world_size) {  // on every rank alike
      throw InputError(std::to_string(users.size()) + " training users cannot be shared out "
                       "over --world-size " + std::to_string(world_size));
    }
    // Every rank plays as many steps as the largest share needs, so that
    // all of them reach each gradient exchange.
    training_users = (static_cast<int64_t>(users.size()) + world_size - 1) / world_size;
  }
  VecRecEnv env(train, env_settings, vec);  // InputError when no user has a rewarded item
  if (world_size == 1) training_users = static_cast<int64_t>(env.users().size());
  const int64_t steps_per_epoch =
      (training_users * env_settings.episode_length + settings.batch_users - 1) /
      settings.batch_users;
  const std::vector<int> ks = {1, settings.selection_k};

  TrainResult result;
  const JudgedSplit* valid = nullptr;
  // Judging an epoch takes a tenth of it: where the agent has a frozen copy
  // (and the best state is saved, so that the agent ends on it), the copy is
  // judged on another thread while training goes on, and copies wait there
  // for a valid split still in the making. Epochs are concluded in order, so
  // the records, the saved states and the stopping point stay those of
  // judging each epoch in turn.
  // Every epoch re-ranks the same valid users: one env, kept between the
  // judgings (which may overlap, so one at a time), keeps their pair terms.
  std::mutex valid_reranker_mutex;
  std::optional<ListReranker> valid_reranker;
  std::deque<JudgedEpoch> judging;  // after the reranker: ends its judgings first
  // Records a judged epoch; true when patience stops training there.
  auto conclude = [&](JudgedEpoch& epoch) {
    EpochRecord& record = epoch.record;
    const Evaluation evaluation = epoch.evaluation.get();
    record.valid_ndcg = evaluation.value(Metric::kNdcg, settings.selection_k);
    record.valid_precision1 = evaluation.value(Metric::kPrecision, 1);
    record.best = result.best_epoch == 0 || record.valid_ndcg > result.best_valid_ndcg;
    if (record.best) {
      result.best_epoch = record.epoch;
      result.best_valid_ndcg = record.valid_ndcg;
      if (!best_checkpoint.empty()) (epoch.frozen ? *epoch.frozen : agent).save(best_checkpoint);
    }
    record.seconds = seconds_since(start);
    // Every rank judges the same weights on the same lists, so all stop together.
    result.stopped_early = settings.patience > 0 && record.epoch < settings.epochs &&
                           record.epoch - result.best_epoch >= settings.patience;
    record.last = result.stopped_early || record.epoch == settings.epochs;
    result.epochs.push_back(record);
    if (on_epoch) on_epoch(record);
    return result.stopped_early;
  };
  // Starts judging `epoch`, on its frozen copy's own thread where it has one.
  auto start_judging = [&](JudgedEpoch& epoch) {
    if (valid == nullptr) {
      valid = &valid_source.fetch();
      result.teacher_valid_ndcg =
          judge(valid->data->lists, *valid, ks).value(Metric::kNdcg, settings.selection_k);
    }
    Agent& judged_agent = epoch.frozen ? *epoch.frozen : agent;
    auto judge_lists = [&judged_agent, valid, &env_settings, &settings, &ks,
                        &valid_reranker_mutex, &valid_reranker] {
      const std::lock_guard<std::mutex> lock(valid_reranker_mutex);
      if (!valid_reranker) {
        EnvSettings judged_settings = env_settings;
        judged_settings.feedback = settings.eval_feedback;
        valid_reranker.emplace(*valid->data, judged_settings, kJudgedUsers);
      }
      return judge(valid_reranker->rerank(greedy_policy(judged_agent)).items, *valid, ks);
    };
    epoch.evaluation =
        std::async(epoch.frozen ? std::launch::async : std::launch::deferred, judge_lists);
  };
  // Starts the waiting epochs once the valid split is ready (or `fetch` it
  // now), then concludes, in order, the judged epochs that are done (or
  // `wait` for every started one). True when patience stops training.
  auto conclude_judged = [&](bool wait, bool fetch) {
    for (JudgedEpoch& epoch : judging) {
      if (epoch.evaluation.valid()) continue;
      if (!fetch && valid == nullptr && !valid_source.ready()) break;
      start_judging(epoch);
    }
    while (!judging.empty() && judging.front().evaluation.valid() &&
           (wait || judging.front().done())) {
      const bool stop = conclude(judging.front());
      judging.pop_front();
      if (stop) {
        judging.clear();
        return true;
      }
    }
    return false;
  };
  ObservationBatch before;
  std::vector<int32_t> actions;
  std::vector<double> returns(settings.batch_users, 0.0);
  env.reset(rank_seed(settings.seed, rank));
  const auto play_step = [&] {
    before = env.observations();
    agent.act(before, /*explore=*/true, actions);
    env.step(actions.data());
    // The env computes features on read: read them here, on the actor's
    // thread where there is one, not in observe() on the learner's.
    env.observations();
    env.final_observations();
  };
  // Where the agent can act beside its updates, each step after the first
  // is played on a second thread while the step before it learns, on the
  // weights as they were before those updates (one step behind, and the
  // same for a seed on any machine). A group's ranks keep in lockstep.
  const bool overlap = settings.replicas == nullptr && settings.updates_per_step > 0 &&
                       agent.acts_beside_updates();
  struct ActorRelease {
    Agent& agent;
    ~ActorRelease() { agent.release_actor(); }
  } release_actor_at_end{agent};
  std::optional<TaskWorker> actor;  // after what it plays on, so destroyed before it
  if (overlap) actor.emplace();
  bool played_ahead = false;
  for (int epoch = 1; epoch <= settings.epochs && !result.stopped_early; ++epoch) {
    double return_sum = 0, loss_sum = 0, exploration = 0;
    int64_t episodes = 0, losses = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      if (played_ahead) actor->wait();
      if (conclude_judged(/*wait=*/false, /*fetch=*/false)) break;
      if (!played_ahead) play_step();
      played_ahead = false;
      const StepBatch& step = env.step_batch();
      agent.observe(
          {&before, actions.data(), &step, &env.observations(), &env.final_observations()});
      for (int row = 0; row < env.batch(); ++row) {
        returns[row] += step.reward[row];
        if (step.terminated[row] != 0 || step.truncated[row] != 0) {
          return_sum += returns[row];
          returns[row] = 0;
          ++episodes;
        }
      }
      if (overlap && !(epoch == settings.epochs && s + 1 == steps_per_epoch)) {
        agent.sync_actor();
        actor->start(play_step);
        played_ahead = true;
      }
      for (const std::vector<NamedValue>& values : agent.updates(settings.updates_per_step)) {
        if (values.empty()) continue;
        const double loss = named(values, "loss", 0.0);
        if (!std::isfinite(loss)) {
          throw InputError("training diverged in epoch " + std::to_string(epoch) + " (loss " +
                           std::to_string(loss) + "): lower the learning rate or gamma");
        }
        loss_sum += loss;
        exploration = named(values, "exploration", exploration);
        ++losses;
      }
      if (on_progress) {
        on_progress(static_cast<double>((epoch - 1) * steps_per_epoch + s + 1) /
                        static_cast<double>(settings.epochs * steps_per_epoch),
                    epoch);
      }
    }
    if (overlap) {
      actor->wait();
      // An epoch judged in turn through act() is judged on its last weights.
      agent.sync_actor();
    }
    conclude_judged(/*wait=*/true, /*fetch=*/false);
    if (result.stopped_early) break;
    if (settings.replicas != nullptr) {
      const std::vector<double> sums = settings.replicas->sum(
          {return_sum, static_cast<double>(episodes), loss_sum, static_cast<double>(losses)});
      return_sum = sums[0];
      episodes = static_cast<int64_t>(sums[1]);
      loss_sum = sums[2];
      losses = static_cast<int64_t>(sums[3]);
    }
    JudgedEpoch& judged = judging.emplace_back();
    judged.record.epoch = epoch;
    judged.record.mean_return = episodes > 0 ? return_sum / static_cast<double>(episodes) : 0.0;
    judged.record.loss = losses > 0 ? loss_sum / static_cast<double>(losses) : 0.0;
    judged.record.exploration = exploration;
    // A rank of a group stays in step with the others: it judges in turn.
    if (settings.replicas == nullptr && !best_checkpoint.empty()) {
      judged.frozen = agent.frozen_copy();
    }
    conclude_judged(/*wait=*/judged.frozen == nullptr, /*fetch=*/judged.frozen == nullptr);
  }
  conclude_judged(/*wait=*/true, /*fetch=*/true);
  if (!best_checkpoint.empty()) agent.load(best_checkpoint);
  return result;
}

}  // namespace trd
