#pragma once

// A trained student as the commands see it: loaded back from its run folder,
// its lists written for users, and reported against the reference lines.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "data/dataset.hpp"
#include "data/knowledge.hpp"
#include "env/policies.hpp"
#include "env/rec_env.hpp"

namespace trd::cli {

/// `trd train`'s sidecar (DIR/agent.json) parsed and checked for the fields
/// every reader needs; InputError naming the file otherwise.
nlohmann::json read_agent_sidecar(const std::string& path);

/// The checkpoint next to the sidecar at `sidecar_path` (its agent.pt),
/// checked against the CRC-32 the sidecar records: InputError naming the file
/// when it is missing or any byte differs from what trd train wrote.
std::string verified_checkpoint(const std::string& sidecar_path, const nlohmann::json& sidecar);

struct LoadedStudent {
  std::unique_ptr<Agent> agent;
  EnvSettings env;  ///< the env it trained in (feedback: its training feedback)
  nlohmann::json sidecar;
};

/// The agent `trd train` wrote into `agent_dir`, built for `data`'s env.
/// InputError naming the file when the sidecar or checkpoint is missing or
/// malformed, or when `knowledge` is not the kind the student was trained on
/// (another dataset, teacher or embedding width).
LoadedStudent load_student(const std::string& agent_dir, const Dataset& dataset,
                           const Knowledge& knowledge, const std::string& knowledge_path,
                           const EnvData& data);

/// The student's lists for the users of `dataset` as recommendations.csv
/// (user,rank,item,score with raw ids; score: the student's score of its
/// picks, empty for the rest of the teacher list), the `top` first of each;
/// only `users` (dense ids) when not empty. trd eval --agent and
/// trd recommend both write it, so their files agree.
std::string recommendations_csv(const Dataset& dataset, const RerankedLists& lists, int top,
                                const std::vector<int32_t>& users);

/// The student's lists as knowledge (stage and fingerprint of `teacher`), so
/// every knowledge reader takes them. Scores fall with the position: L - j.
Knowledge student_knowledge(const Knowledge& teacher, const std::string& agent,
                            const RowMatrixXi& lists);

struct StudentReportInputs {
  std::string dataset_path;
  std::string knowledge_path;  ///< the teacher's knowledge for the evaluated split
  std::string agent_dir;
  std::vector<std::string> agent_libraries;  ///< plugins loaded first (--agent-library)
  std::string out_dir;  ///< where recommendations.csv/.h5 and eval.csv/.md go
  Split split = kTest;
  int candidates = 0;  ///< 0: full ranking
  uint64_t candidate_seed = 0;
  std::vector<int> ks = {1, 5, 10, 20};
  uint64_t seed = 0;  ///< of the bootstrap
  Feedback eval_feedback = Feedback::kNone;  ///< kHits: the label-using original protocol
  int threads = 1;
  /// Called once eval.csv is written, before the larger files (trd run's
  /// pictures start drawing the comparison then).
  std::function<void()> on_eval_csv_written;
};

/// The files report_student() writes into its out_dir.
inline const std::vector<std::string> kStudentReportFiles = {
    "eval.md", "eval.csv", "eval_per_user.csv", "recommendations.csv", "recommendations.h5"};

/// Evaluates the student, teacher, MostPop, history_rerank and
/// window_ceiling on the split; prints the Markdown table, writes eval.md,
/// eval.csv, eval_per_user.csv (every evaluated user's figures),
/// recommendations.csv and recommendations.h5 into out_dir, and returns the
/// figures as JSON (one key per line, metrics keyed like "ndcg@5";
/// "difference" and "difference_history_rerank"; "eval_feedback").
nlohmann::json report_student(const StudentReportInputs& inputs);

}  // namespace trd::cli
