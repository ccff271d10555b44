#include "data/atomic_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/error.hpp"

namespace trd {
namespace {

namespace fs = std::filesystem;

// Creates and removes a probe file: the only reliable test that a folder takes
// new files (permissions, read-only mounts and /proc all answer here).
void check_folder_takes_files(const fs::path& folder, const std::string& what) {
  const fs::path probe = folder / (".trd-write-check." + std::to_string(::getpid()));
  const int descriptor = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (descriptor < 0) {
    throw InputError(what + ": cannot create files in " + folder.string() + " (" +
                     std::strerror(errno) + ")");
  }
  ::close(descriptor);
  ::unlink(probe.c_str());
}

fs::path folder_of(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

}  // namespace

void replace_atomically(const std::string& path,
                        const std::function<void(const std::string& temporary)>& write) {
  const fs::path final_path(path);
  if (!fs::is_directory(folder_of(final_path))) {
    throw InputError(path + ": folder " + folder_of(final_path).string() + " does not exist");
  }
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  try {
    write(temporary);
    std::error_code error;
    fs::rename(temporary, final_path, error);
    if (error) throw InputError(path + ": cannot be replaced (" + error.message() + ")");
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

void check_output_file(const std::string& path, const std::string& flag,
                       const std::vector<std::string>& inputs) {
  if (path.empty()) throw InputError(flag + " is empty: give the file to write");
  const std::string what = flag + " " + path;
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error && error != std::errc::no_such_file_or_directory) {
    throw InputError(what + ": " + error.message());
  }
  if (fs::exists(status)) {
    if (fs::is_directory(status)) throw InputError(what + ": is a folder, expected a file name");
    if (!fs::is_regular_file(status)) {
      throw InputError(what + ": exists and is not a regular file (a device or a pipe); trd "
                       "replaces its outputs, so give a file name");
    }
    for (const std::string& input : inputs) {
      if (!input.empty() && fs::equivalent(path, input, error)) {
        throw InputError(what + ": is also an input (" + input +
                         "); writing it would destroy that input");
      }
    }
  }
  const fs::path folder = folder_of(path);
  if (!fs::is_directory(folder, error)) {
    throw InputError(what + ": folder " + folder.string() + " does not exist");
  }
  check_folder_takes_files(folder, what);
}

void check_output_folder(const std::string& folder, const std::string& flag,
                         const std::vector<std::string>& files,
                         const std::vector<std::string>& inputs) {
  if (folder.empty()) throw InputError(flag + " is empty: give the folder to write");
  const std::string what = flag + " " + folder;
  std::error_code error;
  fs::path target = fs::absolute(folder, error).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "runs/latest/"
  fs::path existing = target;
  while (!fs::exists(fs::symlink_status(existing, error)) && existing.has_parent_path() &&
         existing != existing.parent_path()) {
    existing = existing.parent_path();
  }
  if (!fs::is_directory(existing, error)) {
    throw InputError(what + ": " + existing.string() +
                     (existing == target ? " is a file, expected a folder"
                                                              : " is not a folder"));
  }
  check_folder_takes_files(existing, what);
  if (existing != target) return;  // a new folder holds no inputs
  for (const std::string& file : files) {
    check_output_file((fs::path(folder) / file).string(), flag, inputs);
  }
}

FolderLock::FolderLock(const std::string& folder)
    : descriptor_(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  if (descriptor_ < 0) {
    throw InputError(folder + ": cannot be opened (" + std::strerror(errno) + ")");
  }
  if (::flock(descriptor_, LOCK_EX | LOCK_NB) != 0) {
    ::close(descriptor_);
    throw InputError(folder + ": in use by another trd process writing there; wait for it or "
                     "choose another folder");
  }
}

FolderLock::~FolderLock() { ::close(descriptor_); }

}  // namespace trd
