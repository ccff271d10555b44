// `trd bench agent`: the learner's speed. Built into trd-torch only.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "agents/dqn.hpp"
#include "agents/registry.hpp"
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
  double env_share;  ///< of the loop's time spent in env.step
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
      env_seconds += now_seconds() - step_start;
      agent.observe(
          {&before, actions.data(), &step, &env.observations(), &env.final_observations()});
      for (int u = 0; u < updates_per_step; ++u) agent.update();
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

}  // namespace

int bench_agent(const po::variables_map& values) {
  const int repeat = values["repeat"].as<int>();
  constexpr int kUpdates = 200;
  constexpr int64_t kEnvSteps = 100;
  nlohmann::json report = {
      {"suite", "agent"}, {"machine", machine_description()}, {"repeat", repeat}};
  PrepareSettings prepare;
  const auto ml100k = find_in_data_dirs("ml-100k/u.data", values["data-dir"].as<std::string>());
  if (ml100k) {
    prepare.dataset = "ml-100k";
    prepare.input = *ml100k;
  } else {
    prepare.synthetic.n_interactions = 100000;
  }
  const Dataset dataset = prepare_dataset(prepare);
  const TrainingSet base = training_set(dataset, kRl);
  BprMf bprmf{TeacherSettings{}};
  bprmf.fit(base, nullptr, {});
  Knowledge knowledge = distill(bprmf, "bprmf", dataset, kRl, base, 100, nullptr);
  bprmf.export_state(knowledge);
  const EnvData data = make_env_data(dataset, knowledge, kRl);
  EnvSettings env_settings;
  env_settings.n_actions = kStudentWindow;
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
      const double update_seconds = median_seconds(repeat, [&] {
        for (int u = 0; u < kUpdates; ++u) agent->update();
      });
      const double updates_per_s = kUpdates / update_seconds;
      const LoopFigures loop =
          learner_loop(*agent, env, /*updates_per_step=*/2, kEnvSteps, repeat);
      nlohmann::json run = {{"agent", name},
                            {"threads", threads},
                            {"updates_per_s", updates_per_s},
                            {"user_steps_per_s", loop.user_steps_per_s},
                            {"env_share", loop.env_share}};
      std::printf(
          "  %-4s threads %d: %7.1f updates/s; env + learner (2 updates per step of 64 "
          "users) %8.0f user-steps/s, %.0f%% of it in the env\n",
          name, threads, updates_per_s, loop.user_steps_per_s, 100 * loop.env_share);
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
        const std::vector<MatmulShape> shapes = dqn->update_products();
        double flops = 0;
        for (const MatmulShape& shape : shapes) flops += shape.flops();
        const double achieved = flops * updates_per_s;
        const double blas = blas_flops_per_s(shapes);
        run["flops_per_update"] = flops;
        run["gflops_per_s"] = achieved / 1e9;
        run["blas_gflops_per_s"] = blas / 1e9;
        std::printf("        %.1f MFLOP per update (matrix products): %.2f GFLOP/s, BLAS on "
                    "the same shapes %.2f GFLOP/s (%.0f%%)\n        time per update:",
                    flops / 1e6, achieved / 1e9, blas / 1e9, 100 * achieved / blas);
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
