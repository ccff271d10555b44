#include "data/atomic_file.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/error.hpp"

namespace trd {

void replace_atomically(const std::string& path,
                        const std::function<void(const std::string& temporary)>& write) {
  const std::filesystem::path final_path(path);
  if (final_path.has_parent_path() && !std::filesystem::is_directory(final_path.parent_path())) {
    throw InputError(path + ": folder " + final_path.parent_path().string() + " does not exist");
  }
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  try {
    write(temporary);
    std::filesystem::rename(temporary, final_path);
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  replace_atomically(path, [&](const std::string& temporary) {
    std::ofstream out(temporary);
    out << text;
    if (!out.flush()) throw InputError(path + ": cannot be written");
  });
}

}  // namespace trd
