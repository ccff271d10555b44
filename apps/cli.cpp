#include "apps/cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "data/error.hpp"

namespace trd::cli {

bool stderr_is_terminal() {
  static const bool kTerminal = ::isatty(STDERR_FILENO) != 0;
  return kTerminal;
}

namespace {

// Boost reads "-1" as an unsigned 2^64 - 1; a negative count or seed is a typo.
void reject_negative_unsigned(const po::parsed_options& parsed, const po::options_description& all,
                              const std::string& source) {
  for (const po::option& option : parsed.options) {
    const po::option_description* description = all.find_nothrow(option.string_key, false);
    if (description == nullptr ||
        dynamic_cast<const po::typed_value<uint64_t>*>(description->semantic().get()) == nullptr) {
      continue;
    }
    for (const std::string& value : option.value) {
      if (value.find('-') != std::string::npos) {
        throw InputError(source + "--" + option.string_key + " " + value +
                         ": must be a non-negative integer");
      }
    }
  }
}

}  // namespace

std::optional<po::variables_map> parse(const std::string& command, const std::string& usage,
                                       const po::options_description& specific,
                                       const std::vector<std::string>& args,
                                       const po::positional_options_description& positional,
                                       const po::options_description* help_options) {
  po::options_description common("Common options");
  // clang-format off
  common.add_options()
      ("help,h", "print this help and exit")
      ("config", po::value<std::string>()->value_name("FILE"),
       "read options from an INI file (key = value, keys as the long flags); the command line wins")
      ("json", po::bool_switch(),
       "print the figures as one JSON object on the last line of stdout");
  // clang-format on
  po::options_description all;
  all.add(specific).add(common);

  po::variables_map values;
  const po::parsed_options parsed =
      po::command_line_parser(args).options(all).positional(positional).run();
  reject_negative_unsigned(parsed, all, "");
  po::store(parsed, values);
  if (values.count("help")) {
    po::options_description shown;
    shown.add(help_options != nullptr ? *help_options : specific).add(common);
    std::cout << "Usage: trd " << command << " " << usage << "\n\n" << shown << "\n";
    return std::nullopt;
  }
  if (values.count("config")) {
    const std::string path = values["config"].as<std::string>();
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
      throw InputError("--config " + path + ": not a file");
    }
    std::ifstream config(path);
    if (!config) throw InputError(path + ": cannot open config file");
    try {
      const po::parsed_options from_file = po::parse_config_file(config, all);
      reject_negative_unsigned(from_file, all, path + ": ");
      po::store(from_file, values);
    } catch (const po::error& error) {
      throw InputError(path + ": " + error.what());
    }
  }
  po::notify(values);
  return values;
}

int guarded(const std::string& command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const InputError& error) {
    std::cerr << "trd " << command << ": error: " << error.what() << "\n";
    return kExitBadInput;
  } catch (const po::error& error) {
    std::cerr << "trd " << command << ": error: " << error.what() << " (see trd " << command
              << " --help)\n";
    return kExitBadInput;
  } catch (const ExternalError& error) {
    std::cerr << "trd " << command << ": error: " << error.what() << "\n";
    return kExitInternalError;
  } catch (const std::exception& error) {
    std::cerr << "trd " << command << ": internal error: " << error.what() << "\n";
    return kExitInternalError;
  }
}

void print_json(const nlohmann::json& figures) { std::cout << figures.dump() << std::endl; }

std::vector<std::string> data_dirs(const std::string& data_dir_flag) {
  std::vector<std::string> dirs;
  if (!data_dir_flag.empty()) dirs.push_back(data_dir_flag);
  if (const char* from_env = std::getenv("TRD_DATA_DIR"); from_env != nullptr && *from_env) {
    dirs.emplace_back(from_env);
  }
  dirs.emplace_back("datasets");
  dirs.emplace_back("../shared/datasets");
  return dirs;
}

std::optional<std::string> find_in_data_dirs(const std::string& relative,
                                             const std::string& data_dir_flag) {
  for (const std::string& dir : data_dirs(data_dir_flag)) {
    const std::filesystem::path candidate = std::filesystem::path(dir) / relative;
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate.string();
  }
  return std::nullopt;
}

std::string duration_text(double seconds) {
  const long total = std::lround(std::max(0.0, seconds));
  char text[48];
  if (total < 60) {
    std::snprintf(text, sizeof text, "%ld s", total);
  } else if (total < 3600) {
    std::snprintf(text, sizeof text, "%ld min %ld s", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld h %ld min", total / 3600, (total % 3600) / 60);
  }
  return text;
}

ProgressMeter::ProgressMeter(std::string label, double plain_interval_s)
    : label_(std::move(label)), plain_interval_s_(plain_interval_s), start_(now_seconds()) {}

std::string ProgressMeter::eta(double fraction) const {
  // The first steps carry one-off costs (allocations, a network's first
  // calls): from the first of a 10M-interaction run's training steps the
  // estimate was 1 h 17 min, and training took 13 min. So there is none
  // until a share of the work, or a while, has gone by.
  constexpr double kFractionBeforeEstimate = 0.01;
  constexpr double kSecondsBeforeEstimate = 10.0;
  const double elapsed = now_seconds() - start_;
  if (fraction >= 1) return "done in " + duration_text(elapsed);
  if (fraction <= 0 || (fraction < kFractionBeforeEstimate && elapsed < kSecondsBeforeEstimate)) {
    return duration_text(elapsed) + " so far";
  }
  return duration_text(elapsed) + " so far, about " +
         duration_text(elapsed / fraction * (1 - fraction)) + " left";
}

void ProgressMeter::update(double fraction, const std::string& detail) {
  const double now = now_seconds();
  const double interval = stderr_is_terminal() ? 0.25 : plain_interval_s_;
  if (now - last_shown_ < interval) return;
  last_shown_ = now;
  char percent[16];
  std::snprintf(percent, sizeof percent, "%3.0f%%", 100.0 * fraction);
  const std::string text = label_ + ": " + percent + (detail.empty() ? "" : " " + detail) + ", " +
                           eta(fraction);
  if (stderr_is_terminal()) {
    std::cerr << "\r\033[K" << text << std::flush;
    live_shown_ = true;
  } else {
    std::cerr << text << "\n";
  }
}

void ProgressMeter::clear() {
  if (live_shown_) std::cerr << "\r\033[K" << std::flush;
  live_shown_ = false;
}

void ProgressMeter::line(double fraction, const std::string& text) {
  clear();
  std::cerr << text << (fraction < 1 ? " (" + eta(fraction) + ")" : "") << "\n";
  // The next plain update waits a full interval after a line.
  last_shown_ = now_seconds();
}

double now_seconds() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

std::string machine_description() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::string model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return model + " (" + std::to_string(std::thread::hardware_concurrency()) + " cores)";
}

}  // namespace trd::cli
