#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "apps/bench.hpp"
#include "apps/cli.hpp"
#include "apps/commands.hpp"
#include "data/error.hpp"
#include "data/metrics.hpp"
#include "data/prepare.hpp"
#include "env/policies.hpp"
#include "env/rec_env.hpp"
#include "teachers/bprmf.hpp"
#include "teachers/mostpop.hpp"

namespace trd::cli {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double median_seconds(int repeat, const std::function<void()>& work) {
  std::vector<double> seconds;
  for (int run = 0; run < repeat; ++run) {
    const double start = now_seconds();
    work();
    seconds.push_back(now_seconds() - start);
  }
  return median(seconds);
}

namespace {

// Times prepare (load or generate, filter, split) and write, `repeat` times.
nlohmann::json time_pipeline(const PrepareSettings& settings, int repeat,
                             const std::filesystem::path& scratch) {
  std::map<std::string, std::vector<double>> seconds;
  std::size_t interactions = 0;
  for (int run = 0; run < repeat; ++run) {
    const double start = now_seconds();
    const Dataset dataset = prepare_dataset(settings);
    const double prepared = now_seconds();
    write_dataset(dataset, (scratch / "dataset.h5").string());
    const double written = now_seconds();
    seconds["prepare"].push_back(prepared - start);
    seconds["write"].push_back(written - prepared);
    seconds["total"].push_back(written - start);
    interactions = dataset.n_interactions();
  }
  nlohmann::json figures = {{"interactions", interactions}};
  for (const auto& [phase, values] : seconds) figures[phase + "_median_s"] = median(values);
  figures["total_min_s"] = *std::min_element(seconds["total"].begin(), seconds["total"].end());
  return figures;
}

void write_u_data(const Interactions& interactions, const std::string& path) {
  std::ofstream out(path);
  const InteractionTable& table = interactions.table;
  for (std::size_t row = 0; row < table.size(); ++row) {
    out << interactions.users.to_string(table.user[row]) << '\t'
        << interactions.items.to_string(table.item[row]) << '\t' << table.rating[row] << '\t'
        << table.timestamp[row] << '\n';
  }
  if (!out.flush()) throw std::runtime_error(path + ": cannot write the benchmark's text file");
}

int bench_data(const po::variables_map& values) {
  const int repeat = values["repeat"].as<int>();
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / ("trd-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(scratch);
  nlohmann::json report = {
      {"suite", "data"}, {"machine", machine_description()}, {"threads", 1}, {"repeat", repeat}};
  std::cout << "trd bench data: median of " << repeat << " runs, one thread, on "
            << machine_description() << "\n";
  auto show = [&](const std::string& name, const nlohmann::json& figures) {
    report[name] = figures;
    std::cout << "  " << name << " (" << figures["interactions"].get<std::size_t>()
              << " interactions): load+split " << figures["prepare_median_s"].get<double>()
              << " s, write " << figures["write_median_s"].get<double>() << " s, total "
              << figures["total_median_s"].get<double>() << " s\n";
  };
  try {
    const std::string data_dir = values["data-dir"].as<std::string>();
    if (auto ml100k = find_in_data_dirs("ml-100k/u.data", data_dir)) {
      PrepareSettings settings;
      settings.dataset = "ml-100k";
      settings.input = *ml100k;
      show("ml-100k", time_pipeline(settings, repeat, scratch));
    } else {
      std::cout << "  ml-100k: skipped, ml-100k/u.data not found in the data folders\n";
      report["ml-100k"] = nullptr;
    }
    PrepareSettings synthetic;
    synthetic.synthetic.n_interactions = values["synthetic-interactions"].as<int64_t>();
    show("synthetic", time_pipeline(synthetic, repeat, scratch));
    // The same interactions as a u.data text file: parsing cost at that scale.
    PrepareSettings text;
    text.dataset = "ml-100k";
    text.input = (scratch / "u.data").string();
    write_u_data(generate_synthetic(synthetic.synthetic), text.input);
    show("synthetic-u.data", time_pipeline(text, repeat, scratch));
  } catch (...) {
    std::filesystem::remove_all(scratch);
    throw;
  }
  std::filesystem::remove_all(scratch);
  if (values["json"].as<bool>()) print_json(report);
  return kExitOk;
}

// BPRMF fits with 1 and 2 threads on `data`; figures keyed by thread count.
nlohmann::json time_bprmf(const TrainingSet& data, int epochs, int repeat) {
  nlohmann::json figures = {{"epochs", epochs}, {"interactions", data.interactions.size()}};
  for (int threads : {1, 2}) {
    TeacherSettings settings;
    settings.epochs = epochs;
    settings.threads = threads;
    const double seconds = median_seconds(repeat, [&] { BprMf(settings).fit(data, nullptr, {}); });
    figures["threads_" + std::to_string(threads) + "_s"] = seconds;
    std::cout << "  bprmf, " << epochs << " epochs on " << data.interactions.size()
              << " interactions, " << threads << " thread" << (threads > 1 ? "s" : "") << ": "
              << seconds << " s\n";
  }
  return figures;
}

int bench_teacher(const po::variables_map& values) {
  const int repeat = values["repeat"].as<int>();
  nlohmann::json report = {
      {"suite", "teacher"}, {"machine", machine_description()}, {"repeat", repeat}};
  std::cout << "trd bench teacher: median of " << repeat << " runs on " << machine_description()
            << "\n";
  if (auto ml100k = find_in_data_dirs("ml-100k/u.data", values["data-dir"].as<std::string>())) {
    PrepareSettings settings;
    settings.dataset = "ml-100k";
    settings.input = *ml100k;
    const Dataset dataset = prepare_dataset(settings);
    const TrainingSet base = training_set(dataset, kRl);
    report["ml-100k"]["bprmf"] = time_bprmf(base, TeacherSettings().epochs, repeat);

    BprMf bprmf{TeacherSettings{}};
    bprmf.fit(base, nullptr, {});
    const UserItems held_out = SplitUsers(dataset, kRl).held_out;
    Knowledge knowledge;
    const double rank = median_seconds(repeat, [&] {
      knowledge = distill(bprmf, "bprmf", dataset, kRl, base, /*list_length=*/100, nullptr);
    });
    const double evaluation = median_seconds(repeat, [&] {
      evaluate(knowledge.ranking_items, held_out, base.seen, nullptr, {1, 5, 10, 20});
    });
    report["ml-100k"]["full_ranking"] = {
        {"users", dataset.n_users()}, {"rank_s", rank}, {"metrics_s", evaluation}};
    std::cout << "  full ranking of " << dataset.n_users() << " users over " << dataset.n_items()
              << " items: score + top-100 " << rank << " s, metrics at 1,5,10,20 " << evaluation
              << " s\n";
  } else {
    std::cout << "  ml-100k: skipped, ml-100k/u.data not found in the data folders\n";
  }
  SyntheticSettings synthetic;
  synthetic.n_interactions = values["synthetic-interactions"].as<int64_t>();
  DatasetProvenance provenance;
  provenance.name = "synthetic";
  const Dataset dataset = make_dataset(generate_synthetic(synthetic), provenance);
  report["synthetic"]["bprmf"] =
      time_bprmf(training_set(dataset, kRl), values["synthetic-epochs"].as<int>(), repeat);
  if (values["json"].as<bool>()) print_json(report);
  return kExitOk;
}

// The policies bench env steps with. Only the last reads the slot features,
// which the env computes on read.
enum class BenchPolicy { kTeacher, kRandom, kRandomReadingFeatures };

const char* policy_name(BenchPolicy policy) {
  switch (policy) {
    case BenchPolicy::kTeacher:
      return "teacher";
    case BenchPolicy::kRandom:
      return "random";
    case BenchPolicy::kRandomReadingFeatures:
      return "random+read";
  }
  return "";
}

// User-steps per second of a policy over `threads` VecRecEnvs of `batch` users
// each (random user order), `user_steps` in all; median of `repeat` runs.
double env_user_steps_per_second(const EnvData& data, const EnvSettings& settings, int batch,
                                 int threads, BenchPolicy policy, int64_t user_steps, int repeat) {
  VecSettings vec;
  vec.batch = batch;
  const int64_t steps_per_thread = std::max<int64_t>(1, user_steps / threads / batch);
  auto worker = [&](int id) {
    VecRecEnv env(data, settings, vec);
    env.reset(/*seed=*/static_cast<uint64_t>(id) * 1000);
    std::vector<int32_t> actions;
    std::mt19937_64 rng(static_cast<uint64_t>(id));
    for (int64_t step = 0; step < steps_per_thread; ++step) {
      switch (policy) {
        case BenchPolicy::kTeacher:
          teacher_policy(env.observations_without_features(), actions);
          break;
        case BenchPolicy::kRandom:
          random_policy(env.observations_without_features(), rng, actions);
          break;
        case BenchPolicy::kRandomReadingFeatures:
          random_policy(env.observations(), rng, actions);
          break;
      }
      env.step(actions.data());
    }
  };
  const double seconds = median_seconds(repeat, [&] {
    std::vector<std::thread> workers;
    for (int id = 1; id < threads; ++id) workers.emplace_back(worker, id);
    worker(0);
    for (std::thread& w : workers) w.join();
  });
  return static_cast<double>(steps_per_thread * threads * batch) / seconds;
}

// Teacher lists from MostPop: the env's speed does not depend on the teacher.
EnvData mostpop_env_data(const Dataset& dataset) {
  const TrainingSet data = training_set(dataset, kRl);
  MostPop mostpop;
  mostpop.fit(data, nullptr, {});
  return make_env_data(dataset, distill(mostpop, "mostpop", dataset, kRl, data, 100, nullptr), kRl);
}

int bench_env(const po::variables_map& values) {
  const int repeat = values["repeat"].as<int>();
  constexpr int64_t kUserSteps = 2000000;
  nlohmann::json report = {
      {"suite", "env"},
      {"machine", machine_description()},
      {"repeat", repeat},
      {"user_steps_per_run", kUserSteps},
      {"settings", {{"n_actions", 20}, {"history_length", 5}, {"episode_length", 10}}}};
  std::cout << "trd bench env: user-steps per second, median of " << repeat << " runs of "
            << kUserSteps << " user-steps, n_actions 20, H 5, K 10, random user order, on "
            << machine_description()
            << "; features: the default slot features, or none (the episode mechanics alone), "
               "computed only for random+read, the random policy reading them every step\n";
  std::vector<std::pair<std::string, Dataset>> datasets;
  if (auto ml100k = find_in_data_dirs("ml-100k/u.data", values["data-dir"].as<std::string>())) {
    PrepareSettings settings;
    settings.dataset = "ml-100k";
    settings.input = *ml100k;
    datasets.emplace_back("ml-100k", prepare_dataset(settings));
  } else {
    std::cout << "  ml-100k: skipped, ml-100k/u.data not found in the data folders\n";
  }
  PrepareSettings synthetic;
  synthetic.synthetic.n_interactions = values["synthetic-interactions"].as<int64_t>();
  datasets.emplace_back("synthetic", prepare_dataset(synthetic));
  for (const auto& [name, dataset] : datasets) {
    const EnvData data = mostpop_env_data(dataset);
    for (const char* features : {"default", "none"}) {
      EnvSettings settings;
      settings.features = parse_slot_features(features, "--features");
      for (BenchPolicy chosen :
           {BenchPolicy::kTeacher, BenchPolicy::kRandom, BenchPolicy::kRandomReadingFeatures}) {
        // Without features, reading them is the random policy again.
        if (settings.features.empty() && chosen == BenchPolicy::kRandomReadingFeatures) continue;
        const char* policy = policy_name(chosen);
        for (int threads : {1, 2}) {
          for (int batch : {1, 64, 1024}) {
            const double rate = env_user_steps_per_second(data, settings, batch, threads, chosen,
                                                          kUserSteps, repeat);
            report["runs"].push_back({{"dataset", name},
                                      {"features", features},
                                      {"policy", policy},
                                      {"threads", threads},
                                      {"batch", batch},
                                      {"user_steps_per_s", rate}});
            std::printf("  %-9s features %-7s %-11s threads %d  B %4d: %6.2f M user-steps/s\n",
                        name.c_str(), features, policy, threads, batch, rate / 1e6);
            // The headline figure per policy: default features, one core,
            // B = 1024, the first dataset.
            if (std::string(features) == "default" && threads == 1 && batch == 1024 &&
                !report.contains(policy)) {
              report[policy] = {{"user_steps_per_s", rate},
                                {"dataset", name},
                                {"features", features},
                                {"batch", batch},
                                {"threads", threads}};
            }
          }
        }
      }
    }
  }
  if (values["json"].as<bool>()) print_json(report);
  return kExitOk;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  po::options_description options("Bench options");
  // clang-format off
  options.add_options()
      ("suite", po::value<std::string>()->required(), "what to measure: data, teacher, env or agent")
      ("repeat", po::value<int>()->default_value(5), "runs per figure (the median is reported)")
      ("data-dir", po::value<std::string>()->default_value(""),
       "folder searched first for ml-100k/u.data")
      ("synthetic-interactions", po::value<int64_t>()->default_value(1000000),
       "size of the synthetic dataset")
      ("synthetic-epochs", po::value<int>()->default_value(5),
       "teacher: BPRMF epochs timed on the synthetic dataset")
      ("skip-run", po::bool_switch(), "agent: do not time trd run end to end")
      ("world-size", po::value<int>()->default_value(1),
       "agent: with more than 1, time only this rank's data-parallel DQN updates (trd bench "
       "agent starts such a group of 2 on loopback itself)")
      ("rank", po::value<int>()->default_value(0), "agent: this process' rank in the group")
      ("rendezvous", po::value<std::string>()->default_value(""),
       "agent: where the group meets, as trd train --rendezvous");
  // clang-format on
  po::positional_options_description positional;
  positional.add("suite", 1);
  const auto values = parse("bench", "SUITE [options]", options, args, positional);
  if (!values) return kExitOk;
  const std::string suite = (*values)["suite"].as<std::string>();
  if ((*values)["repeat"].as<int>() < 1) throw InputError("--repeat must be at least 1");
  if (suite == "data") return bench_data(*values);
  if (suite == "teacher") return bench_teacher(*values);
  if (suite == "env") return bench_env(*values);
  if (suite == "agent") return bench_agent(*values);
  throw InputError("unknown bench suite '" + suite + "' (expected: data, teacher, env, agent)");
}

}  // namespace trd::cli
