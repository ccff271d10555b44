// trd run's head in trd beside trd-torch (apps/run_head.hpp): trd's side,
// run_with_head_beside, and trd-torch's, HeadBeside.

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <iostream>

#include "apps/cli.hpp"
#include "apps/run_head.hpp"
#include "apps/teacher_options.hpp"
#include "data/atomic_file.hpp"
#include "data/error.hpp"
#include "teachers/registry.hpp"

extern char** environ;

namespace trd::cli {
namespace {

constexpr const char* kHeadVariable = "TRD_RUN_HEAD";

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

// The head and the arguments it runs, as trd read them, or nothing when
// trd-torch must read the command line (--help, --config, a teacher that
// needs LibTorch, a flag trd cannot place): it reports any problem in its
// place among its checks.
std::optional<RunHead> head_trd_can_run(const std::vector<std::string>& args, std::string& out) {
  const RunOptions options;
  po::options_description known;
  known.add(options.run).add(options.data).add(options.teacher).add(options.teacher_settings);
  known.add_options()("help,h", "")("config", po::value<std::string>())("json", po::bool_switch());
  try {
    po::variables_map v;
    po::store(po::command_line_parser(known_arguments(args, known)).options(known).run(), v);
    po::notify(v);
    if (v.count("help") || v.count("config")) return std::nullopt;
    const std::string teacher = v["teacher"].as<std::string>();
    if (!make_eigen_teacher(teacher, teacher_settings(v, teacher, "teacher-"))) return std::nullopt;
    out = v["out"].as<std::string>();
    check_output_folder(out, "--out");
    return run_head(v, options);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// How a child ended: its exit status, or 128 + the signal that killed it,
// as a shell gives it; then a line naming `what` and the signal goes into
// `note` (when `what` is not empty), for trd to show last.
int ended(pid_t child, const std::string& what, std::string& note) {
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return kExitInternalError;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  const int signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  if (!what.empty()) {
    note += "trd run: " + what + " was killed by signal " + std::to_string(signal) + " (" +
            ::strsignal(signal) + ")\n";
  }
  return 128 + signal;
}

// False when the reader is gone. A write to a socket asks not to raise
// SIGPIPE; trd's own stdout and stderr keep the usual rule.
bool write_all(int fd, const std::string& bytes, bool socket = false) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = socket
                              ? ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL)
                              : ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return false;
    done += static_cast<std::size_t>(wrote);
  }
  return true;
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

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Two connected descriptors, closed with it: a pipe, or a socket pair
// (writes to a socket can ask not to raise SIGPIPE).
struct Channel {
  int read = -1;
  int write = -1;
  Channel(bool socket, int flags) {
    int ends[2];
    const int made =
        socket ? ::socketpair(AF_UNIX, SOCK_STREAM | flags, 0, ends) : ::pipe2(ends, flags);
    if (made != 0) {
      throw std::runtime_error(std::string("trd run: cannot make a pipe: ") + std::strerror(errno));
    }
    read = ends[0];
    write = ends[1];
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    close_fd(read);
    close_fd(write);
  }
};

// The head writes each file anew and renames it over the old one. A hard
// link keeps each old file, so that a command line trd-torch refuses leaves
// an earlier run's files in the folder as they were.
class KeptFiles {
 public:
  /// Throws std::filesystem::filesystem_error when a link cannot be made, or
  /// its name is taken (a killed run's, or the user's: left alone).
  explicit KeptFiles(const std::vector<std::string>& paths) {
    try {
      for (const std::string& path : paths) {
        std::error_code error;
        if (!std::filesystem::exists(path, error)) continue;
        const std::string link = path + ".kept-by-trd-run";
        std::filesystem::create_hard_link(path, link);
        kept_.emplace_back(path, link);
      }
    } catch (...) {
      drop();
      throw;
    }
  }
  KeptFiles(const KeptFiles&) = delete;
  KeptFiles& operator=(const KeptFiles&) = delete;
  ~KeptFiles() { drop(); }

  void restore() {
    std::error_code error;
    for (const auto& [path, link] : kept_) {
      std::filesystem::rename(link, path, error);
      // Renaming a link over its own file (the head had not replaced it)
      // does nothing: the link is still there.
      std::filesystem::remove(link, error);
    }
    kept_.clear();
  }
  void drop() {
    std::error_code error;
    for (const auto& [path, link] : kept_) std::filesystem::remove(link, error);
    kept_.clear();
  }

 private:
  std::vector<std::pair<std::string, std::string>> kept_;
};

// The head, in a fork of trd: its stdout and stderr go to `out` and `err`,
// and its error line, when it fails, to `error`, so that trd shows it after
// saying what it took away (as the run does in one process). Never returns.
[[noreturn]] void run_head_in_fork(const RunHead& head, pid_t trd, const Channel& out,
                                   const Channel& err, const Channel& error,
                                   std::initializer_list<int> not_its_own) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != trd) std::_Exit(kExitInternalError);  // trd went before the line above
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

// `trd-torch run ARGS` with `channel` in TRD_RUN_HEAD; its pid.
pid_t start_trd_torch(const std::vector<std::string>& args, const std::string& channel) {
  const std::filesystem::path torch_binary =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "trd-torch";
  std::vector<std::string> command = {torch_binary.string(), "run"};
  command.insert(command.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::string variable = std::string(kHeadVariable) + "=" + channel;
  std::vector<char*> envp = {variable.data()};
  for (char** entry = environ; *entry != nullptr; ++entry) envp.push_back(*entry);
  envp.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  pid_t child = -1;
  const int spawned = ::posix_spawn(&child, argv[0], nullptr, nullptr, argv.data(), envp.data());
  if (spawned != 0) {
    throw std::runtime_error("this command needs LibTorch, which trd runs in " +
                             torch_binary.string() +
                             ", but it cannot be started: " + std::strerror(spawned));
  }
  return child;
}

// A head as sent through the channel: its length, a newline, the head.
std::string framed(const std::string& encoded_head) {
  return std::to_string(encoded_head.size()) + '\n' + encoded_head;
}

// The head in `framed` text once it has all come, else nothing.
std::optional<std::string> unframed(const std::string& text) {
  const std::size_t newline = text.find('\n');
  if (newline == std::string::npos || newline == 0 ||
      text.find_first_not_of("0123456789") != newline) {
    return std::nullopt;
  }
  const std::size_t size = std::stoull(text.substr(0, newline));
  if (text.size() < newline + 1 + size) return std::nullopt;
  return text.substr(newline + 1, size);
}

struct HeadOutcome {
  std::optional<std::string> torch_head;  ///< none: trd-torch refused the command line, or died
  bool stopped = false;  ///< trd stopped the head: trd-torch refused it or read another
  int status = kExitOk;  ///< the head's exit status
  std::string error;     ///< the head's error line, for trd to show after the rollback
};

// Runs `head` in a fork and relays its output, held back until trd-torch's
// head (read from `torch_fd`) is the same: a bad flag is reported alone, as
// if nothing had run. `accepted` runs then. Returns once the head has ended.
template <typename Accepted>
HeadOutcome run_head_until_accepted(const RunHead& head, int torch_fd, int answer_fd,
                                    Accepted accepted) {
  Channel out(false, O_CLOEXEC), err(false, O_CLOEXEC), error(false, O_CLOEXEC);
  // Settled before the fork, so that the head's progress is a live line on
  // a terminal although its stderr is a pipe.
  stderr_is_terminal();
  std::cout.flush();
  std::cerr.flush();
  const pid_t trd = ::getpid();
  const pid_t head_process = ::fork();
  if (head_process == 0) run_head_in_fork(head, trd, out, err, error, {torch_fd, answer_fd});
  close_fd(out.write);
  close_fd(err.write);
  close_fd(error.write);

  HeadOutcome outcome;
  std::string from_torch;
  // The head's output as it came, stream by stream, until it can be shown.
  std::vector<std::pair<int, std::string>> held;
  std::vector<pollfd> watched = {
      {torch_fd, POLLIN, 0}, {out.read, POLLIN, 0}, {err.read, POLLIN, 0}, {error.read, POLLIN, 0}};
  int* const owned[] = {nullptr, &out.read, &err.read, &error.read};  // trd-torch's is the caller's
  const int shown_on[] = {-1, STDOUT_FILENO, STDERR_FILENO, -1};
  bool decided = false;
  const auto watching = [&] {
    return std::any_of(watched.begin(), watched.end(), [](const pollfd& p) { return p.fd >= 0; });
  };
  while (watching()) {
    if (::poll(watched.data(), watched.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (std::size_t i = 0; i < watched.size(); ++i) {
      if (watched[i].fd < 0 || watched[i].revents == 0) continue;
      std::string got;
      const bool more = read_some(watched[i].fd, i == 0 ? from_torch : got);
      if (i == 0) outcome.torch_head = unframed(from_torch);
      if (i == 3) outcome.error += got;
      if (shown_on[i] >= 0 && !got.empty()) held.emplace_back(shown_on[i], std::move(got));
      // trd-torch's end stays open once its head has come: it says there
      // why it failed, if it fails.
      if (more && !(i == 0 && outcome.torch_head)) continue;
      if (owned[i] != nullptr) close_fd(*owned[i]);
      watched[i].fd = -1;
      if (i != 0 || decided) continue;
      decided = true;
      if (outcome.torch_head == head.encoded()) {
        accepted();
      } else {
        ::kill(head_process, SIGKILL);  // its work goes, unseen
        outcome.stopped = true;
      }
    }
    if (!decided) continue;
    if (!outcome.stopped) {
      for (const auto& [fd, bytes] : held) write_all(fd, bytes);
    }
    held.clear();
  }
  outcome.status =
      ended(head_process, outcome.stopped ? "" : "the run's first stages (in trd)", outcome.error);
  return outcome;
}

}  // namespace

int run_with_head_beside(const std::vector<std::string>& args, void (*hand_off)()) {
  const double start = now_seconds();
  const auto run_all_in_trd_torch = [hand_off] {
    hand_off();
    return kExitInternalError;  // hand_off() does not return
  };
  std::string out;
  const std::optional<RunHead> head = head_trd_can_run(args, out);
  if (!head) return run_all_in_trd_torch();
  std::error_code error;
  const bool created = std::filesystem::create_directories(out, error);
  std::optional<FolderLock> lock;
  try {
    lock.emplace(out);
  } catch (const InputError&) {
    return run_all_in_trd_torch();  // which says so, after checking every flag
  }
  // Taken under the lock: what another process wrote before is not this run's.
  const RunFolderRollback rollback(out, created);
  std::optional<KeptFiles> kept;
  try {
    kept.emplace(std::vector<std::string>{head->dataset_path, head->knowledge_path});
  } catch (const std::filesystem::filesystem_error&) {
    lock.reset();
    return run_all_in_trd_torch();  // no hard links here, or a killed run's in the way
  }

  // trd-torch's ends stay open across its exec; it marks them close-on-exec
  // itself (HeadBeside::from_environment). Its answers go by a socket, whose
  // writer can ask not to be killed when trd-torch has gone.
  Channel to_trd(false, 0), from_trd(true, 0);
  ::fcntl(to_trd.read, F_SETFD, FD_CLOEXEC);
  ::fcntl(from_trd.write, F_SETFD, FD_CLOEXEC);
  // Undone under the lock: another run's files are not this one's to take.
  const auto fail = [&](int status, bool say_so, const std::string& errors) {
    kept->restore();
    rollback.undo(say_so);
    lock.reset();
    std::cerr << errors << std::flush;
    return status;
  };
  pid_t torch_process = -1;
  try {
    torch_process =
        start_trd_torch(args, std::to_string(to_trd.write) + "," + std::to_string(from_trd.read) +
                                  "," + exact(start) + "," + std::to_string(::getpid()));
  } catch (...) {
    fail(kExitInternalError, false, "");
    throw;
  }
  close_fd(to_trd.write);
  close_fd(from_trd.read);

  const HeadOutcome outcome =
      run_head_until_accepted(*head, to_trd.read, from_trd.write, [&] { kept->drop(); });
  if (!outcome.torch_head) {  // trd-torch refused the command line, and said why
    close_fd(from_trd.write);
    std::string note;
    const int status = ended(torch_process, "trd-torch", note);
    return fail(status == kExitOk ? kExitInternalError : status, false, note);
  }
  bool answered = true;
  if (outcome.stopped) {
    // trd-torch read another head from the command line: it runs that one.
    kept->restore();
    rollback.remove_written();
    answered = write_all(from_trd.write, "n", /*socket=*/true);
  } else if (outcome.status == kExitOk) {
    answered = write_all(from_trd.write, "y", /*socket=*/true);
  }
  close_fd(from_trd.write);  // without an answer: the head failed, and trd-torch stops
  // What trd-torch sent after its head: its error, if it failed. The
  // channel ends when trd-torch does.
  std::string torch_errors = read_to_end(to_trd.read);
  const int torch_status = ended(torch_process, "trd-torch", torch_errors);
  if (!outcome.stopped && outcome.status != kExitOk) {
    return fail(outcome.status, true, outcome.error);
  }
  if (torch_status != kExitOk || !answered) {
    return fail(torch_status == kExitOk ? kExitInternalError : torch_status, true, torch_errors);
  }
  return kExitOk;
}

std::optional<HeadBeside> HeadBeside::from_environment() {
  const char* channel = std::getenv(kHeadVariable);
  if (channel == nullptr) return std::nullopt;
  int to_trd = -1;
  int from_trd = -1;
  double run_start = 0;
  long trd = 0;
  const bool read =
      std::sscanf(channel, "%d,%d,%lf,%ld", &to_trd, &from_trd, &run_start, &trd) == 4;
  ::unsetenv(kHeadVariable);
  if (!read || ::fcntl(to_trd, F_GETFD) < 0 || ::fcntl(from_trd, F_GETFD) < 0) {
    return std::nullopt;
  }
  ::fcntl(to_trd, F_SETFD, FD_CLOEXEC);
  ::fcntl(from_trd, F_SETFD, FD_CLOEXEC);
  // trd holds the run folder and answers for the run: without it, stop.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != static_cast<pid_t>(trd)) throw HeadFailedBeside{};
  return HeadBeside(to_trd, from_trd, run_start);
}

bool HeadBeside::done_beside(const RunHead& head) {
  write_all(to_trd_, framed(head.encoded()));
  head_sent_ = true;
  std::string answer;
  read_some(from_trd_, answer);
  close_fd(from_trd_);
  if (answer == "y") return true;
  if (answer == "n") return false;
  throw HeadFailedBeside{};
}

void HeadBeside::send_errors_to_trd() const {
  if (!head_sent_) return;  // trd reads no errors before the head: they go out here
  std::cout.flush();
  std::cerr.flush();
  ::dup2(to_trd_, STDERR_FILENO);
}

}  // namespace trd::cli
