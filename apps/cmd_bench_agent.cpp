// `trd bench agent`: the learner's speed. Built into trd-torch only.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "agents/dqn.hpp"
#include "agents/registry.hpp"
#include "agents/replica_group.hpp"
#include "apps/agent_options.hpp"
#include "apps/bench.hpp"
#include "data/prepare.hpp"
#include "teachers/bprmf.hpp"
#include "torch_support/thread_scope.hpp"

namespace trd::cli {
namespace {

// Fills the agent's replay by exploring until its first update returns
// figures, so the timed updates all learn.
void warm_up(Agent& agent, VecRecEnv& env) {
  std::vector<int32_t> actions;
  ObservationBatch before;
  env.reset(0);
  while (true) {
    before = env.observations();
    agent.act(before, /*explore=*/true, actions);
    const StepBatch& step = env.step(actions.data());
    agent.observe({&before, actions.data(), &step, &env.observations(), &env.final_observations()});
    if (!agent.update().empty()) return;
  }
}

struct LoopFigures {
  double user_steps_per_s;
  double env_share;  ///< of the loop's time spent in env.step and the features it computes
};

// The training loop's inner work without the valid evaluation: user-steps
// per second with `updates_per_step` learner updates per env step.
LoopFigures learner_loop(Agent& agent, VecRecEnv& env, int updates_per_step, int64_t env_steps,
                         int repeat) {
  std::vector<int32_t> actions;
  ObservationBatch before;
  double env_seconds = 0;
  double total_seconds = 0;
  const double seconds = median_seconds(repeat, [&] {
    const double start = now_seconds();
    for (int64_t s = 0; s < env_steps; ++s) {
      before = env.observations();
      agent.act(before, /*explore=*/true, actions);
      const double step_start = now_seconds();
      const StepBatch& step = env.step(actions.data());
      // The env computes the features on read: they are its work too.
      env.observations();
      env.final_observations();
      env_seconds += now_seconds() - step_start;
      agent.observe(
          {&before, actions.data(), &step, &env.observations(), &env.final_observations()});
      agent.updates(updates_per_step);
    }
    total_seconds += now_seconds() - start;
  });
  return {static_cast<double>(env_steps * env.batch()) / seconds, env_seconds / total_seconds};
}

// The machine's BLAS rate for `shapes` (torch::mm on the current threads,
// each product repeated for at least 20 ms): FLOPs over seconds.
double blas_flops_per_s(const std::vector<MatmulShape>& shapes) {
  double flops = 0;
  double seconds = 0;
  for (const MatmulShape& shape : shapes) {
    const torch::Tensor a = torch::rand({shape.m, shape.k});
    const torch::Tensor b = torch::rand({shape.k, shape.n});
    torch::Tensor c = torch::empty({shape.m, shape.n});
    torch::mm_out(c, a, b);  // warm
    int reps = 0;
    const double start = now_seconds();
    double elapsed = 0;
    while (elapsed < 0.02) {
      torch::mm_out(c, a, b);
      ++reps;
      elapsed = now_seconds() - start;
    }
    flops += shape.flops();
    seconds += elapsed / reps * shape.count;
  }
  return flops / seconds;
}

constexpr int kUpdates = 200;
const int kUpdatesPerStep = TrainSettings{}.updates_per_step;

// kUpdates updates in the training loop's runs of kUpdatesPerStep: where
// the agent readies an update's minibatch while the one before it learns
// (DQN), it does so here as in training.
void time_updates(Agent& agent) {
  const int per_step = std::max(1, kUpdatesPerStep);
  for (int done = 0; done < kUpdates; done += per_step) {
    agent.updates(std::min(per_step, kUpdates - done));
  }
}

// The env the student trains on: ML-100K (or 100,000 synthetic
// interactions) with BPRMF's rl-stage lists.
struct BenchInputs {
  Dataset dataset;
  EnvData data;
  std::optional<std::string> ml100k;
};

BenchInputs bench_inputs(const po::variables_map& values) {
  BenchInputs inputs;
  PrepareSettings prepare;
  inputs.ml100k = find_in_data_dirs("ml-100k/u.data", values["data-dir"].as<std::string>());
  if (inputs.ml100k) {
    prepare.dataset = "ml-100k";
    prepare.input = *inputs.ml100k;
  } else {
    prepare.synthetic.n_interactions = 100000;
  }
  inputs.dataset = prepare_dataset(prepare);
  const TrainingSet base = training_set(inputs.dataset, kRl);
  BprMf bprmf{TeacherSettings{}};
  bprmf.fit(base, nullptr, {});
  Knowledge knowledge = distill(bprmf, "bprmf", inputs.dataset, kRl, base, 100, nullptr);
  bprmf.export_state(knowledge);
  inputs.data = make_env_data(inputs.dataset, knowledge, kRl);
  return inputs;
}

EnvSettings bench_env_settings() {
  EnvSettings settings;
  settings.n_actions = kStudentWindow;
  return settings;
}

// One rank of a data-parallel group: its share of the users, DQN with
// averaged gradients; prints {"rank", "updates_per_s"} as JSON.
int bench_replica(const po::variables_map& values) {
  ReplicaSettings replicas;
  replicas.world_size = values["world-size"].as<int>();
  replicas.rank = values["rank"].as<int>();
  replicas.rendezvous = values["rendezvous"].as<std::string>();
  replicas.timeout_s = 60;
  check_replica_settings(replicas);
  const BenchInputs inputs = bench_inputs(values);
  const ThreadScope scope(1);
  VecSettings vec;
  vec.users = user_shard(playable_users(inputs.data), replicas.rank, replicas.world_size);
  VecRecEnv env(inputs.data, bench_env_settings(), vec);
  DqnAgent agent(inputs.data, env.spaces(), DqnSettings{});
  ReplicaGroup group(replicas, {{"bench", "agent"}, {"data_dir", values["data-dir"].as<std::string>()}});
  agent.join(group);
  warm_up(agent, env);
  const double seconds = median_seconds(values["repeat"].as<int>(), [&] { time_updates(agent); });
  print_json({{"rank", replicas.rank}, {"updates_per_s", kUpdates / seconds}});
  return kExitOk;
}

int free_loopback_port() {
  const int socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (socket_fd < 0 || ::bind(socket_fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("trd bench agent: no free loopback port");
  }
  ::close(socket_fd);
  return ntohs(address.sin_port);
}

// DQN updates/s of a group of `world_size` processes of this binary on
// loopback (one thread each): every rank's rate (they update in lockstep).
std::vector<double> group_updates_per_s(const po::variables_map& values, int world_size) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string scratch =
      (std::filesystem::temp_directory_path() / ("trd-bench-group-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(scratch);
  const std::string rendezvous = "tcp://127.0.0.1:" + std::to_string(free_loopback_port());
  std::string command;
  for (int rank = 0; rank < world_size; ++rank) {
    command += "'" + self + "' bench agent --json --world-size " + std::to_string(world_size) +
               " --rank " + std::to_string(rank) + " --rendezvous " + rendezvous +
               " --repeat " + std::to_string(values["repeat"].as<int>()) + " --data-dir '" +
               values["data-dir"].as<std::string>() + "' > '" + scratch + "/" +
               std::to_string(rank) + "' 2> '" + scratch + "/" + std::to_string(rank) +
               ".err' & ";
  }
  std::system((command + "wait").c_str());
  std::vector<double> rates;
  for (int rank = 0; rank < world_size; ++rank) {
    std::ifstream figures(scratch + "/" + std::to_string(rank));
    std::string line, last;
    while (std::getline(figures, line)) last = line;
    if (last.empty()) {
      std::ifstream errors(scratch + "/" + std::to_string(rank) + ".err");
      std::string error_line, last_error;
      while (std::getline(errors, error_line)) last_error = error_line;
      std::filesystem::remove_all(scratch);
      throw std::runtime_error("trd bench agent: rank " + std::to_string(rank) +
                               " of the loopback group reported nothing: " + last_error);
    }
    rates.push_back(nlohmann::json::parse(last)["updates_per_s"].get<double>());
  }
  std::filesystem::remove_all(scratch);
  return rates;
}

}  // namespace

int bench_agent(const po::variables_map& values) {
  if (values["world-size"].as<int>() > 1 || values["rank"].as<int>() != 0) {
    return bench_replica(values);
  }
  const int repeat = values["repeat"].as<int>();
  constexpr int64_t kEnvSteps = 100;
  nlohmann::json report = {
      {"suite", "agent"}, {"machine", machine_description()}, {"repeat", repeat}};
  const BenchInputs inputs = bench_inputs(values);
  const Dataset& dataset = inputs.dataset;
  const EnvData& data = inputs.data;
  const auto& ml100k = inputs.ml100k;
  const EnvSettings env_settings = bench_env_settings();
  const DqnSettings dqn_defaults;
  report["dataset"] = dataset.provenance.name;
  report["settings"] = {{"n_actions", env_settings.n_actions},
                        {"features", slot_features_text(env_settings.features)},
                        {"hidden", dqn_defaults.hidden},
                        {"batch_size", dqn_defaults.batch_size}};
  std::cout << "trd bench agent: " << dataset.provenance.name << ", BPRMF rl-stage lists, "
            << "trd run's default student (window " << env_settings.n_actions
            << ", slot features " << slot_features_text(env_settings.features) << "; batch "
            << dqn_defaults.batch_size << ", hidden " << dqn_defaults.hidden
            << "), B = 64 users, median of " << repeat << " runs on " << machine_description()
            << "\n";
  for (const char* name : {"dqn", "ddpg"}) {
    for (int threads : {1, 2}) {
      const ThreadScope scope(threads);
      VecSettings vec;
      VecRecEnv env(data, env_settings, vec);
      std::unique_ptr<Agent> agent = agent_registry().make(
          name, data, env.spaces(), agent_registry().default_settings(name), /*seed=*/0);
      warm_up(*agent, env);
      const auto* dqn = dynamic_cast<const DqnAgent*>(agent.get());
      const UpdateProfile before = dqn != nullptr ? dqn->profile() : UpdateProfile{};
      const std::vector<MatmulShape> shapes =
          dqn != nullptr ? dqn->update_products() : std::vector<MatmulShape>{};
      double flops = 0;
      for (const MatmulShape& shape : shapes) flops += shape.flops();
      // The BLAS reference is timed right after each run of updates and the
      // share taken run by run: this host's speed drifts by half within
      // minutes, and a reference timed once, apart, moved the share by as much.
      std::vector<double> update_seconds, blas_rates, blas_shares;
      for (int run = 0; run < repeat; ++run) {
        const double start = now_seconds();
        time_updates(*agent);
        update_seconds.push_back(now_seconds() - start);
        if (shapes.empty()) continue;
        blas_rates.push_back(blas_flops_per_s(shapes));
        blas_shares.push_back(flops * kUpdates / update_seconds.back() / blas_rates.back());
      }
      const double updates_per_s = kUpdates / median(update_seconds);
      const LoopFigures loop = learner_loop(*agent, env, kUpdatesPerStep, kEnvSteps, repeat);
      nlohmann::json run = {{"agent", name},
                            {"threads", threads},
                            {"updates_per_s", updates_per_s},
                            {"user_steps_per_s", loop.user_steps_per_s},
                            {"env_share", loop.env_share}};
      std::printf(
          "  %-4s threads %d: %7.1f updates/s; env + learner (%d updates per step of 64 "
          "users) %8.0f user-steps/s, %.0f%% of it in the env\n",
          name, threads, updates_per_s, kUpdatesPerStep, loop.user_steps_per_s,
          100 * loop.env_share);
      if (dqn != nullptr) {
        // Counted over the timed updates only (the loop's too).
        const UpdateProfile& after = dqn->profile();
        const std::vector<std::pair<const char*, double>> phases = {
            {"sample", after.sample_s - before.sample_s},
            {"convert", after.convert_s - before.convert_s},
            {"targets", after.targets_s - before.targets_s},
            {"forward", after.forward_s - before.forward_s},
            {"backward", after.backward_s - before.backward_s},
            {"optimiser", after.optimiser_s - before.optimiser_s}};
        double total = 0;
        for (const auto& phase : phases) total += phase.second;
        const double achieved = flops * updates_per_s;
        const double blas = median(blas_rates);
        const double share = median(blas_shares);
        run["flops_per_update"] = flops;
        run["gflops_per_s"] = achieved / 1e9;
        run["blas_gflops_per_s"] = blas / 1e9;
        run["blas_share"] = share;
        std::printf("        %.1f MFLOP per update (matrix products): %.2f GFLOP/s, BLAS on "
                    "the same shapes %.2f GFLOP/s; %.0f%% of BLAS (median of the runs' "
                    "shares, each against BLAS timed right after it)\n        time per update:",
                    flops / 1e6, achieved / 1e9, blas / 1e9, 100 * share);
        const double updates = static_cast<double>(after.updates - before.updates);
        for (const auto& [phase, seconds] : phases) {
          run["update_ms"][phase] = 1e3 * seconds / updates;
          std::printf(" %s %.2f ms (%.0f%%)", phase, 1e3 * seconds / updates,
                      100 * seconds / total);
        }
        std::printf("\n");
      }
      report["runs"].push_back(run);
    }
  }
  {
    // Data-parallel: two processes, each its own env and replay; every
    // update averages two minibatches' gradients over Gloo.
    double one_process = 0;
    for (const auto& run : report["runs"]) {
      if (run["agent"] == "dqn" && run["threads"] == 1) one_process = run["updates_per_s"];
    }
    const std::vector<double> rates = group_updates_per_s(values, 2);
    const double group_rate = *std::min_element(rates.begin(), rates.end());
    report["data_parallel"] = {{"agent", "dqn"},
                               {"processes", 2},
                               {"threads_each", 1},
                               {"updates_per_s", group_rate},
                               {"one_process_updates_per_s", one_process}};
    std::printf("  dqn  2 processes (1 thread each, gradients averaged over Gloo on loopback): "
                "%7.1f updates/s against %.1f for 1 process (%.2fx); each update learns from "
                "2 x %d transitions, so %.0f transitions/s against %.0f\n",
                group_rate, one_process, group_rate / one_process, DqnSettings{}.batch_size,
                2 * DqnSettings{}.batch_size * group_rate,
                DqnSettings{}.batch_size * one_process);
  }
  if (!values["skip-run"].as<bool>()) {
    // The whole pipeline as a user runs it: this binary, `trd run`, start to exit.
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string out =
        (std::filesystem::temp_directory_path() / ("trd-bench-run-" + std::to_string(::getpid())))
            .string();
    std::string command = "'" + self + "' run --out '" + out + "' >/dev/null 2>&1";
    if (ml100k)
      command = "'" + self + "' run --dataset ml-100k --input '" + *ml100k + "' --out '" + out +
                "' >/dev/null 2>&1";
    bool failed = false;
    const double seconds =
        median_seconds(repeat, [&] { failed |= std::system(command.c_str()) != 0; });
    std::filesystem::remove_all(out);
    if (failed) throw std::runtime_error("trd bench agent: trd run failed");
    report["trd_run_s"] = seconds;
    std::printf(
        "  trd run end to end (data, BPRMF x 3 stages, DQN %d epochs, report), 1 thread: "
        "%.1f s\n",
        TrainSettings{}.epochs, seconds);
  }
  if (values["json"].as<bool>()) print_json(report);
  return kExitOk;
}

}  // namespace trd::cli
