// The trd executable's versions of what needs LibTorch (see
// apps/libtorch_commands.hpp): each re-runs this command line in trd-torch.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "apps/bench.hpp"
#include "apps/commands.hpp"
#include "apps/libtorch_commands.hpp"
#include "apps/run_head.hpp"
#include "apps/student.hpp"
#include "teachers/registry.hpp"

namespace trd {
namespace {

// trd's own argv, read back from the kernel so that main() needs no part in it.
std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::string> args;
  for (std::size_t start = 0; start < bytes.size();) {
    const std::size_t end = bytes.find('\0', start);
    args.push_back(bytes.substr(start, end - start));
    start = end == std::string::npos ? bytes.size() : end + 1;
  }
  return args;
}

[[noreturn]] void run_in_trd_torch() {
  const std::filesystem::path torch_binary =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "trd-torch";
  std::vector<std::string> args = own_command_line();
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::execv(torch_binary.c_str(), argv.data());
  // Not an InputError: the command line is fine, the installation is not.
  throw std::runtime_error("this command needs LibTorch, which trd runs in " +
                           torch_binary.string() + ", but it cannot be started: " +
                           std::strerror(errno));
}

}  // namespace

std::unique_ptr<Teacher> make_teacher(const std::string& name, const TeacherSettings& settings) {
  if (std::unique_ptr<Teacher> teacher = make_eigen_teacher(name, settings)) return teacher;
  run_in_trd_torch();
}

namespace cli {

int run_run(const std::vector<std::string>& args) {
  return run_with_head_beside(args, run_in_trd_torch);
}
int run_train(const std::vector<std::string>&) { run_in_trd_torch(); }
int run_recommend(const std::vector<std::string>&) { run_in_trd_torch(); }
int bench_agent(const po::variables_map&) { run_in_trd_torch(); }
int inspect_agent(const std::string&, bool) { run_in_trd_torch(); }
nlohmann::json report_student(const StudentReportInputs&) { run_in_trd_torch(); }

}  // namespace cli
}  // namespace trd
