#pragma once

// What every `trd` subcommand shares: option parsing with --help, --config and
// --json, the exit-code contract, and data-folder lookup.

#include <boost/program_options.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace trd::cli {

namespace po = boost::program_options;

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternalError = 1;
inline constexpr int kExitBadInput = 2;

/// One subcommand: its name, a one-line summary, and its entry point.
struct Command {
  const char* name;
  const char* summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

/// Options every subcommand takes (--help, --config, --json) plus `specific`.
/// Returns nullopt after printing help (`help_options` in place of
/// `specific` when given). Values given on the command line win over those in
/// the --config INI file. Throws po::error on bad flags.
std::optional<po::variables_map> parse(const std::string& command, const std::string& usage,
                                       const po::options_description& specific,
                                       const std::vector<std::string>& args,
                                       const po::positional_options_description& positional = {},
                                       const po::options_description* help_options = nullptr);

/// Whether stderr was a terminal when first asked (progress is then a live
/// line); a process that points stderr elsewhere later keeps the answer.
bool stderr_is_terminal();

/// Runs `body`, turning errors into the exit-code contract: InputError and bad
/// flags -> one line on stderr and exit 2; anything else -> exit 1.
int guarded(const std::string& command, const std::function<int()>& body);

/// Prints `figures` as one JSON object on the last line of stdout.
void print_json(const nlohmann::json& figures);

/// Folders searched for datasets, in order: --data-dir, $TRD_DATA_DIR,
/// ./datasets, ../shared/datasets.
std::vector<std::string> data_dirs(const std::string& data_dir_flag);

/// The first `relative` path that exists under data_dirs(), or nullopt.
std::optional<std::string> find_in_data_dirs(const std::string& relative,
                                             const std::string& data_dir_flag);

/// Progress of long work on stderr with an estimate of the time left, from
/// the rate so far (once 1% of the work or 10 s have gone by): a live line
/// rewritten in place on a terminal (a few times a second at most), else a
/// plain line at most every `plain_interval_s`.
class ProgressMeter {
 public:
  explicit ProgressMeter(std::string label, double plain_interval_s = 15.0);
  /// `fraction` of the work is done; prints when an update is due.
  void update(double fraction, const std::string& detail = "");
  /// A line that stays (an epoch's figures), with the time left appended
  /// while work remains.
  void line(double fraction, const std::string& text);
  /// Takes a live line off the terminal, so that other output can follow.
  void clear();

 private:
  std::string eta(double fraction) const;

  std::string label_;
  double plain_interval_s_;
  double start_;
  double last_shown_ = -1e300;
  bool live_shown_ = false;
};

/// "42 s", "3 min 5 s", "1 h 12 min".
std::string duration_text(double seconds);

/// Seconds since an arbitrary epoch, for timings.
double now_seconds();

/// "Intel(R) ... (2 cores)": the machine a timing was taken on.
std::string machine_description();

}  // namespace trd::cli
