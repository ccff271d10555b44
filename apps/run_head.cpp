#include "apps/run_head.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
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

extern char** environ;

namespace trd::cli {
namespace {

constexpr const char* kHeadVariable = "TRD_RUN_HEAD";

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

// The arguments of `args` that `known` names, each with its value; the others
// (the env's, the agent's and training's, which trd-torch reads) are dropped
// with the value that follows them. Abbreviations resolve as the parser
// resolves them (po::ambiguous_option when they do not).
std::vector<std::string> known_arguments(const std::vector<std::string>& args,
                                         const po::options_description& known) {
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      kept.push_back(arg);  // the parser judges it
      continue;
    }
    const std::size_t equals = arg.find('=');
    const std::string name = arg.substr(2, equals == std::string::npos ? equals : equals - 2);
    const po::option_description* option = known.find_nothrow(name, /*approx=*/true);
    const bool takes_value = option == nullptr || option->semantic()->max_tokens() > 0;
    const bool value_follows = equals == std::string::npos && takes_value && i + 1 < args.size() &&
                               args[i + 1].rfind("--", 0) != 0;
    if (option != nullptr) {
      kept.push_back(arg);
      if (value_follows) kept.push_back(args[i + 1]);
    }
    if (value_follows) ++i;
  }
  return kept;
}

// The exit status of a child; kExitInternalError when it did not exit.
int exit_status(pid_t child) {
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return kExitInternalError;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : kExitInternalError;
}

void write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return;  // the reader is gone; it says so itself
    done += static_cast<std::size_t>(wrote);
  }
}

// Appends what `fd` holds now to `into`; false at its end.
bool read_some(int fd, std::string& into) {
  char buffer[4096];
  ssize_t got = 0;
  do {
    got = ::read(fd, buffer, sizeof buffer);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return false;
  into.append(buffer, static_cast<std::size_t>(got));
  return true;
}

std::string read_to_end(int fd) {
  std::string bytes;
  while (read_some(fd, bytes)) {
  }
  return bytes;
}

struct Pipe {
  int read = -1;
  int write = -1;
  explicit Pipe(int flags) {
    int ends[2];
    if (::pipe2(ends, flags) != 0) {
      throw std::runtime_error(std::string("trd run: cannot make a pipe: ") + std::strerror(errno));
    }
    read = ends[0];
    write = ends[1];
  }
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// The head, in a fork of this process: its stdout and stderr go to the
// pipes `out` and `err`, and its error line, if it fails, to `error`, so
// that trd can show it after saying what it took away (as the run does in
// one process). Never returns.
[[noreturn]] void run_head_in_fork(const RunHead& head, const Pipe& out, const Pipe& err,
                                   const Pipe& error, std::initializer_list<int> not_its_own) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (const int fd : not_its_own) ::close(fd);
  ::dup2(out.write, STDOUT_FILENO);
  ::dup2(err.write, STDERR_FILENO);
  const int status = guarded("run", [&] {
    try {
      run_head_stages(head);
    } catch (...) {
      std::cout.flush();
      std::cerr.flush();
      ::dup2(error.write, STDERR_FILENO);
      throw;
    }
    return kExitOk;
  });
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(status);
}

// `trd-torch run ARGS`, told the channel in TRD_RUN_HEAD; its pid.
pid_t start_trd_torch(const std::vector<std::string>& args, const std::string& channel) {
  const std::filesystem::path torch_binary =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "trd-torch";
  std::vector<std::string> command = {torch_binary.string(), "run"};
  command.insert(command.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  ::setenv(kHeadVariable, channel.c_str(), 1);
  pid_t child = -1;
  const int spawned = ::posix_spawn(&child, argv[0], nullptr, nullptr, argv.data(), environ);
  ::unsetenv(kHeadVariable);
  if (spawned != 0) {
    throw std::runtime_error("this command needs LibTorch, which trd runs in " +
                             torch_binary.string() +
                             ", but it cannot be started: " + std::strerror(spawned));
  }
  return child;
}

struct HeadOutcome {
  std::string verdict;     ///< the head trd-torch sent; empty when it refused the command line
  bool killed = false;     ///< the head was stopped: trd-torch refused, or read another head
  int status = kExitOk;    ///< the head's exit status
  std::string error_line;  ///< its error, for trd to show after the rollback
};

// Runs `head` in a fork and relays its output, held back until trd-torch's
// verdict (read from `verdict_fd` to its end) accepts it: a bad flag is
// reported alone, as if nothing had run. Returns once the head has ended.
HeadOutcome run_head_until_verdict(const RunHead& head, int verdict_fd, int answer_fd) {
  Pipe out(O_CLOEXEC), err(O_CLOEXEC), error(O_CLOEXEC);
  // Settled before the fork, so that the head's progress is a live line on
  // a terminal although its stderr is a pipe.
  stderr_is_terminal();
  std::cout.flush();
  std::cerr.flush();
  const pid_t head_process = ::fork();
  if (head_process == 0) run_head_in_fork(head, out, err, error, {verdict_fd, answer_fd});
  close_fd(out.write);
  close_fd(err.write);
  close_fd(error.write);

  HeadOutcome outcome;
  // The head's output as it came, stream by stream, until it can be shown.
  std::vector<std::pair<int, std::string>> held;
  std::vector<pollfd> watched = {
      {verdict_fd, POLLIN, 0}, {out.read, POLLIN, 0}, {err.read, POLLIN, 0}};
  const int shown_on[] = {-1, STDOUT_FILENO, STDERR_FILENO};
  bool verdict_in = false;
  for (int open_count = 3; open_count > 0;) {
    if (::poll(watched.data(), watched.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (std::size_t i = 0; i < watched.size(); ++i) {
      if (watched[i].fd < 0 || watched[i].revents == 0) continue;
      std::string got;
      const bool more = read_some(watched[i].fd, i == 0 ? outcome.verdict : got);
      if (!got.empty()) held.emplace_back(shown_on[i], std::move(got));
      if (!more) {
        if (i != 0) close_fd(watched[i].fd);  // the verdict's is the caller's
        watched[i].fd = -1;
        --open_count;
        verdict_in = verdict_in || i == 0;
      }
    }
    if (!verdict_in || outcome.killed) continue;
    if (outcome.verdict != head.encoded()) {
      ::kill(head_process, SIGKILL);  // its work goes, unseen
      outcome.killed = true;
      continue;
    }
    for (const auto& [fd, bytes] : held) write_all(fd, bytes);
    held.clear();
  }
  outcome.status = exit_status(head_process);
  outcome.error_line = read_to_end(error.read);
  close_fd(error.read);
  return outcome;
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
  head.teacher_args = stage_teacher_args(v, options, "rl", "");
  return head;
}

void run_head_stages(const RunHead& head) {
  run_data(head.data_args);
  const std::string& dataset_path = head.dataset_path;
  {
    const Dataset dataset = read_dataset(dataset_path);
    check_split_not_empty(dataset, dataset_path, kRl, "the student's rewards come from it");
    check_split_not_empty(dataset, dataset_path, kValid, "the best epoch is picked on it");
    check_split_not_empty(dataset, dataset_path, kTest, "the report scores it");
  }
  run_teacher(head.teacher_args);
}

RunFolderRollback::RunFolderRollback(const std::string& folder)
    : folder_(folder), created_(std::filesystem::create_directories(folder)) {
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

int run_with_head_beside(const std::vector<std::string>& args, void (*hand_off)()) {
  const double start = now_seconds();
  const RunOptions options;
  po::options_description known;
  known.add(options.run).add(options.data).add(options.teacher).add(options.teacher_settings);
  known.add_options()("help,h", "")("config", po::value<std::string>())("json", po::bool_switch());
  po::variables_map v;
  RunHead head;
  try {
    po::store(po::command_line_parser(known_arguments(args, known)).options(known).run(), v);
    po::notify(v);
    if (v.count("help") || v.count("config")) hand_off();
    const std::string teacher = v["teacher"].as<std::string>();
    if (!make_eigen_teacher(teacher, teacher_settings(v, teacher, "teacher-"))) hand_off();
    check_output_folder(v["out"].as<std::string>(), "--out");
    head = run_head(v, options);
  } catch (const std::exception&) {
    hand_off();  // trd-torch reports the problem, in its place among the checks
  }
  const std::string out = v["out"].as<std::string>();
  const RunFolderRollback rollback(out);
  std::optional<FolderLock> lock;
  try {
    lock.emplace(out);
  } catch (const InputError&) {
    rollback.undo(/*say_so=*/false);
    hand_off();
  }
  const auto fail = [&](int status, bool say_so) {
    lock.reset();
    rollback.undo(say_so);
    return status;
  };

  // trd-torch's ends stay open across its exec; it marks them close-on-exec
  // itself (HeadBeside::from_environment).
  Pipe to_trd(0), from_trd(0);
  ::fcntl(to_trd.read, F_SETFD, FD_CLOEXEC);
  ::fcntl(from_trd.write, F_SETFD, FD_CLOEXEC);
  pid_t torch_process = -1;
  try {
    torch_process = start_trd_torch(args, std::to_string(to_trd.write) + "," +
                                              std::to_string(from_trd.read) + "," + exact(start));
  } catch (...) {
    fail(kExitInternalError, false);
    throw;
  }
  close_fd(to_trd.write);
  close_fd(from_trd.read);

  const HeadOutcome outcome = run_head_until_verdict(head, to_trd.read, from_trd.write);
  close_fd(to_trd.read);
  if (outcome.verdict.empty()) {  // trd-torch refused the command line (and said why), or died
    close_fd(from_trd.write);
    const int status = exit_status(torch_process);
    return fail(status == kExitOk ? kExitInternalError : status, false);
  }
  if (outcome.killed) {
    // trd-torch read another head from the command line: it runs that one.
    rollback.remove_written();
    write_all(from_trd.write, "n");
  } else if (outcome.status == kExitOk) {
    write_all(from_trd.write, "y");
  }
  close_fd(from_trd.write);  // without an answer: the head failed, and trd-torch stops
  const int torch_status = exit_status(torch_process);
  const bool head_failed = !outcome.killed && outcome.status != kExitOk;
  const int status = head_failed ? outcome.status : torch_status;
  if (status == kExitOk) return kExitOk;
  fail(status, true);
  std::cerr << outcome.error_line << std::flush;
  return status;
}

std::optional<HeadBeside> HeadBeside::from_environment() {
  const char* channel = std::getenv(kHeadVariable);
  if (channel == nullptr) return std::nullopt;
  int to_trd = -1;
  int from_trd = -1;
  double run_start = 0;
  const bool read = std::sscanf(channel, "%d,%d,%lf", &to_trd, &from_trd, &run_start) == 3;
  ::unsetenv(kHeadVariable);
  if (!read || ::fcntl(to_trd, F_GETFD) < 0 || ::fcntl(from_trd, F_GETFD) < 0) {
    return std::nullopt;
  }
  ::fcntl(to_trd, F_SETFD, FD_CLOEXEC);
  ::fcntl(from_trd, F_SETFD, FD_CLOEXEC);
  // trd holds the run folder and answers for the run: without it, stop.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  return HeadBeside(to_trd, from_trd, run_start);
}

bool HeadBeside::done_beside(const RunHead& head) {
  write_all(to_trd_, head.encoded());
  close_fd(to_trd_);
  std::string answer;
  read_some(from_trd_, answer);
  close_fd(from_trd_);
  if (answer == "y") return true;
  if (answer == "n") return false;
  throw HeadFailedBeside{};
}

}  // namespace trd::cli
