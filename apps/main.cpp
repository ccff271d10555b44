// The `trd` command: dispatches to one subcommand per stage of the pipeline.

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "apps/cli.hpp"
#include "apps/commands.hpp"

namespace {

const std::vector<trd::cli::Command>& commands() {
  static const std::vector<trd::cli::Command> kCommands = {
      {"run", "the whole pipeline: data, teacher per stage, student, report", trd::cli::run_run},
      {"data", "load, filter and split a dataset into dataset.h5", trd::cli::run_data},
      {"teacher", "fit a teacher for a stage and write its knowledge.h5", trd::cli::run_teacher},
      {"train", "train a student (DQN, DDPG, ...) on a teacher's knowledge", trd::cli::run_train},
      {"eval", "evaluate a knowledge file's lists on a split", trd::cli::run_eval},
      {"recommend", "a trained student's lists for users (no held-out data)",
       trd::cli::run_recommend},
      {"inspect", "validate and summarise any trd HDF5 file", trd::cli::run_inspect},
      {"bench", "measure speed: trd bench data | teacher | env | agent", trd::cli::run_bench},
  };
  return kCommands;
}

void print_usage(std::ostream& out) {
  out << "trd: Top-aware Recommender Distillation with deep reinforcement learning\n\n"
         "Usage: trd COMMAND [options]   (trd COMMAND --help for its options)\n\n"
         "Commands:\n";
  for (const auto& command : commands()) {
    out << "  " << command.name << std::string(11 - std::string(command.name).size(), ' ')
        << command.summary << "\n";
  }
  out << "\nExit codes: 0 success, 2 bad input, 1 internal error.\n";
}

int run_command(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return trd::cli::kExitBadInput;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return trd::cli::kExitOk;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& command : commands()) {
    if (name == command.name) {
      return trd::cli::guarded(name, [&] { return command.run(args); });
    }
  }
  std::cerr << "trd: unknown command '" << name << "' (see trd --help)\n";
  return trd::cli::kExitBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  const int status = run_command(argc, argv);
#if defined(__SANITIZE_ADDRESS__)
  return status;  // LeakSanitizer checks at a normal exit
#else
  // LibTorch spends a tenth of a second at a normal exit taking its
  // operators out of their registry. A command has closed every file it
  // wrote and joined its threads and children by now; only the standard
  // streams are left to flush.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(status);
#endif
}
