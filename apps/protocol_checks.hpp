#pragma once

// Checks of knowledge files against the protocol (stage, window, warm start,
// non-empty splits) and how reports describe them; shared by the commands
// with and without LibTorch.

#include <nlohmann/json.hpp>
#include <string>

#include "data/dataset.hpp"
#include "data/knowledge.hpp"
#include "env/rec_env.hpp"

namespace trd::cli {

/// InputError naming `source` (the list-length flag or the knowledge file)
/// when the window or the episode is longer than the teacher's lists of
/// `list_length` items: those slots could never hold an item, and a huge
/// window would only fill memory.
void check_window_fits(const EnvSettings& env, int list_length, const std::string& source);

/// InputError unless `knowledge` holds lists for `expected` (its stage
/// attribute); `role` says what the file is used as ("trd train --knowledge").
void check_stage(const Knowledge& knowledge, const std::string& knowledge_path, Split expected,
                 const std::string& role);

/// InputError naming `dataset_path` when `split` has no rows; `why` says
/// what that split was needed for.
void check_split_not_empty(const Dataset& dataset, const std::string& dataset_path, Split split,
                           const std::string& why);

/// InputError when `knowledge` records a warm start from another file than
/// the one at `earlier_crc32` (the earlier stage the student's tables come
/// from); a fresh fit or a file without the attribute passes.
void check_warm_start_from(const Knowledge& knowledge, const std::string& knowledge_path,
                           const std::string& earlier_crc32, const std::string& earlier_path);

/// What a report says of how a knowledge file was ranked.
std::string protocol_text(const Knowledge& knowledge, const std::string& knowledge_path,
                          int n_candidates);

/// The identity of a knowledge file, as a checkpoint sidecar records it.
nlohmann::json knowledge_summary(const Knowledge& knowledge, const std::string& path);

}  // namespace trd::cli
