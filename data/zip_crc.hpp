#pragma once

#include <string>

namespace trd {

/// InputError naming `path` unless it is a zip archive whose every stored
/// entry matches the CRC-32 its central directory records. LibTorch's
/// checkpoint reader (miniz built without CRC checks) never verifies them, and
/// on damaged content it can crash rather than throw.
void verify_zip_crcs(const std::string& path);

}  // namespace trd
