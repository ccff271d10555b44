#pragma once

// Every file trd writes goes through here, so a crash or an exception never
// leaves a partial file under the final name, and no output replaces an input
// or something that is not a file.

#include <functional>
#include <string>
#include <vector>

namespace trd {

/// Calls `write` with a temporary path in `path`'s folder, then renames the
/// temporary file to `path`. If `write` throws, the temporary file is removed
/// and the exception passes on. InputError if the folder does not exist or
/// the file cannot be put there.
void replace_atomically(const std::string& path,
                        const std::function<void(const std::string& temporary)>& write);

/// Writes `text` to `path` that way; InputError naming `path` if it cannot.
void write_text_atomically(const std::string& path, const std::string& text);

/// InputError naming `flag` unless a file can be written at `path` before any
/// work starts: `path` is not empty, is not a folder or another non-regular
/// file (a device, a pipe), is none of `inputs` (the files the command reads,
/// however they are spelled or linked), and its folder exists and takes new
/// files.
void check_output_file(const std::string& path, const std::string& flag,
                       const std::vector<std::string>& inputs = {});

/// InputError naming `flag` unless `folder` is a folder, or does not exist
/// and can be created (its nearest existing ancestor is a folder that takes
/// new files); and each of `files` (names inside it that the command writes)
/// passes check_output_file against `inputs`.
void check_output_folder(const std::string& folder, const std::string& flag,
                         const std::vector<std::string>& files = {},
                         const std::vector<std::string>& inputs = {});

/// Holds an exclusive lock on a folder for the object's life, so that two
/// commands never write one folder at once; InputError naming the folder when
/// another process holds it. The lock goes with the process, however it ends.
class FolderLock {
 public:
  explicit FolderLock(const std::string& folder);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int descriptor_;
};

}  // namespace trd
