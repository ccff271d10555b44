// One rank of a data-parallel group that trains DQN on the planted env;
// tests/cli/test_replicas.py starts several on loopback. Prints one JSON
// line: the rank, the greedy student's precision@1, its Q-values on every
// user's first observation as hex floats (bit-identical ranks print the same
// text) and how many updates --verify-replicas checked. A DIE_AFTER_EPOCHS
// argument makes this rank exit abruptly after that epoch, as a crash would.
//
// Usage: trd_replica_worker RANK WORLD_SIZE RENDEZVOUS TIMEOUT_S [DIE_AFTER_EPOCHS]
// Exit codes as trd's: 2 bad input (a taken rank, another group size), 1 a
// lost group.

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "agents/replica_group.hpp"
#include "data/error.hpp"
#include "tests/planted_env.hpp"
#include "torch_support/thread_scope.hpp"

namespace {

std::string hex_floats(const torch::Tensor& values) {
  const torch::Tensor dense = values.contiguous();
  std::string text;
  char number[40];
  for (int64_t i = 0; i < dense.numel(); ++i) {
    std::snprintf(number, sizeof number, "%a ", static_cast<double>(dense.data_ptr<float>()[i]));
    text += number;
  }
  return text;
}

int run(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: trd_replica_worker RANK WORLD_SIZE RENDEZVOUS TIMEOUT_S "
                 "[DIE_AFTER_EPOCHS]\n";
    return 2;
  }
  using namespace trd;
  ReplicaSettings replicas;
  replicas.rank = std::atoi(argv[1]);
  replicas.world_size = std::atoi(argv[2]);
  replicas.rendezvous = argv[3];
  replicas.timeout_s = std::atoi(argv[4]);
  replicas.verify = true;
  const int die_after = argc > 5 ? std::atoi(argv[5]) : 0;

  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  DqnAgent agent(env.data, spaces, toy_dqn(7));
  ReplicaGroup group(replicas, {{"worker", "planted"}});
  agent.join(group);
  TrainSettings training = toy_training(60);
  training.replicas = &group;
  const TrainResult result = train_agent(agent, env.data, env.settings, env.split(), training, "",
                                         [&](const EpochRecord& record) {
                                           if (record.epoch == die_after) std::_Exit(3);
                                         });

  VecSettings every_user;
  every_user.batch = env.data.n_users;
  every_user.order = UserOrder::kSequential;
  VecRecEnv first(env.data, env.settings, every_user);
  const torch::Tensor q = agent.q_values(first.reset(0));
  const double precision =
      judge(refine_lists(agent, env.data, env.settings, Feedback::kNone, 64).items, env.split(),
            {1})
          .value(Metric::kPrecision, 1);
  std::cout << "{\"rank\": " << replicas.rank << ", \"precision_at_1\": " << precision
            << ", \"best_valid_ndcg\": " << result.best_valid_ndcg << ", \"q\": \"" << hex_floats(q)
            << "\", \"verified_updates\": " << group.verified_updates() << "}" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const trd::InputError& error) {
    std::cerr << "trd_replica_worker: error: " << error.what() << "\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "trd_replica_worker: error: " << error.what() << "\n";
    return 1;
  }
}
