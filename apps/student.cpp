#include "apps/student.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>

#include "agents/plugin.hpp"
#include "agents/registry.hpp"
#include "agents/training.hpp"
#include "apps/agent_options.hpp"
#include "apps/cli.hpp"
#include "data/atomic_file.hpp"
#include "data/error.hpp"
#include "data/loaders.hpp"
#include "data/metrics.hpp"
#include "data/ranking.hpp"
#include "data/report.hpp"
#include "teachers/registry.hpp"
#include "torch_support/thread_scope.hpp"

namespace trd::cli {
namespace {

constexpr int kListBatch = 256;  // users per VecRecEnv batch when building lists

}  // namespace

Knowledge student_knowledge(const Knowledge& teacher, const std::string& agent,
                            const RowMatrixXi& lists) {
  Knowledge knowledge;
  knowledge.teacher = agent + "-student-of-" + teacher.teacher;
  knowledge.dataset = teacher.dataset;
  knowledge.dataset_fingerprint = teacher.dataset_fingerprint;
  knowledge.stage = teacher.stage;
  knowledge.n_users = teacher.n_users;
  knowledge.n_items = teacher.n_items;
  knowledge.protocol = teacher.protocol;
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

std::string recommendations_csv(const Dataset& dataset, const RerankedLists& lists, int top,
                                const std::vector<int32_t>& users) {
  std::ostringstream csv;
  csv.precision(9);
  csv << "user,rank,item,score\n";
  auto write_user = [&](int32_t u) {
    for (Eigen::Index j = 0; j < std::min<Eigen::Index>(top, lists.items.cols()); ++j) {
      if (lists.items(u, j) < 0) break;
      csv << dataset.users.to_string(u) << "," << j + 1 << ","
          << dataset.items.to_string(lists.items(u, j)) << ",";
      if (!std::isnan(lists.scores(u, j))) csv << lists.scores(u, j);
      csv << "\n";
    }
  };
  if (users.empty()) {
    for (int32_t u = 0; u < dataset.n_users(); ++u) write_user(u);
  } else {
    for (int32_t u : users) write_user(u);
  }
  return csv.str();
}

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
    sidecar.at("checkpoint").at("crc32").get<std::string>();
  } catch (const nlohmann::json::exception& error) {
    throw InputError(path + ": malformed agent sidecar: " + error.what());
  }
  return sidecar;
}

std::string verified_checkpoint(const std::string& sidecar_path, const nlohmann::json& sidecar) {
  const std::string checkpoint =
      (std::filesystem::path(sidecar_path).parent_path() / "agent.pt").string();
  if (!std::filesystem::is_regular_file(checkpoint)) {
    throw InputError(checkpoint + ": missing (the sidecar " + sidecar_path + " has no checkpoint)");
  }
  const std::string recorded = sidecar.at("checkpoint").at("crc32").get<std::string>();
  const std::string found = file_crc32(checkpoint);
  if (found != recorded) {
    throw InputError(checkpoint + ": CRC-32 " + found + ", but " + sidecar_path + " records " +
                     recorded + " (the checkpoint was damaged or replaced after trd train)");
  }
  return checkpoint;
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
    // Sidecars from before the feedback option trained with hits.
    student.env.feedback =
        parse_feedback(env.value("feedback", "hits"), sidecar_path + ": env.feedback");
    student.env.features = parse_slot_features(env.at("features"), sidecar_path + ": env.features");
  } catch (const nlohmann::json::exception& error) {
    throw InputError(sidecar_path + ": malformed agent sidecar: " + error.what());
  }
  const std::string name = sidecar["agent"];
  if (agent_registry().find_nothrow(name) == nullptr) {
    throw InputError(sidecar_path + ": agent '" + name + "' is not registered (built in: " +
                     agent_registry().names_text() + "); load its plugin with --agent-library");
  }
  const RecEnv env(data, student.env);
  // A student is its checkpoint; the seed only draws what it has not learned
  // (a baseline's picks), as its settings recorded it.
  const nlohmann::json& settings = sidecar["settings"];
  const uint64_t seed = settings.is_object() ? settings.value("seed", uint64_t{0}) : 0;
  student.agent = agent_registry().make(name, data, env.spaces(), settings, seed);
  student.agent->load(verified_checkpoint(sidecar_path, sidecar));
  return student;
}

// The lists of the report's lines that are not the student's.
struct ReferenceLists {
  RowMatrixXi mostpop;
  std::optional<RowMatrixXi> history_rerank;  ///< none without embeddings or neighbours
  RowMatrixXi window_ceiling;
};

ReferenceLists reference_lists(const Dataset& dataset, const Knowledge& knowledge,
                               const EnvData& data, const EnvSettings& student_env, Split split,
                               const UserItems* candidates) {
  ReferenceLists lists;
  // The reference lines play the same window and K, always label-free
  // except the ceiling, which is a bound and says so. history_rerank reads
  // the similarity the student's features read: the evaluated knowledge's.
  EnvSettings label_free = student_env;
  label_free.feedback = Feedback::kNone;
  // The rules read the window and the history, never the slot features, and
  // an env without features plays the same lists many times faster.
  label_free.features.clear();
  const ItemSimilarity similarity = FeatureView(data).similarity();
  if (similarity.available()) {
    lists.history_rerank =
        rerank_lists(data, label_free, kListBatch,
                     [&similarity](const ObservationBatch& observations,
                                   std::vector<int32_t>& actions, std::vector<float>&) {
                       history_rerank_policy(observations, similarity, actions);
                     })
            .items;
  }
  lists.window_ceiling = rerank_lists(data, label_free, kListBatch,
                                      [&data](const ObservationBatch& observations,
                                              std::vector<int32_t>& actions, std::vector<float>&) {
                                        window_ceiling_policy(observations, data, actions);
                                      })
                             .items;
  std::unique_ptr<Teacher> mostpop = make_teacher("mostpop", default_settings("mostpop"));
  const TrainingSet training = training_set(dataset, split);
  mostpop->fit(training, nullptr, {});
  lists.mostpop =
      distill(*mostpop, "mostpop", dataset, split, training, knowledge.list_length(), candidates)
          .ranking_items;
  return lists;
}

nlohmann::json report_student(const StudentReportInputs& in) {
  for (const std::string& path : in.agent_libraries) load_agent_library(path, agent_registry());
  const Dataset dataset = read_dataset(in.dataset_path);
  const Knowledge knowledge = read_knowledge(in.knowledge_path);
  check_knowledge_matches(knowledge, in.knowledge_path, dataset, in.dataset_path);
  check_stage(knowledge, in.knowledge_path, in.split, "trd eval --agent --split " +
                                                          std::string(kSplitNames[in.split]));
  check_candidates(knowledge, in.knowledge_path, in.candidates, in.candidate_seed);
  if (dataset.splits[in.split].size() == 0) {
    throw InputError(in.dataset_path + ": the " + std::string(kSplitNames[in.split]) +
                     " split is empty: nothing to evaluate on");
  }
  const EnvData data = make_env_data(dataset, knowledge, in.split);
  const ThreadScope scope(in.threads);
  LoadedStudent student = load_student(in.agent_dir, dataset, knowledge, in.knowledge_path, data);
  try {
    const nlohmann::json& valid = student.sidecar.at("valid_knowledge");
    check_warm_start_from(knowledge, in.knowledge_path, valid.at("crc32").get<std::string>(),
                          valid.at("file").get<std::string>());
  } catch (const nlohmann::json::exception& error) {
    throw InputError(in.agent_dir + "/agent.json: malformed agent sidecar: " + error.what());
  }
  const SplitUsers users(dataset, in.split);
  std::optional<UserItems> candidates;
  if (in.candidates > 0) {
    candidates = make_candidates(users.seen, users.held_out, dataset.n_items(), in.candidates,
                                 in.candidate_seed);
  }
  // The reference lines read no agent: they are built on the other core
  // while the student plays.
  std::future<ReferenceLists> references = std::async(std::launch::async, [&] {
    return reference_lists(dataset, knowledge, data, student.env, in.split,
                           candidates ? &*candidates : nullptr);
  });
  const RerankedLists student_lists =
      refine_lists(*student.agent, data, student.env, in.eval_feedback, kListBatch);
  ReferenceLists reference = references.get();
  const bool rule_applies = reference.history_rerank.has_value();

  const std::string agent = student.agent->name();
  std::vector<ReportLine> lines = {
      {"student", student_lists.items, "", false},
      {"teacher", knowledge.ranking_items, "", false},
      {"mostpop", std::move(reference.mostpop), "", false},
      {"history_rerank", std::move(reference.history_rerank),
       rule_applies
           ? ""
           : "not applicable: " + in.knowledge_path + " has neither item embeddings nor neighbours",
       false},
      {"window_ceiling", std::move(reference.window_ceiling),
       "an upper bound that reads the held-out labels (the held-out items of the student's "
       "window first), not a method",
       true}};
  const ComparisonReport report = compare_lines(
      std::move(lines), {&users.held_out, &users.seen, candidates ? &*candidates : nullptr}, in.ks,
      {{"teacher", "difference"}, {"history_rerank", "difference_history_rerank"}}, in.seed);

  const Evaluation& teacher_eval = *report.evaluation("teacher");
  const bool label_using = in.eval_feedback == Feedback::kHits;
  std::ostringstream heading;
  heading << agent << " student of " << knowledge.teacher << " on the "
          << kSplitNames[in.split] << " split of " << dataset.provenance.name << ", "
          << protocol_text(knowledge, in.knowledge_path, in.candidates) << "; window "
          << student.env.n_actions << ", K " << student.env.episode_length << "\n"
          << teacher_eval.users.size() << " users evaluated, "
          << teacher_eval.users_without_history << " of them without history. "
          << (label_using
                  ? "LISTS USED HELD-OUT LABELS: --eval-feedback hits let each pick after a hit "
                    "see it (the original TRD protocol); not a label-free result."
                  : "Lists built label-free (feedback none).")
          << "\n";
  const std::string md = report_markdown(report, heading.str());
  nlohmann::json figures = {{"command", "eval"},
                            {"agent", agent},
                            {"teacher_name", knowledge.teacher},
                            {"split", kSplitNames[in.split]},
                            {"candidates", in.candidates},
                            {"eval_feedback", feedback_name(in.eval_feedback)},
                            {"lists_used_held_out_labels", label_using},
                            {"history_rerank_knowledge", in.knowledge_path},
                            {"users", teacher_eval.users.size()},
                            {"users_without_history", teacher_eval.users_without_history}};
  add_report_json(report, figures);

  std::cout << md;
  std::filesystem::create_directories(in.out_dir);
  write_text_atomically(in.out_dir + "/eval.md", md);
  write_text_atomically(in.out_dir + "/eval.csv",
                        report_csv(report, {{"eval_feedback", feedback_name(in.eval_feedback)}}));
  if (in.on_eval_csv_written) in.on_eval_csv_written();
  write_text_atomically(in.out_dir + "/eval_per_user.csv",
                        report_per_user_csv(report, dataset.users));
  write_text_atomically(
      in.out_dir + "/recommendations.csv",
      recommendations_csv(dataset, student_lists, *std::max_element(in.ks.begin(), in.ks.end()),
                          {}));
  write_knowledge(student_knowledge(knowledge, agent, student_lists.items),
                  in.out_dir + "/recommendations.h5");
  return figures;
}

}  // namespace trd::cli
