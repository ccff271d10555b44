// `trd run`: the whole pipeline (data -> teacher for each stage -> train ->
// eval) into one run folder, by calling the other commands in process; the
// valid and test stages' teachers and the pictures run beside it in child
// processes. Started by trd, the data stage and the rl stage's teacher run
// in trd meanwhile (apps/run_head.hpp).

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "apps/agent_options.hpp"
#include "apps/commands.hpp"
#include "apps/data_options.hpp"
#include "apps/run_head.hpp"
#include "apps/student.hpp"
#include "apps/teacher_options.hpp"
#include "data/atomic_file.hpp"
#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/metrics.hpp"
#include "teachers/registry.hpp"

namespace trd::cli {
namespace {

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

// Starts `command` with its stdin (unless -1), stdout and stderr on the
// given descriptors; the child's pid, or -1 when it cannot start.
pid_t spawn(std::vector<std::string> command, int stdin_fd, int stdout_fd, int stderr_fd) {
  std::vector<char*> argv;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
  pid_t child = 0;
  const int spawned =
      ::posix_spawn(&child, command.front().c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return spawned == 0 ? child : -1;
}

// Gives `child` a lower priority than the run's own threads (niceness 10
// above this process'). The later stages' teachers are needed only by the
// judge of the first epochs and by the report, and the pictures only at
// the end, while the learner's updates, fed by the actor, are what the run
// waits on; at equal priority the teachers and Python took CPU from them on
// two busy cores. A child still gets every core the run leaves idle, and a
// failure here costs only speed.
void run_in_background(pid_t child) {
  constexpr int kBackgroundNiceness = 10;
  constexpr int kLowestPriority = 19;
  errno = 0;
  const int own = ::getpriority(PRIO_PROCESS, 0);
  if (errno != 0) return;
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(child),
                std::min(own + kBackgroundNiceness, kLowestPriority));
}

// The exit status of a child; -1 when it did not exit normally.
int wait_for(pid_t child) {
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// An unnamed scratch file: gone with the process, whatever happens.
class ScratchFile {
 public:
  ScratchFile() {
    const std::filesystem::path folder = std::filesystem::temp_directory_path();
    std::string name = (folder / "trd-run-XXXXXX").string();
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ < 0) {
      throw std::runtime_error("cannot create a scratch file in " + folder.string() + ": " +
                               std::strerror(errno));
    }
    ::unlink(name.c_str());
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile() { ::close(fd_); }
  int fd() const { return fd_; }

  // Copies what it holds to `out`.
  void replay(std::ostream& out) const {
    ::lseek(fd_, 0, SEEK_SET);
    char buffer[4096];
    ssize_t got = 0;
    while ((got = ::read(fd_, buffer, sizeof buffer)) > 0) out.write(buffer, got);
    out.flush();
  }

 private:
  int fd_ = -1;
};

// A `trd teacher` command in a second process, so that it runs on the other
// core while this one trains; its output is held back and shown when it is
// collected, so the two do not interleave. Destroyed uncollected (the run
// failed meanwhile), it stops the child.
class BackgroundTeacher {
 public:
  BackgroundTeacher(std::string label, const std::vector<std::string>& teacher_args)
      : label_(std::move(label)) {
    // trd itself when it holds the teacher (no LibTorch to load), else trd-torch.
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
    std::filesystem::path binary = self.parent_path() / "trd";
    if (!std::filesystem::exists(binary)) binary = self;
    std::vector<std::string> command = {binary.string(), "teacher"};
    command.insert(command.end(), teacher_args.begin(), teacher_args.end());
    std::cout.flush();
    std::cerr.flush();
    child_ = spawn(command, -1, stdout_.fd(), stderr_.fd());
    if (child_ < 0) throw std::runtime_error("cannot start " + binary.string() + " for " + label_);
    run_in_background(child_);
  }
  BackgroundTeacher(const BackgroundTeacher&) = delete;
  BackgroundTeacher& operator=(const BackgroundTeacher&) = delete;
  ~BackgroundTeacher() {
    if (child_ < 0 || exit_status_) return;
    ::kill(child_, SIGTERM);
    wait_for(child_);
  }

  // True once it has exited (collect() then does not wait).
  bool finished() {
    if (child_ < 0 || exit_status_) return true;
    int status = 0;
    const pid_t exited = ::waitpid(child_, &status, WNOHANG);
    if (exited == 0 || (exited < 0 && errno == EINTR)) return false;
    exit_status_ = exited == child_ && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return true;
  }

  // Waits for it, shows its output and throws when it failed.
  void collect() {
    const int status = exit_status_ ? *exit_status_ : wait_for(child_);
    child_ = -1;
    exit_status_.reset();
    // Its progress and notes, then what it wrote, as when it ran in process.
    stderr_.replay(std::cerr);
    stdout_.replay(std::cout);
    if (status == kExitBadInput) {
      throw InputError(label_ + " (run in a second process) failed: see its error above");
    }
    if (status != 0) {
      throw std::runtime_error(label_ + " (run in a second process) failed with exit status " +
                               std::to_string(status));
    }
  }

 private:
  std::string label_;
  ScratchFile stdout_, stderr_;
  pid_t child_ = -1;
  std::optional<int> exit_status_;  // once finished() has seen it exit
};

// The run's pictures, by `python3 -m trd.plot --follow` (python/trd/plot.py),
// started with the run so that the interpreter's start overlaps the stages:
// it draws the learning curve when told that training ended and the
// comparison once its stdin closes (eval.csv is written, the report's larger
// files not yet), in the background (run_in_background: loading matplotlib
// and drawing take about 1.4 s of CPU). A run never fails for want of
// pictures: trd.plot says itself when matplotlib is missing (exit 3), and
// Python when trd.plot is.
class Pictures {
 public:
  explicit Pictures(std::string out) : out_(std::move(out)) {
    const std::filesystem::path build_tree = TRD_PYTHON_BUILD_DIR;
    std::error_code error;
    if (std::filesystem::is_regular_file(build_tree / "trd" / "plot.py", error)) {
      const char* current = std::getenv("PYTHONPATH");
      const std::string path =
          build_tree.string() + (current && *current ? std::string(":") + current : "");
      ::setenv("PYTHONPATH", path.c_str(), 1);
    }
    // A socket rather than a pipe for its stdin: a Python that already
    // exited (no matplotlib) must not kill the run with SIGPIPE.
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return;
    std::cout.flush();
    std::cerr.flush();
    // Its stdout goes to stderr: stdout stays the report.
    child_ = spawn({TRD_PYTHON_EXECUTABLE, "-m", "trd.plot", "--follow", out_}, ends[0],
                   STDERR_FILENO, STDERR_FILENO);
    if (child_ >= 0) run_in_background(child_);
    ::close(ends[0]);
    stdin_ = ends[1];
  }
  Pictures(const Pictures&) = delete;
  Pictures& operator=(const Pictures&) = delete;
  ~Pictures() {
    close_stdin();
    if (child_ < 0) return;
    ::kill(child_, SIGTERM);
    wait_for(child_);
  }

  // train.csv is complete: draws the learning curve.
  void training_done() {
    if (stdin_ >= 0) ::send(stdin_, "\n", 1, MSG_NOSIGNAL);
  }

  // eval.csv is written: draws the comparison.
  void draw_comparison() { close_stdin(); }

  // Waits for the pictures and says what came of them.
  void finish() {
    close_stdin();
    const int status = child_ < 0 ? -1 : wait_for(child_);
    child_ = -1;
    if (status != 0) {
      std::cerr << "trd run: no pictures: " << TRD_PYTHON_EXECUTABLE << " -m trd.plot "
                << (status < 0 ? "could not run" : "failed (exit " + std::to_string(status) + ")")
                << (status == 3 ? ": install python3-matplotlib" : "") << "\n";
      return;
    }
    std::cerr << "trd run: pictures in " << out_ << "/learning_curve.png and " << out_
              << "/test_comparison.png\n";
  }

 private:
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }

  std::string out_;
  pid_t child_ = -1;
  int stdin_ = -1;  // our end of its stdin
};

// data -> teacher for each stage -> train -> report, into the run folder
// --out; `beside`: trd runs the head (apps/run_head.hpp).
void run_stages(const po::variables_map& v, const RunOptions& options, HeadBeside* beside) {
  const std::string out = v["out"].as<std::string>();
  const double start = beside != nullptr ? beside->run_start() : now_seconds();
  // Python spends most of a second of CPU loading matplotlib: begun now, that
  // runs on the core the data and rl stages leave idle, not beside the first
  // epoch and the valid stage's teacher.
  Pictures pictures(out);

  const RunHead head = run_head(v, options);
  if (beside == nullptr || !beside->done_beside(head)) run_head_stages(head);

  // Each stage's teacher warm-starts from the one before (or, fixed, fits
  // on rl). The student trains on rl's lists at once: the valid stage's
  // teacher fits in a second process meanwhile (the first epoch's end waits
  // for it), then the test stage's, whose lists only the report reads.
  const std::string teacher_name = v["teacher"].as<std::string>();
  const auto label = [&](const std::string& stage) {
    return "trd teacher --teacher " + teacher_name + " --stage " + stage;
  };
  BackgroundTeacher valid_teacher(label("valid"), stage_teacher_args(v, options, "valid", "rl"));
  std::optional<BackgroundTeacher> test_teacher;

  const std::string agent_dir = out + "/agent";
  const KnowledgeInTheMaking valid_knowledge{
      [&] { return valid_teacher.finished(); },
      [&] {
        valid_teacher.collect();
        test_teacher.emplace(label("test"), stage_teacher_args(v, options, "test", "valid"));
      }};
  train_into(v, head.dataset_path, run_knowledge_path(v, "rl"), run_knowledge_path(v, "valid"),
             agent_dir, {}, valid_knowledge);
  pictures.training_done();
  test_teacher.value().collect();

  StudentReportInputs report;
  report.dataset_path = head.dataset_path;
  report.knowledge_path = run_knowledge_path(v, "test");
  report.agent_dir = agent_dir;
  report.out_dir = out;
  report.candidates = v["candidates"].as<int>();
  report.candidate_seed = v["seed"].as<uint64_t>();
  report.eval_feedback = train_settings(v).eval_feedback;
  report.ks = parse_ks(v["k"].as<std::string>());
  report.seed = v["seed"].as<uint64_t>();
  report.threads = v["threads"].as<int>();
  report.on_eval_csv_written = [&pictures] { pictures.draw_comparison(); };
  nlohmann::json figures = report_student(report);
  figures["command"] = "run";
  figures["out"] = out;
  pictures.finish();
  figures["seconds"] = now_seconds() - start;
  std::cerr << "trd run: done in " << figures["seconds"].get<double>() << " s; report in " << out
            << "/eval.md\n";
  if (v["json"].as<bool>()) print_json(figures);
}

}  // namespace

int run_run(const std::vector<std::string>& args) {
  std::optional<HeadBeside> beside;
  try {
    beside = HeadBeside::from_environment();
  } catch (const HeadFailedBeside&) {
    return kExitBadInput;  // trd, which started this process, has gone
  }
  const RunOptions options;
  po::options_description all;
  all.add(options.run)
      .add(options.data)
      .add(options.teacher)
      .add(options.teacher_settings)
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
  if (beside) {
    // trd holds the folder's lock, and takes away what the run wrote when it fails.
    try {
      run_stages(v, options, &*beside);
    } catch (const HeadFailedBeside&) {
      return kExitBadInput;  // trd shows the head's error
    } catch (...) {
      beside->send_errors_to_trd();
      throw;
    }
    return kExitOk;
  }
  const RunFolderRollback rollback(out);
  const FolderLock lock(out);
  try {
    run_stages(v, options, nullptr);
  } catch (...) {
    rollback.undo();
    throw;
  }
  return kExitOk;
}

}  // namespace trd::cli
