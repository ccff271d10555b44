#include "apps/student.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "agents/registry.hpp"
#include "agents/training.hpp"
#include "apps/agent_options.hpp"
#include "apps/cli.hpp"
#include "data/atomic_file.hpp"
#include "data/error.hpp"
#include "data/metrics.hpp"
#include "data/ranking.hpp"
#include "teachers/registry.hpp"
#include "torch_support/thread_scope.hpp"

namespace trd::cli {
namespace {

// The student's lists as knowledge, so every knowledge reader (trd eval,
// trd inspect, h5py) takes them. Scores fall with the position: L - j.
Knowledge student_knowledge(const Knowledge& teacher, const std::string& agent,
                            const RowMatrixXi& lists) {
  Knowledge knowledge;
  knowledge.teacher = agent + "-student-of-" + teacher.teacher;
  knowledge.dataset = teacher.dataset;
  knowledge.dataset_fingerprint = teacher.dataset_fingerprint;
  knowledge.stage = teacher.stage;
  knowledge.n_users = teacher.n_users;
  knowledge.n_items = teacher.n_items;
  knowledge.ranking_items = lists;
  knowledge.ranking_scores.resize(lists.rows(), lists.cols());
  for (Eigen::Index u = 0; u < lists.rows(); ++u) {
    for (Eigen::Index j = 0; j < lists.cols(); ++j) {
      knowledge.ranking_scores(u, j) =
          lists(u, j) < 0 ? kPaddingScore : static_cast<float>(lists.cols() - j);
    }
  }
  return knowledge;
}

void write_recommendations_csv(const std::string& path, const Dataset& dataset,
                               const RowMatrixXi& lists, int depth) {
  std::ostringstream csv;
  csv << "user,rank,item\n";
  for (Eigen::Index u = 0; u < lists.rows(); ++u) {
    for (Eigen::Index j = 0; j < std::min<Eigen::Index>(depth, lists.cols()); ++j) {
      if (lists(u, j) < 0) break;
      csv << dataset.users.to_string(u) << "," << j + 1 << ","
          << dataset.items.to_string(lists(u, j)) << "\n";
    }
  }
  write_text_atomically(path, csv.str());
}

}  // namespace

nlohmann::json read_agent_sidecar(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the agent sidecar (not a trd train folder?)");
  nlohmann::json sidecar;
  try {
    in >> sidecar;
    if (sidecar.at("format").get<std::string>() != "trd-agent") {
      throw InputError(path + ": format is not trd-agent");
    }
    sidecar.at("agent").get<std::string>();
    sidecar.at("settings").get<nlohmann::json>();
    sidecar.at("env").get<nlohmann::json>();
  } catch (const nlohmann::json::exception& error) {
    throw InputError(path + ": malformed agent sidecar: " + error.what());
  }
  return sidecar;
}

LoadedStudent load_student(const std::string& agent_dir, const Dataset& dataset,
                           const Knowledge& knowledge, const std::string& knowledge_path,
                           const EnvData& data) {
  const std::string sidecar_path = agent_dir + "/agent.json";
  LoadedStudent student;
  student.sidecar = read_agent_sidecar(sidecar_path);
  const nlohmann::json& sidecar = student.sidecar;
  try {
    const std::string fingerprint = sidecar.at("dataset").at("fingerprint");
    if (fingerprint != dataset_fingerprint(dataset)) {
      throw InputError(sidecar_path + ": the student was trained on a dataset with fingerprint " +
                       fingerprint + ", not this one (" + dataset_fingerprint(dataset) + ")");
    }
    const nlohmann::json& trained_on = sidecar.at("train_knowledge");
    const std::string teacher = trained_on.at("teacher");
    if (teacher != knowledge.teacher) {
      throw InputError(knowledge_path + ": holds " + knowledge.teacher +
                       " knowledge, but the student in " + agent_dir + " learned from " + teacher);
    }
    const int64_t dim = trained_on.at("dim");
    if (dim != knowledge.user_embeddings.cols()) {
      throw InputError(knowledge_path + ": has embeddings of width " +
                       std::to_string(knowledge.user_embeddings.cols()) + ", but the student in " +
                       agent_dir + " was trained with width " + std::to_string(dim));
    }
    const nlohmann::json& env = sidecar.at("env");
    student.env.n_actions = env.at("n_actions");
    student.env.history_length = env.at("history_length");
    student.env.episode_length = env.at("episode_length");
    student.env.reward = parse_reward_kind(env.at("reward"));
  } catch (const nlohmann::json::exception& error) {
    throw InputError(sidecar_path + ": malformed agent sidecar: " + error.what());
  }
  const std::string name = sidecar["agent"];
  const RecEnv env(data, student.env);
  student.agent =
      make_agent(name, data, env.spaces(), settings_from_json(name, sidecar["settings"]));
  student.agent->load(agent_dir + "/agent.pt");
  return student;
}

nlohmann::json report_student(const StudentReportInputs& in) {
  const Dataset dataset = read_dataset(in.dataset_path);
  const Knowledge knowledge = read_knowledge(in.knowledge_path);
  check_knowledge_matches(knowledge, in.knowledge_path, dataset, in.dataset_path);
  if (knowledge.stage != kSplitNames[in.split]) {
    std::cerr << "trd eval: note: " << in.knowledge_path << " holds lists for stage "
              << knowledge.stage << ", evaluated here on " << kSplitNames[in.split] << "\n";
  }
  if (dataset.splits[in.split].size() == 0) {
    throw InputError(in.dataset_path + ": the " + std::string(kSplitNames[in.split]) +
                     " split is empty: nothing to evaluate on");
  }
  const EnvData data = make_env_data(dataset, knowledge, in.split);
  const ThreadScope scope(in.threads);
  LoadedStudent student = load_student(in.agent_dir, dataset, knowledge, in.knowledge_path, data);
  const RowMatrixXi student_lists = refine_lists(*student.agent, data, student.env, 256);

  const SplitUsers users(dataset, in.split);
  std::optional<UserItems> candidates;
  if (in.candidates > 0) {
    candidates =
        make_candidates(users.seen, users.held_out, dataset.n_items(), in.candidates, in.seed);
  }
  const JudgedSplit judged{&data, &users.held_out, &users.seen,
                           candidates ? &*candidates : nullptr};
  std::unique_ptr<Teacher> mostpop = make_teacher("mostpop", default_settings("mostpop"));
  const TrainingSet training = training_set(dataset, in.split);
  mostpop->fit(training, nullptr, {});
  const Knowledge popular = distill(*mostpop, "mostpop", dataset, in.split, training,
                                    knowledge.list_length(), judged.candidates);

  const std::vector<std::string> names = {"teacher", "student", "mostpop"};
  const std::vector<Evaluation> evaluations = {judge(knowledge.ranking_items, judged, in.ks),
                                               judge(student_lists, judged, in.ks),
                                               judge(popular.ranking_items, judged, in.ks)};
  const Evaluation& teacher_eval = evaluations[0];
  const Evaluation& student_eval = evaluations[1];
  std::vector<Interval> intervals;
  for (Eigen::Index c = 0; c < student_eval.per_user.cols(); ++c) {
    intervals.push_back(paired_bootstrap(student_eval.per_user.col(c), teacher_eval.per_user.col(c),
                                         1000, in.seed));
  }

  const std::string agent = student.agent->name();
  std::ostringstream md;
  md << agent << " student vs its teacher " << knowledge.teacher << " vs MostPop, "
     << kSplitNames[in.split] << " split of " << dataset.provenance.name << ", "
     << (in.candidates > 0 ? std::to_string(in.candidates) + " candidates" : "full ranking") << "\n"
     << teacher_eval.users.size() << " users evaluated, " << teacher_eval.users_without_history
     << " of them without history. Mean first-hit position: "
     << "teacher " << fixed4(teacher_eval.mean_first_hit) << ", student "
     << fixed4(student_eval.mean_first_hit) << ", MostPop " << fixed4(evaluations[2].mean_first_hit)
     << "\n\n| metric | teacher | student | MostPop | student - teacher [95% CI] |\n"
     << "| --- | ---: | ---: | ---: | ---: |\n";
  std::ostringstream csv;
  csv.precision(10);
  csv << "metric,k,teacher,student,mostpop,difference,low,high\n";
  nlohmann::json figures = {{"command", "eval"},
                            {"agent", agent},
                            {"teacher_name", knowledge.teacher},
                            {"split", kSplitNames[in.split]},
                            {"candidates", in.candidates},
                            {"users", teacher_eval.users.size()},
                            {"users_without_history", teacher_eval.users_without_history}};
  for (std::size_t e = 0; e < names.size(); ++e) {
    figures[names[e]]["mean_first_hit"] = evaluations[e].mean_first_hit;
  }
  for (int m = 0; m < kNumMetrics; ++m) {
    for (std::size_t j = 0; j < in.ks.size(); ++j) {
      const std::size_t c = m * in.ks.size() + j;
      const std::string key = metric_key(m, in.ks[j]);
      const Interval& d = intervals[c];
      md << "| " << key << " | " << fixed4(evaluations[0].mean[c]) << " | "
         << fixed4(evaluations[1].mean[c]) << " | " << fixed4(evaluations[2].mean[c]) << " | "
         << fixed4(d.mean_difference) << " [" << fixed4(d.low) << ", " << fixed4(d.high) << "] |\n";
      csv << kMetricNames[m] << "," << in.ks[j];
      for (std::size_t e = 0; e < names.size(); ++e) {
        csv << "," << evaluations[e].mean[c];
        figures[names[e]][key] = evaluations[e].mean[c];
      }
      csv << "," << d.mean_difference << "," << d.low << "," << d.high << "\n";
      figures["difference"][key] = {
          {"difference", d.mean_difference}, {"low", d.low}, {"high", d.high}};
    }
  }
  // Per-user figures, so several runs (seeds) can be pooled user by user.
  std::ostringstream per_user;
  per_user.precision(10);
  per_user << "user";
  for (const std::string& who : names) {
    for (int m = 0; m < kNumMetrics; ++m) {
      for (int k : in.ks) per_user << "," << who << ":" << metric_key(m, k);
    }
  }
  per_user << "\n";
  for (std::size_t r = 0; r < teacher_eval.users.size(); ++r) {
    per_user << dataset.users.to_string(teacher_eval.users[r]);
    for (const Evaluation& evaluation : evaluations) {
      for (Eigen::Index c = 0; c < evaluation.per_user.cols(); ++c) {
        per_user << "," << evaluation.per_user(static_cast<Eigen::Index>(r), c);
      }
    }
    per_user << "\n";
  }

  std::cout << md.str();
  std::filesystem::create_directories(in.out_dir);
  write_text_atomically(in.out_dir + "/eval_per_user.csv", per_user.str());
  write_text_atomically(in.out_dir + "/eval.md", md.str());
  write_text_atomically(in.out_dir + "/eval.csv", csv.str());
  write_recommendations_csv(in.out_dir + "/recommendations.csv", dataset, student_lists,
                            *std::max_element(in.ks.begin(), in.ks.end()));
  write_knowledge(student_knowledge(knowledge, agent, student_lists),
                  in.out_dir + "/recommendations.h5");
  return figures;
}

}  // namespace trd::cli
