#pragma once

// Every file trd writes goes through here, so a crash or an exception never
// leaves a partial file under the final name.

#include <functional>
#include <string>

namespace trd {

/// Calls `write` with a temporary path in `path`'s folder, then renames the
/// temporary file to `path`. If `write` throws, the temporary file is removed
/// and the exception passes on. InputError if the folder does not exist.
void replace_atomically(const std::string& path,
                        const std::function<void(const std::string& temporary)>& write);

/// Writes `text` to `path` that way; InputError naming `path` if it cannot.
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace trd
