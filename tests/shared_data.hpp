#pragma once

// Locates the real datasets the tests read from ../shared/datasets (never from
// the repository: their licences forbid redistribution).

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

namespace trd::testing {

/// The path of `relative` (e.g. "ml-100k/u.data") under $TRD_DATA_DIR or
/// <source>/../shared/datasets. When it is missing the test fails under
/// CI=true, and elsewhere prints "SKIPPED: ..." (CTest then reports the test as
/// skipped) and returns nullopt.
inline std::optional<std::string> shared_dataset(const std::string& relative) {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("TRD_DATA_DIR"); env != nullptr && *env) dirs.emplace_back(env);
  dirs.emplace_back(std::filesystem::path(TRD_SOURCE_DIR) / ".." / "shared" / "datasets");
  std::string looked;
  for (const auto& dir : dirs) {
    const auto candidate = dir / relative;
    if (std::filesystem::is_regular_file(candidate)) return candidate.string();
    looked += (looked.empty() ? "" : ", ") + candidate.string();
  }
  const std::string message = relative + " not found (looked in " + looked + ")";
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string(ci) == "true") FAIL("CI=true and " << message);
  std::cout << "SKIPPED: " << message << std::endl;
  WARN("SKIPPED: " << message);
  return std::nullopt;
}

}  // namespace trd::testing
