#pragma once

// Locates what the tests read from ../shared (datasets, golden files), never
// from the repository: the datasets' licences forbid redistribution. A missing
// file fails the test under CI=true; elsewhere the test prints "SKIPPED: ..."
// (CTest reports it as skipped) and the helper returns nullopt.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/loaders.hpp"

namespace trd::testing {

/// The first of `candidates` that exists, or nullopt after applying the
/// missing-file rule with a message naming `what` and every place looked.
inline std::optional<std::string> first_existing(
    const std::string& what, const std::vector<std::filesystem::path>& candidates) {
  std::string looked;
  for (const auto& candidate : candidates) {
    if (std::filesystem::is_regular_file(candidate)) return candidate.string();
    looked += (looked.empty() ? "" : ", ") + candidate.string();
  }
  const std::string message = what + " not found (looked in " + looked + ")";
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string(ci) == "true") FAIL("CI=true and " << message);
  std::cout << "SKIPPED: " << message << std::endl;
  WARN("SKIPPED: " << message);
  return std::nullopt;
}

inline std::filesystem::path shared_dir() {
  return std::filesystem::path(TRD_SOURCE_DIR) / ".." / "shared";
}

/// A dataset file such as "ml-100k/u.data", under $TRD_DATA_DIR or
/// ../shared/datasets.
inline std::optional<std::string> shared_dataset(const std::string& relative) {
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("TRD_DATA_DIR"); env != nullptr && *env) {
    candidates.push_back(std::filesystem::path(env) / relative);
  }
  candidates.push_back(shared_dir() / "datasets" / relative);
  return first_existing(relative, candidates);
}

/// A golden file such as "metrics.json" from ../shared/golden, parsed.
inline std::optional<nlohmann::json> golden(const std::string& name) {
  const auto path = first_existing(name, {shared_dir() / "golden" / name});
  if (!path) return std::nullopt;
  std::ifstream in(*path);
  return nlohmann::json::parse(in);
}

/// ML-100K under the default protocol (per-user time split, 60/10/10/20).
inline std::optional<Dataset> ml100k() {
  const auto path = shared_dataset("ml-100k/u.data");
  if (!path) return std::nullopt;
  DatasetProvenance provenance;
  provenance.name = "ml-100k";
  return make_dataset(load_interactions(*path, SourceFormat::kMovieLens100K).interactions,
                      provenance);
}

}  // namespace trd::testing
