#pragma once

// A trained student as the commands see it: loaded back from its run folder
// and reported against its teacher and MostPop.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "data/dataset.hpp"
#include "data/knowledge.hpp"
#include "env/rec_env.hpp"

namespace trd::cli {

/// `trd train`'s sidecar (DIR/agent.json) parsed and checked for the fields
/// every reader needs; InputError naming the file otherwise.
nlohmann::json read_agent_sidecar(const std::string& path);

struct LoadedStudent {
  std::unique_ptr<Agent> agent;
  EnvSettings env;
  nlohmann::json sidecar;
};

/// The agent `trd train` wrote into `agent_dir`, built for `data`'s env.
/// InputError naming the file when the sidecar or checkpoint is missing or
/// malformed, or when `knowledge` is not the kind the student was trained on
/// (another dataset, teacher or embedding width).
LoadedStudent load_student(const std::string& agent_dir, const Dataset& dataset,
                           const Knowledge& knowledge, const std::string& knowledge_path,
                           const EnvData& data);

struct StudentReportInputs {
  std::string dataset_path;
  std::string knowledge_path;  ///< the teacher's knowledge for the evaluated split
  std::string agent_dir;
  std::string out_dir;  ///< where recommendations.csv/.h5 and eval.csv/.md go
  Split split = kTest;
  int candidates = 0;  ///< 0: full ranking
  std::vector<int> ks = {1, 5, 10, 20};
  uint64_t seed = 0;
  int threads = 1;
};

/// Evaluates teacher, student and MostPop on the split; prints the Markdown
/// table, writes eval.md, eval.csv, eval_per_user.csv (every evaluated user's
/// figures), recommendations.csv and recommendations.h5 into out_dir, and returns the figures as
/// JSON (metrics under "teacher", "student" and "mostpop", keyed like "ndcg@5").
nlohmann::json report_student(const StudentReportInputs& inputs);

}  // namespace trd::cli
