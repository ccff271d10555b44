// `trd recommend`: a trained student's lists for users, the way it is used:
// no held-out split is read at all.

#include <fstream>
#include <iostream>
#include <unordered_map>

#include "agents/training.hpp"
#include "apps/agent_options.hpp"
#include "apps/commands.hpp"
#include "apps/student.hpp"
#include "data/atomic_file.hpp"
#include "data/error.hpp"
#include "torch_support/thread_scope.hpp"

namespace trd::cli {
namespace {

// Dense ids of the raw user ids in `path`, one per line (blank lines and
// surrounding spaces ignored), in the file's order.
std::vector<int32_t> read_user_list(const std::string& path, const Dataset& dataset) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the user list");
  std::unordered_map<std::string, int32_t> dense;
  for (int32_t u = 0; u < dataset.n_users(); ++u) dense.emplace(dataset.users.to_string(u), u);
  std::vector<int32_t> users;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const std::string raw = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    const auto found = dense.find(raw);
    if (found == dense.end()) {
      throw InputError(path + ": line " + std::to_string(number) + ": user '" + raw +
                       "' is not in the dataset");
    }
    users.push_back(found->second);
  }
  if (users.empty()) throw InputError(path + ": lists no user");
  return users;
}

}  // namespace

int run_recommend(const std::vector<std::string>& args) {
  po::options_description options("Recommend options");
  // clang-format off
  options.add_options()
      ("agent", po::value<std::string>()->required(), "a trd train folder (agent.pt, agent.json)")
      ("agent-library", po::value<std::vector<std::string>>()->composing()->value_name("PATH.so"),
       "the plugin that registers the folder's agent, when it is not built in (repeatable)")
      ("knowledge", po::value<std::string>()->required(),
       "the teacher's knowledge whose lists the student re-ranks (any stage: the history is "
       "everything before that stage's split)")
      ("dataset", po::value<std::string>()->default_value(""),
       "dataset file (default: the one the student trained on, from its agent.json)")
      ("users", po::value<std::string>()->default_value(""),
       "file of raw user ids, one per line (default: every user)")
      ("top", po::value<int>()->default_value(20), "items per user")
      ("format", po::value<std::string>()->default_value("csv"),
       "csv (user,rank,item,score with raw ids; score: the student's, for its picks) or h5 "
       "(the knowledge format, every user)")
      ("out", po::value<std::string>()->required(), "file to write (atomically)")
      ("threads", po::value<int>()->default_value(1), "LibTorch threads");
  // clang-format on
  load_agent_libraries(args);
  const auto values =
      parse("recommend", "--agent DIR --knowledge FILE --out FILE [options]", options, args);
  if (!values) return kExitOk;
  const auto& v = *values;
  const std::string agent_dir = v["agent"].as<std::string>();
  const std::string knowledge_path = v["knowledge"].as<std::string>();
  const std::string out = v["out"].as<std::string>();
  const std::string format = v["format"].as<std::string>();
  const int top = v["top"].as<int>();
  if (format != "csv" && format != "h5") {
    throw InputError("--format '" + format + "': expected csv or h5");
  }
  if (top < 1) throw InputError("--top must be at least 1");
  if (format == "h5" && !v["users"].as<std::string>().empty()) {
    throw InputError("--users selects rows of the csv format; --format h5 holds every user");
  }
  const nlohmann::json sidecar = read_agent_sidecar(agent_dir + "/agent.json");
  std::string dataset_path = v["dataset"].as<std::string>();
  if (dataset_path.empty()) {
    try {
      dataset_path = sidecar.at("dataset").at("file").get<std::string>();
    } catch (const nlohmann::json::exception&) {
      throw InputError(agent_dir + "/agent.json: names no dataset file: pass --dataset");
    }
  }

  check_output_file(out, "--out",
                    {dataset_path, knowledge_path, v["users"].as<std::string>(),
                     agent_dir + "/agent.json", agent_dir + "/agent.pt"});

  const Dataset dataset = read_dataset(dataset_path);
  const Knowledge knowledge = read_knowledge(knowledge_path);
  check_knowledge_matches(knowledge, knowledge_path, dataset, dataset_path);
  if (knowledge.protocol.candidates > 0) {
    // Candidate sets hold the stage's held-out items: such lists show labels.
    throw InputError(knowledge_path + ": attribute candidates = " +
                     std::to_string(knowledge.protocol.candidates) +
                     ", expected 0: lists ranked within candidate sets (which hold the held-out "
                     "items) are for scoring, never for showing to users");
  }
  const Split stage = parse_stage(knowledge.stage, knowledge_path + ": attribute stage");
  const std::vector<int32_t> users =
      v["users"].as<std::string>().empty() ? std::vector<int32_t>{}
                                           : read_user_list(v["users"].as<std::string>(), dataset);
  const EnvData data = make_serving_data(dataset, knowledge, stage);
  check_thread_count(v["threads"].as<int>(), "--threads");
  const ThreadScope scope(v["threads"].as<int>());
  LoadedStudent student = load_student(agent_dir, dataset, knowledge, knowledge_path, data);
  const RerankedLists lists =
      refine_lists(*student.agent, data, student.env, Feedback::kNone, /*batch_users=*/256);

  if (format == "csv") {
    write_text_atomically(out, recommendations_csv(dataset, lists, top, users));
  } else {
    write_knowledge(student_knowledge(knowledge, student.agent->name(),
                                      lists.items.leftCols(std::min<Eigen::Index>(
                                          top, lists.items.cols()))),
                    out);
  }
  const int64_t n_users = users.empty() ? dataset.n_users() : static_cast<int64_t>(users.size());
  std::cerr << "trd recommend: wrote " << out << ": top " << top << " of " << n_users
            << " users from the " << student.agent->name() << " student in " << agent_dir << "\n";
  if (v["json"].as<bool>()) {
    print_json({{"command", "recommend"},
                {"agent", student.agent->name()},
                {"out", out},
                {"format", format},
                {"users", n_users},
                {"top", top}});
  }
  return kExitOk;
}

}  // namespace trd::cli
