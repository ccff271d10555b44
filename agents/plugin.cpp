#include "agents/plugin.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <set>

namespace trd {

void load_agent_library(const std::string& path, AgentRegistry& registry) {
  const std::string flag = "--agent-library " + path;
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw InputError(flag + ": no such file");
  }
  // dlopen searches the library path for a name without a slash; the flag
  // names a file.
  const std::string canonical = std::filesystem::canonical(path, error).string();
  static std::set<std::string> loaded;
  if (loaded.count(canonical) > 0) return;
  void* library = ::dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    throw InputError(flag + ": cannot load it as a shared library (" + ::dlerror() + ")");
  }
  auto entry = reinterpret_cast<AgentPluginEntry>(::dlsym(library, kAgentPluginEntry));
  if (entry == nullptr) {
    ::dlclose(library);
    throw InputError(flag + ": exports no " + kAgentPluginEntry +
                     " (not a trd agent plugin; see examples/linear_agent.cpp)");
  }
  AgentRegistry added;
  const char* plugin_abi = nullptr;
  try {
    plugin_abi = entry(&added, TRD_AGENT_PLUGIN_ABI);
  } catch (const InputError& registering) {
    throw InputError(flag + ": " + registering.what());
  }
  if (plugin_abi != nullptr) {
    const std::string theirs = plugin_abi;  // the text lives in the library
    ::dlclose(library);
    throw InputError(flag + ": built against " + theirs + ", but this is " + TRD_AGENT_PLUGIN_ABI +
                     ": rebuild the plugin");
  }
  if (added.registrations().empty()) throw InputError(flag + ": registers no agent");
  for (const AgentRegistration& registration : added.registrations()) {
    if (registry.find_nothrow(registration.name) != nullptr) {
      throw InputError(flag + ": registers agent '" + registration.name +
                       "', a name taken already");
    }
  }
  for (const AgentRegistration& registration : added.registrations()) registry.add(registration);
  loaded.insert(canonical);
}

}  // namespace trd
