#pragma once

// Whether a knowledge file may be used with a dataset and a scoring
// protocol: the checks trd's commands and the Python package share.

#include <cstdint>
#include <string>

#include "data/dataset.hpp"
#include "data/knowledge.hpp"

namespace trd {

/// InputError unless `knowledge` was made from `dataset` (sizes and fingerprint).
void check_knowledge_matches(const Knowledge& knowledge, const std::string& knowledge_path,
                             const Dataset& dataset, const std::string& dataset_path);

/// InputError unless the scoring uses the candidate sets the file's lists
/// were ranked within: a file ranked within N candidates drawn with seed S
/// must be scored with --candidates N and candidate seed S (never as a full
/// ranking), and a full-ranking file only as one (its cut lists would miss
/// candidates). A file without protocol attributes is taken as a full ranking
/// that may be restricted to candidates, as before such files recorded it.
void check_candidates(const Knowledge& knowledge, const std::string& knowledge_path,
                      int n_candidates, uint64_t candidate_seed);

}  // namespace trd
