#pragma once

// The head of `trd run`: the data stage and the rl stage's teacher, which
// need no LibTorch. trd runs them in a child process of its own while
// trd-torch, started beside it, loads LibTorch (about 0.3-0.5 s, most of it
// LibTorch registering its operators) and checks the whole command line:
//
//   trd (run_with_head_beside)
//    |- a fork of trd: the head, its output held back until trd-torch
//    |  has accepted the command line, then shown as it comes
//    '- trd-torch, the same command line, TRD_RUN_HEAD in its environment:
//       checks every flag as always, then sends the head it would run; trd
//       answers once the head is done (or tells it to run the head itself
//       when the two differ), and trd-torch goes on with training.
//
// trd holds the run folder's lock and takes away what the run wrote when it
// fails, whichever process failed. A command line trd cannot read alone (a
// --config file, --help, a teacher that needs LibTorch, a parse it doubts)
// goes to trd-torch whole, as every other LibTorch command does.

#include <boost/program_options.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace trd::cli {

namespace po = boost::program_options;

/// `trd run`'s option groups that need no LibTorch.
struct RunOptions {
  RunOptions();
  po::options_description run;
  po::options_description data;
  po::options_description teacher;
  /// Passed to trd teacher without the prefix; unset ones keep the teacher's defaults.
  po::options_description teacher_settings;
};

/// The teacher command (`trd teacher`'s arguments) of `stage`, warm-started
/// from `previous_stage`'s knowledge when that is not empty.
std::vector<std::string> stage_teacher_args(const po::variables_map& v, const RunOptions& options,
                                            const std::string& stage,
                                            const std::string& previous_stage);

/// The run folder's files.
std::string run_dataset_path(const po::variables_map& v);
std::string run_knowledge_path(const po::variables_map& v, const std::string& stage);

/// Text that reads back as the same value (std::to_string keeps only 6 decimals).
std::string exact(double value);

/// What the head runs: `trd data`'s arguments and the rl stage's teacher's.
struct RunHead {
  std::string dataset_path;
  std::string knowledge_path;  ///< the rl stage's
  std::vector<std::string> data_args;
  std::vector<std::string> teacher_args;
  /// The two lists as one string, for trd and trd-torch to compare.
  std::string encoded() const;
};
RunHead run_head(const po::variables_map& v, const RunOptions& options);

/// Runs the head in this process; InputError when its data has an empty split.
void run_head_stages(const RunHead& head);

/// Creates the run folder if needed and remembers what it held, so that a
/// failing run can take away every file it wrote (files of an earlier run it
/// had not yet replaced stay) and the folder itself if it made it.
class RunFolderRollback {
 public:
  explicit RunFolderRollback(const std::string& folder);
  /// Of an existing `folder`, which this run made when `created`.
  RunFolderRollback(const std::string& folder, bool created);
  /// Removes the files and the folders the run wrote inside the folder;
  /// how many files.
  std::size_t remove_written() const;
  /// remove_written(), then the folder if the run made it; `say_so`: says
  /// how many files went.
  void undo(bool say_so = true) const;

 private:
  std::string folder_;
  bool created_;
  std::map<std::filesystem::path, std::filesystem::file_time_type> before_;
};

/// trd's `trd run`: the head beside trd-torch as above, or `hand_off`, which
/// replaces the process with trd-torch and must not return, when it cannot.
/// The exit status.
int run_with_head_beside(const std::vector<std::string>& args, void (*hand_off)());

/// Thrown in trd-torch when trd's head failed: trd has shown the error.
struct HeadFailedBeside {};

/// trd-torch's end, when trd runs the head beside it.
class HeadBeside {
 public:
  /// The channel trd passed in TRD_RUN_HEAD, or none (trd-torch started on
  /// its own). Takes the variable out of the environment, so the processes
  /// trd-torch starts do not see it. HeadFailedBeside when trd has gone.
  static std::optional<HeadBeside> from_environment();

  /// Sends the head this process would run and waits for trd: true when
  /// trd ran that head, false when this process must run it itself (trd
  /// read the command line otherwise). HeadFailedBeside when it failed.
  bool done_beside(const RunHead& head);
  /// Once the head is sent, sends what this process writes to stderr from
  /// now on to trd, which shows it after taking away what the run wrote: a
  /// failing run's error stays its last line.
  void send_errors_to_trd() const;
  /// When trd started the run (now_seconds()).
  double run_start() const { return run_start_; }

 private:
  HeadBeside(int to_trd, int from_trd, double run_start)
      : to_trd_(to_trd), from_trd_(from_trd), run_start_(run_start) {}
  int to_trd_;
  int from_trd_;
  double run_start_;
  bool head_sent_ = false;
};

}  // namespace trd::cli
