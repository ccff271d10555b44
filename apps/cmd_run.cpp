// `trd run`: the whole pipeline (data -> teacher for each stage -> train ->
// eval) into one run folder, by calling the other commands in process.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/agent_options.hpp"
#include "apps/commands.hpp"
#include "apps/data_options.hpp"
#include "apps/student.hpp"
#include "apps/teacher_options.hpp"
#include "data/atomic_file.hpp"
#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/metrics.hpp"
#include "teachers/registry.hpp"

namespace trd::cli {
namespace {

// Text that reads back as the same value (std::to_string keeps only 6 decimals).
std::string exact(double value) {
  std::ostringstream text;
  text.precision(17);
  text << value;
  return text.str();
}

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

// Creates the run folder if needed and remembers what it held, so that a
// failing run can take away every file it wrote (files of an earlier run it
// had not yet replaced stay) and the folder itself if it made it.
class RunFolderRollback {
 public:
  explicit RunFolderRollback(const std::string& folder)
      : folder_(folder), created_(std::filesystem::create_directories(folder)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
      before_[entry.path()] = entry.last_write_time();
    }
  }

  void undo() const {
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
    if (created_) fs::remove(folder_, error);  // only if empty
    if (!written.empty()) {
      std::cerr << "trd run: removed the " << written.size() << " files this run wrote to "
                << folder_ << "\n";
    }
  }

 private:
  std::string folder_;
  bool created_;
  std::map<std::filesystem::path, std::filesystem::file_time_type> before_;
};

// Every stage's flags, checked before the first stage runs: a typo found by
// the teacher or the trainer would otherwise cost the stages before it.
void check_settings_of_every_stage(const po::variables_map& v) {
  const std::string teacher_stage = v["teacher-stage"].as<std::string>();
  if (teacher_stage != "warm" && teacher_stage != "fixed") {
    throw InputError("--teacher-stage '" + teacher_stage + "': expected warm or fixed");
  }
  if (v.count("teacher-threads")) {
    const int threads = v["teacher-threads"].as<int>();
    check_thread_count(threads, "--teacher-threads");
    if (teacher_stage == "fixed" && threads > 1) {
      throw InputError("--teacher-stage fixed fits one teacher per stage and needs the fits to be "
                       "identical; --teacher-threads " + std::to_string(threads) +
                       " makes them differ (lock-free updates race): use 1");
    }
  }
  teacher_settings(v, v["teacher"].as<std::string>(), "teacher-");
  const int list_length = v["list-length"].as<int>();
  if (list_length < 1) throw InputError("--list-length must be at least 1");
  if (v["candidates"].as<int>() < 0) {
    throw InputError("--candidates must be 0 (full ranking) or positive");
  }
  for (int k : parse_ks(v["k"].as<std::string>())) {
    if (k > list_length) {
      throw InputError("--k " + std::to_string(k) + " exceeds --list-length " +
                       std::to_string(list_length) + ": the report cuts lists of that length");
    }
  }
  agent_config(v);
  train_settings(v);
  check_thread_count(v["threads"].as<int>(), "--threads");
  check_window_fits(env_settings(v), list_length, "--list-length");
}

// Exit status of `python args...` with its stdout sent to stderr (stdout
// stays the report), or to /dev/null when `quiet`; -1 when it cannot run.
int run_python(const std::vector<std::string>& args, bool quiet) {
  const std::string python = TRD_PYTHON_EXECUTABLE;
  std::vector<std::string> command = {python};
  command.insert(command.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  }
  pid_t child = 0;
  const int spawned =
      ::posix_spawn(&child, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (spawned != 0 || ::waitpid(child, &status, 0) < 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// The run's pictures, by `python3 -m trd.plot` (python/trd/plot.py), when
// the package and matplotlib are importable; a run never fails for want of
// them.
void draw_pictures(const std::string& out) {
  const std::filesystem::path build_tree = TRD_PYTHON_BUILD_DIR;
  std::error_code error;
  if (std::filesystem::is_regular_file(build_tree / "trd" / "plot.py", error)) {
    const char* current = std::getenv("PYTHONPATH");
    const std::string path =
        build_tree.string() + (current && *current ? std::string(":") + current : "");
    ::setenv("PYTHONPATH", path.c_str(), 1);
  }
  if (run_python({"-c", "import matplotlib, trd.plot"}, /*quiet=*/true) != 0) {
    std::cerr << "trd run: no pictures: " << TRD_PYTHON_EXECUTABLE
              << " cannot import trd.plot and matplotlib (python3-matplotlib)\n";
    return;
  }
  const int status = run_python({"-m", "trd.plot", out}, /*quiet=*/false);
  if (status != 0) {
    std::cerr << "trd run: no pictures: trd.plot failed (exit " << status << ")\n";
    return;
  }
  std::cerr << "trd run: pictures in " << out << "/learning_curve.png and " << out
            << "/test_comparison.png\n";
}

// data -> teacher for each stage -> train -> report, into the run folder --out.
void run_stages(const po::variables_map& v, const po::options_description& data,
                const po::options_description& teacher_settings_flags) {
  const std::string out = v["out"].as<std::string>();
  const std::string teacher_name = v["teacher"].as<std::string>();
  const std::string seed = std::to_string(v["seed"].as<uint64_t>());
  const std::string candidates = std::to_string(v["candidates"].as<int>());
  const double start = now_seconds();

  const std::string dataset_path = out + "/dataset.h5";
  std::vector<std::string> data_args = {"--out", dataset_path};
  pass_through(v, data, data_args);
  run_data(data_args);
  {
    const Dataset dataset = read_dataset(dataset_path);
    check_split_not_empty(dataset, dataset_path, kRl, "the student's rewards come from it");
    check_split_not_empty(dataset, dataset_path, kValid, "the best epoch is picked on it");
    check_split_not_empty(dataset, dataset_path, kTest, "the report scores it");
  }

  std::string previous;
  for (const char* stage : {"rl", "valid", "test"}) {
    std::vector<std::string> teacher_args = {
        "--dataset",     dataset_path,
        "--teacher",     teacher_name,
        "--stage",       stage,
        "--out",         out + "/" + teacher_name + "-" + stage + ".h5",
        "--seed",        seed,
        "--list-length", std::to_string(v["list-length"].as<int>()),
        "--candidates",  candidates};
    if (v["teacher-stage"].as<std::string>() == "fixed") {
      teacher_args.insert(teacher_args.end(), {"--fit-on", "rl"});
    } else if (!previous.empty()) {
      teacher_args.insert(teacher_args.end(), {"--init", previous});
    }
    pass_through(v, teacher_settings_flags, teacher_args, "teacher-");
    run_teacher(teacher_args);
    previous = out + "/" + teacher_name + "-" + stage + ".h5";
  }

  const std::string agent_dir = out + "/agent";
  train_into(v, dataset_path, out + "/" + teacher_name + "-rl.h5",
             out + "/" + teacher_name + "-valid.h5", agent_dir);

  StudentReportInputs report;
  report.dataset_path = dataset_path;
  report.knowledge_path = previous;
  report.agent_dir = agent_dir;
  report.out_dir = out;
  report.candidates = v["candidates"].as<int>();
  report.candidate_seed = v["seed"].as<uint64_t>();
  report.eval_feedback = train_settings(v).eval_feedback;
  report.ks = parse_ks(v["k"].as<std::string>());
  report.seed = v["seed"].as<uint64_t>();
  report.threads = v["threads"].as<int>();
  nlohmann::json figures = report_student(report);
  figures["command"] = "run";
  figures["out"] = out;
  draw_pictures(out);
  figures["seconds"] = now_seconds() - start;
  std::cerr << "trd run: done in " << figures["seconds"].get<double>() << " s; report in " << out
            << "/eval.md\n";
  if (v["json"].as<bool>()) print_json(figures);
}

}  // namespace

int run_run(const std::vector<std::string>& args) {
  po::options_description data = dataset_options(
      "seed of every stage: the synthetic generator, the teacher, the agent and the bootstrap");
  po::options_description teacher("Teacher options");
  // clang-format off
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
  // Passed to trd teacher without the prefix; unset ones keep the teacher's defaults.
  po::options_description teacher_settings_flags =
      teacher_setting_options("teacher-", "Teacher settings (trd teacher's, prefixed)");
  teacher_settings_flags.add_options()("teacher-threads", po::value<int>(), "training threads");
  po::options_description run("Run options");
  // clang-format off
  run.add_options()
      ("out", po::value<std::string>()->default_value("runs/latest"),
       "run folder: dataset.h5, the teacher's knowledge per stage, the agent, the report");
  // clang-format on
  po::options_description all;
  all.add(run)
      .add(data)
      .add(teacher)
      .add(teacher_settings_flags)
      .add(env_options())
      .add(agent_choice_options())
      .add(training_options());
  const auto values =
      parse_with_agent("run", "[--dataset NAME] [--input PATH] [--out DIR] [options]", all, args);
  if (!values) return kExitOk;
  const auto& v = *values;
  const std::string out = v["out"].as<std::string>();
  check_settings_of_every_stage(v);
  check_output_folder(out, "--out");
  const RunFolderRollback rollback(out);
  const FolderLock lock(out);
  try {
    run_stages(v, data, teacher_settings_flags);
  } catch (...) {
    rollback.undo();
    throw;
  }
  return kExitOk;
}

}  // namespace trd::cli
