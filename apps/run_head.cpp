#include "apps/run_head.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "apps/cli.hpp"
#include "apps/commands.hpp"
#include "apps/data_options.hpp"
#include "apps/protocol_checks.hpp"
#include "apps/teacher_options.hpp"
#include "data/atomic_file.hpp"
#include "data/dataset.hpp"
#include "data/error.hpp"
#include "teachers/registry.hpp"

namespace trd::cli {

std::string exact(double value) {
  std::ostringstream text;
  text.precision(17);
  text << value;
  return text.str();
}

namespace {

// The flags of `options` that were given (or have defaults), as command-line
// arguments for another command, with `prefix` taken off their names.
void pass_through(const po::variables_map& v, const po::options_description& options,
                  std::vector<std::string>& args, const std::string& prefix = "") {
  for (const auto& option : options.options()) {
    const std::string name = option->long_name();
    if (!v.count(name)) continue;
    const boost::any& value = v[name].value();
    std::string text;
    if (const auto* s = boost::any_cast<std::string>(&value)) {
      text = *s;
    } else if (const auto* i = boost::any_cast<int>(&value)) {
      text = std::to_string(*i);
    } else if (const auto* l = boost::any_cast<int64_t>(&value)) {
      text = std::to_string(*l);
    } else if (const auto* u = boost::any_cast<uint64_t>(&value)) {
      text = std::to_string(*u);
    } else if (const auto* i32 = boost::any_cast<int32_t>(&value)) {
      text = std::to_string(*i32);
    } else if (const auto* f = boost::any_cast<float>(&value)) {
      text = exact(*f);
    } else if (const auto* d = boost::any_cast<double>(&value)) {
      text = exact(*d);
    } else if (const auto* b = boost::any_cast<bool>(&value)) {
      text = *b ? "true" : "false";
    } else {
      throw std::logic_error("trd run: cannot pass on --" + name);
    }
    args.push_back("--" + name.substr(prefix.size()));
    args.push_back(text);
  }
}

}  // namespace

RunOptions::RunOptions()
    : run("Run options"),
      data(dataset_options("seed of every stage: the synthetic generator, the teacher, the agent "
                           "and the bootstrap")),
      teacher("Teacher options"),
      teacher_settings(
          teacher_setting_options("teacher-", "Teacher settings (trd teacher's, prefixed)")) {
  // clang-format off
  run.add_options()
      ("out", po::value<std::string>()->default_value("runs/latest"),
       "run folder: dataset.h5, the teacher's knowledge per stage, the agent, the report");
  teacher.add_options()
      ("teacher", po::value<std::string>()->default_value("bprmf"), kTeacherNames)
      ("teacher-stage", po::value<std::string>()->default_value("warm"),
       "warm: the teacher keeps training through the stages (valid, test lists from a stronger "
       "teacher); fixed: one teacher fit on base serves every stage (the original protocol)")
      ("list-length", po::value<int>()->default_value(100), "items per user in each teacher list")
      ("candidates", po::value<int>()->default_value(0),
       "rank held-out items plus uniform negatives up to N (0: full ranking)")
      ("k", po::value<std::string>()->default_value("1,5,10,20"), "cutoffs of the report");
  // clang-format on
  teacher_settings.add_options()("teacher-threads", po::value<int>(), "training threads");
}

std::string run_dataset_path(const po::variables_map& v) {
  return v["out"].as<std::string>() + "/dataset.h5";
}

std::string run_knowledge_path(const po::variables_map& v, const std::string& stage) {
  return v["out"].as<std::string>() + "/" + v["teacher"].as<std::string>() + "-" + stage + ".h5";
}

std::vector<std::string> stage_teacher_args(const po::variables_map& v, const RunOptions& options,
                                            const std::string& stage,
                                            const std::string& previous_stage) {
  std::vector<std::string> args = {"--dataset",     run_dataset_path(v),
                                   "--teacher",     v["teacher"].as<std::string>(),
                                   "--stage",       stage,
                                   "--out",         run_knowledge_path(v, stage),
                                   "--seed",        std::to_string(v["seed"].as<uint64_t>()),
                                   "--list-length", std::to_string(v["list-length"].as<int>()),
                                   "--candidates",  std::to_string(v["candidates"].as<int>())};
  if (v["teacher-stage"].as<std::string>() == "fixed") {
    args.insert(args.end(), {"--fit-on", "rl"});
  } else if (!previous_stage.empty()) {
    args.insert(args.end(), {"--init", run_knowledge_path(v, previous_stage)});
  }
  pass_through(v, options.teacher_settings, args, "teacher-");
  return args;
}

std::string RunHead::encoded() const {
  std::string text;
  for (const std::vector<std::string>* list : {&data_args, &teacher_args}) {
    text += std::to_string(list->size()) + '\n';
    for (const std::string& arg : *list) text += std::to_string(arg.size()) + '\n' + arg;
  }
  return text;
}

RunHead run_head(const po::variables_map& v, const RunOptions& options) {
  RunHead head;
  head.dataset_path = run_dataset_path(v);
  head.data_args = {"--out", head.dataset_path};
  pass_through(v, options.data, head.data_args);
  head.knowledge_path = run_knowledge_path(v, "rl");
  head.teacher_args = stage_teacher_args(v, options, "rl", "");
  return head;
}

void run_head_stages(const RunHead& head) {
  run_data(head.data_args);
  {
    const Dataset dataset = read_dataset(head.dataset_path);
    check_split_not_empty(dataset, head.dataset_path, kRl, "the student's rewards come from it");
    check_split_not_empty(dataset, head.dataset_path, kValid, "the best epoch is picked on it");
    check_split_not_empty(dataset, head.dataset_path, kTest, "the report scores it");
  }
  run_teacher(head.teacher_args);
}

RunFolderRollback::RunFolderRollback(const std::string& folder)
    : RunFolderRollback(folder, std::filesystem::create_directories(folder)) {}

RunFolderRollback::RunFolderRollback(const std::string& folder, bool created)
    : folder_(folder), created_(created) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    before_[entry.path()] = entry.last_write_time();
  }
}

std::size_t RunFolderRollback::remove_written() const {
  namespace fs = std::filesystem;
  std::error_code error;
  std::vector<fs::path> written;
  std::vector<fs::path> new_folders;
  for (const auto& entry : fs::recursive_directory_iterator(folder_, error)) {
    const auto known = before_.find(entry.path());
    if (entry.is_directory()) {
      if (known == before_.end()) new_folders.push_back(entry.path());
    } else if (known == before_.end() || known->second != entry.last_write_time()) {
      written.push_back(entry.path());
    }
  }
  for (const fs::path& file : written) fs::remove(file, error);
  std::sort(new_folders.rbegin(), new_folders.rend());  // children before their parents
  for (const fs::path& folder : new_folders) fs::remove(folder, error);
  return written.size();
}

void RunFolderRollback::undo(bool say_so) const {
  const std::size_t removed = remove_written();
  std::error_code error;
  if (created_) std::filesystem::remove(folder_, error);  // only if empty
  if (say_so && removed > 0) {
    std::cerr << "trd run: removed the " << removed << " files this run wrote to " << folder_
              << "\n";
  }
}

}  // namespace trd::cli
