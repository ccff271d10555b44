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

// The training loop's inner work without the valid evaluation: user-steps
// per second with `updates_per_step` learner updates per env step.
double learner_user_steps_per_second(Agent& agent, VecRecEnv& env, int updates_per_step,
                                     int64_t env_steps, int repeat) {
  std::vector<int32_t> actions;
  ObservationBatch before;
  const double seconds = median_seconds(repeat, [&] {
    for (int64_t s = 0; s < env_steps; ++s) {
      before = env.observations();
      agent.act(before, /*explore=*/true, actions);
      const StepBatch& step = env.step(actions.data());
      agent.observe(
          {&before, actions.data(), &step, &env.observations(), &env.final_observations()});
      for (int u = 0; u < updates_per_step; ++u) agent.update();
    }
  });
  return static_cast<double>(env_steps * env.batch()) / seconds;
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
      const double update_seconds = median_seconds(repeat, [&] {
        for (int u = 0; u < kUpdates; ++u) agent->update();
      });
      const double updates_per_s = kUpdates / update_seconds;
      const double user_steps_per_s =
          learner_user_steps_per_second(*agent, env, /*updates_per_step=*/2, kEnvSteps, repeat);
      report["runs"].push_back({{"agent", name},
                                {"threads", threads},
                                {"updates_per_s", updates_per_s},
                                {"user_steps_per_s", user_steps_per_s}});
      std::printf(
          "  %-4s threads %d: %7.1f updates/s; env + learner (2 updates per step of 64 "
          "users) %8.0f user-steps/s\n",
          name, threads, updates_per_s, user_steps_per_s);
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
