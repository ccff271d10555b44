#pragma once

// Agents from a shared library: `trd train|eval|run|recommend --agent-library
// PATH.so`. The library exports one C function, trd_register_agents, which
// TRD_AGENT_PLUGIN defines; examples/linear_agent.cpp is a worked plugin.
//
//   TRD_AGENT_PLUGIN(registry) {
//     registry.add({"linear", "one line for --help", options, settings_from_flags, make});
//   }
//
// The agent classes cross the library boundary as C++ objects, so a plugin
// must be built against the same trd version, compiler ABI and libraries
// (TRD_AGENT_PLUGIN_ABI): trd refuses one built otherwise, before it
// registers anything. A plugin links trd's static libraries itself, so it
// carries its own copy of their code and of any static state in them.

#include <torch/version.h>

#include <boost/version.hpp>
#include <string>

#include "agents/registry.hpp"

#define TRD_AGENT_PLUGIN_STRINGIFY_(x) #x
#define TRD_AGENT_PLUGIN_STRINGIFY(x) TRD_AGENT_PLUGIN_STRINGIFY_(x)
/// What a plugin and trd must share: the trd version, the C++ ABI (g++'s and
/// libstdc++'s string ABI) and the libraries whose types cross the boundary
/// (Boost.Program_options descriptions, nlohmann JSON, LibTorch modules).
#define TRD_AGENT_PLUGIN_ABI \
  "trd " TRD_VERSION " (g++ ABI " TRD_AGENT_PLUGIN_STRINGIFY(__GXX_ABI_VERSION) ", cxx11 "  \
  TRD_AGENT_PLUGIN_STRINGIFY(_GLIBCXX_USE_CXX11_ABI) ", Boost " TRD_AGENT_PLUGIN_STRINGIFY( \
      BOOST_VERSION) ", JSON " TRD_AGENT_PLUGIN_STRINGIFY(NLOHMANN_JSON_VERSION_MAJOR) "."      \
  TRD_AGENT_PLUGIN_STRINGIFY(NLOHMANN_JSON_VERSION_MINOR) ", LibTorch " TORCH_VERSION ")"

namespace trd {

/// The entry point's name and type. It registers its agents and returns
/// nullptr when `trd_abi` is its own TRD_AGENT_PLUGIN_ABI; otherwise it
/// registers nothing and returns its own.
inline constexpr const char* kAgentPluginEntry = "trd_register_agents";
using AgentPluginEntry = const char* (*)(AgentRegistry* registry, const char* trd_abi);

/// Loads the plugin at `path` into `registry`: InputError naming the path and
/// the reason when the file is missing, not a shared library, lacks the
/// entry point, was built against another trd, or registers a name taken
/// already. A library loaded before (by its canonical path) is skipped. It
/// stays loaded for the life of the process: its agents' code lives there.
void load_agent_library(const std::string& path, AgentRegistry& registry);

}  // namespace trd

#define TRD_AGENT_PLUGIN(registry)                                                   \
  static void trd_register_plugin_agents(::trd::AgentRegistry& registry);            \
  extern "C" __attribute__((visibility("default"))) const char* trd_register_agents( \
      ::trd::AgentRegistry* host_registry, const char* trd_abi) {                    \
    if (std::string(trd_abi) != TRD_AGENT_PLUGIN_ABI) return TRD_AGENT_PLUGIN_ABI;   \
    trd_register_plugin_agents(*host_registry);                                      \
    return nullptr;                                                                  \
  }                                                                                  \
  static void trd_register_plugin_agents(::trd::AgentRegistry& registry)
