#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "apps/protocol_checks.hpp"
#include "apps/cli.hpp"
#include "apps/commands.hpp"
#include "apps/student.hpp"
#include "data/atomic_file.hpp"
#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/knowledge.hpp"
#include "data/metrics.hpp"
#include "data/protocol.hpp"
#include "data/ranking.hpp"
#include "data/report.hpp"

namespace trd::cli {
namespace {

std::string markdown_table(const Evaluation& evaluation,
                           const std::function<std::string(int m, std::size_t j)>& cell) {
  std::ostringstream table;
  table << "| metric |";
  for (int k : evaluation.ks) table << " @" << k << " |";
  table << "\n| --- |";
  for (std::size_t j = 0; j < evaluation.ks.size(); ++j) table << " ---: |";
  table << "\n";
  for (int m = 0; m < kNumMetrics; ++m) {
    table << "| " << kMetricNames[m] << " |";
    for (std::size_t j = 0; j < evaluation.ks.size(); ++j) table << " " << cell(m, j) << " |";
    table << "\n";
  }
  return table.str();
}

}  // namespace

int run_eval(const std::vector<std::string>& args) {
  po::options_description options("Eval options");
  // clang-format off
  options.add_options()
      ("dataset", po::value<std::string>()->required(), "dataset file written by trd data")
      ("knowledge", po::value<std::string>()->required(), "knowledge file whose lists are scored")
      ("split", po::value<std::string>()->default_value("test"),
       "held-out split: rl, valid or test")
      ("candidates", po::value<int>()->default_value(0),
       "rank within the held-out items plus uniform negatives up to N (0: full ranking)")
      ("seed", po::value<uint64_t>()->default_value(0), "seed of the bootstrap")
      ("candidate-seed", po::value<uint64_t>(),
       "seed of the candidate sets (default: --seed); a knowledge file ranked within candidates "
       "must be scored with its own N and seed")
      ("k", po::value<std::string>()->default_value("1,5,10,20"), "cutoffs")
      ("compare", po::value<std::string>()->default_value(""),
       "a second knowledge file: report this minus that with 95% paired bootstrap intervals")
      ("csv", po::value<std::string>()->default_value(""),
       "also write the figures to this CSV file")
      ("agent", po::value<std::string>()->default_value(""),
       "a trd train folder: report its student against the knowledge's teacher and MostPop, and "
       "write eval.md, eval.csv and the student's lists (recommendations.csv, .h5)")
      ("agent-library", po::value<std::vector<std::string>>()->composing()->value_name("PATH.so"),
       "with --agent: the plugin that registers the folder's agent, when it is not built in "
       "(repeatable)")
      ("out", po::value<std::string>()->default_value(""),
       "with --agent: folder for those files (default: the agent's folder)")
      ("eval-feedback", po::value<std::string>()->default_value("none"),
       "with --agent: none builds the student's lists label-free; hits lets each pick after a hit "
       "see it (the original TRD code's protocol: every report then says the lists used "
       "held-out labels)")
      ("threads", po::value<int>()->default_value(1), "with --agent: LibTorch threads");
  // clang-format on
  const auto values =
      parse("eval", "--dataset FILE --knowledge FILE [--agent DIR] [options]", options, args);
  if (!values) return kExitOk;
  const auto& v = *values;
  const std::string dataset_path = v["dataset"].as<std::string>();
  const std::string knowledge_path = v["knowledge"].as<std::string>();
  const std::string compare_path = v["compare"].as<std::string>();
  const std::string csv_path = v["csv"].as<std::string>();
  const Split split = parse_stage(v["split"].as<std::string>(), "--split");
  const std::vector<int> ks = parse_ks(v["k"].as<std::string>());
  const int n_candidates = v["candidates"].as<int>();
  const uint64_t seed = v["seed"].as<uint64_t>();
  const uint64_t candidate_seed =
      v.count("candidate-seed") ? v["candidate-seed"].as<uint64_t>() : seed;
  if (n_candidates < 0) throw InputError("--candidates must be 0 (full ranking) or positive");
  if (n_candidates == 1) {
    std::cerr << "trd eval: warning: --candidates 1 leaves each user only the held-out items "
                 "and one negative at most: HR and precision near 1 say nothing of the teacher\n";
  }
  if (!csv_path.empty()) {
    check_output_file(csv_path, "--csv", {dataset_path, knowledge_path, compare_path});
  }
  const bool agent_libraries_given = v.count("agent-library") > 0;
  if (v["agent"].as<std::string>().empty() && agent_libraries_given) {
    throw InputError("--agent-library loads the agent of an --agent folder; no --agent was given");
  }
  if (!v["agent"].as<std::string>().empty()) {
    if (!compare_path.empty()) throw InputError("--compare and --agent cannot be combined");
    StudentReportInputs inputs;
    if (agent_libraries_given) {
      inputs.agent_libraries = v["agent-library"].as<std::vector<std::string>>();
    }
    inputs.dataset_path = dataset_path;
    inputs.knowledge_path = knowledge_path;
    inputs.agent_dir = v["agent"].as<std::string>();
    inputs.out_dir =
        v["out"].as<std::string>().empty() ? inputs.agent_dir : v["out"].as<std::string>();
    inputs.split = split;
    inputs.candidates = n_candidates;
    inputs.candidate_seed = candidate_seed;
    inputs.eval_feedback = parse_feedback(v["eval-feedback"].as<std::string>(), "--eval-feedback");
    inputs.ks = ks;
    inputs.seed = seed;
    inputs.threads = v["threads"].as<int>();
    check_thread_count(inputs.threads, "--threads");
    check_output_folder(inputs.out_dir, "--out", kStudentReportFiles,
                        {dataset_path, knowledge_path});
    const nlohmann::json figures = report_student(inputs);
    if (!csv_path.empty()) {
      std::ifstream written(inputs.out_dir + "/eval.csv");
      std::ostringstream content;
      content << written.rdbuf();
      write_text_atomically(csv_path, content.str());
    }
    if (v["json"].as<bool>()) print_json(figures);
    return kExitOk;
  }

  const Dataset dataset = read_dataset(dataset_path);
  const Knowledge knowledge = read_knowledge(knowledge_path);
  check_knowledge_matches(knowledge, knowledge_path, dataset, dataset_path);
  check_candidates(knowledge, knowledge_path, n_candidates, candidate_seed);
  if (knowledge.stage != kSplitNames[split]) {
    std::cerr << "trd eval: note: " << knowledge_path << " holds lists for stage "
              << knowledge.stage << ", evaluated here on " << kSplitNames[split] << "\n";
  }
  check_split_not_empty(dataset, dataset_path, split, "no user has a held-out item to score");
  const SplitUsers split_users(dataset, split);
  const UserItems& seen = split_users.seen;
  const UserItems& held_out = split_users.held_out;
  std::optional<UserItems> candidates;
  if (n_candidates > 0) {
    candidates = make_candidates(seen, held_out, dataset.n_items(), n_candidates, candidate_seed);
  }
  const UserItems* restrict_to = candidates ? &*candidates : nullptr;
  auto evaluate_lists = [&](const Knowledge& k, const std::string& path) {
    try {
      return evaluate(k.ranking_items, held_out, seen, restrict_to, ks);
    } catch (const InputError& error) {
      throw InputError(path + ": " + error.what());
    }
  };
  const Evaluation evaluation = evaluate_lists(knowledge, knowledge_path);

  const std::string protocol = protocol_text(knowledge, knowledge_path, n_candidates);
  std::cout << knowledge.teacher << " (" << knowledge_path << ") on the " << kSplitNames[split]
            << " split of " << dataset.provenance.name << ", " << protocol << "\n"
            << evaluation.users.size() << " users evaluated, " << evaluation.users_without_history
            << " of them without history; first hit at position "
            << fixed4(evaluation.mean_first_hit) << " on average (" << evaluation.users_with_hit
            << " users with a hit in the top " << knowledge.list_length() << ")\n\n"
            << markdown_table(evaluation, [&](int m, std::size_t j) {
                 return fixed4(evaluation.mean[m * ks.size() + j]);
               });

  nlohmann::json figures = evaluation_figures(evaluation);
  figures.update({{"command", "eval"},
                  {"teacher", knowledge.teacher},
                  {"split", kSplitNames[split]},
                  {"candidates", n_candidates}});
  std::ostringstream csv;
  csv.precision(10);
  csv << "metric,k,value,difference,low,high\n";
  std::vector<Interval> intervals;
  if (!compare_path.empty()) {
    const Knowledge other = read_knowledge(compare_path);
    check_knowledge_matches(other, compare_path, dataset, dataset_path);
    check_candidates(other, compare_path, n_candidates, candidate_seed);
    const Evaluation baseline = evaluate_lists(other, compare_path);
    intervals = paired_bootstrap_columns(evaluation.per_user, baseline.per_user,
                                         /*resamples=*/1000, seed);
    std::cout << "\n"
              << knowledge.teacher << " minus " << other.teacher << " (" << compare_path
              << "), 95% paired bootstrap intervals over users:\n\n"
              << markdown_table(evaluation, [&](int m, std::size_t j) {
                   const Interval& d = intervals[m * ks.size() + j];
                   return fixed4(d.mean_difference) + " [" + fixed4(d.low) + ", " + fixed4(d.high) +
                          "]";
                 });
    figures["compare"] = {{"teacher", other.teacher}, {"file", compare_path}};
  }
  for (int m = 0; m < kNumMetrics; ++m) {
    for (std::size_t j = 0; j < ks.size(); ++j) {
      const std::size_t c = m * ks.size() + j;
      const std::string key = metric_key(m, ks[j]);
      csv << kMetricNames[m] << "," << ks[j] << "," << evaluation.mean[c];
      if (!intervals.empty()) {
        figures["compare"][key] = {{"difference", intervals[c].mean_difference},
                                   {"low", intervals[c].low},
                                   {"high", intervals[c].high}};
        csv << "," << intervals[c].mean_difference << "," << intervals[c].low << ","
            << intervals[c].high;
      } else {
        csv << ",,,";
      }
      csv << "\n";
    }
  }
  if (!csv_path.empty()) write_text_atomically(csv_path, csv.str());
  if (v["json"].as<bool>()) print_json(figures);
  return kExitOk;
}

}  // namespace trd::cli
