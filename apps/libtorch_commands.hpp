#pragma once

// What trd needs LibTorch for, and how trd starts without it.
//
// apps/ builds two executables from the same sources. trd-torch links the
// real definitions of the functions below (cmd_run.cpp, cmd_train.cpp,
// cmd_recommend.cpp, cmd_bench_agent.cpp, cmd_inspect_agent.cpp,
// student.cpp, teachers/neural/registry.cpp). trd links
// apps/libtorch_handoff.cpp in their place: each of its versions replaces
// the process with trd-torch (installed next to trd) on the same command
// line (/proc/self/cmdline), before anything is written. So `trd --help`, `trd data`, `trd inspect`
// of HDF5 files, `trd eval` of knowledge files and the Eigen teachers never
// load LibTorch's 150 MB, and every command and flag is the same in both.
//
// The other functions trd hands off are declared where they belong:
// run_run, run_train and run_recommend (apps/commands.hpp), bench_agent
// (apps/bench.hpp), report_student (apps/student.hpp) and make_teacher
// (teachers/registry.hpp, for neumf). trd's run_run is the one that does
// more: it runs the run's first stages itself while trd-torch loads
// LibTorch beside it (apps/run_head.hpp).

#include <string>

namespace trd::cli {

/// `trd inspect` of a `trd train` folder or its agent.json.
int inspect_agent(const std::string& sidecar_path, bool json);

}  // namespace trd::cli
