#pragma once

// Flags shared by `trd train` and `trd run`: the env's shape, the agent and
// the training budget.

#include <string>

#include "agents/registry.hpp"
#include "agents/training.hpp"
#include "apps/cli.hpp"
#include "data/dataset.hpp"
#include "data/knowledge.hpp"
#include "env/rec_env.hpp"

namespace trd::cli {

/// trd's student window, wider than DESIGN.md's env default of 20: measured
/// on ML-100K valid (README, "What the student reads").
inline constexpr int kStudentWindow = 50;

po::options_description env_options();
po::options_description agent_options();
/// Without --seed: each command adds its own (trd run shares one seed).
po::options_description training_options();

EnvSettings env_settings(const po::variables_map& values);
AgentSettings agent_settings(const po::variables_map& values);
TrainSettings train_settings(const po::variables_map& values);

/// InputError unless `knowledge` was made from `dataset` (sizes and fingerprint).
void check_knowledge_matches(const Knowledge& knowledge, const std::string& knowledge_path,
                             const Dataset& dataset, const std::string& dataset_path);

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

/// InputError unless the scoring uses the candidate sets the file's lists
/// were ranked within: a file ranked within N candidates drawn with seed S
/// must be scored with --candidates N and candidate seed S (never as a full
/// ranking), and a full-ranking file only as one (its cut lists would miss
/// candidates). A file without protocol attributes is taken as a full ranking
/// that may be restricted to candidates, as before such files recorded it.
void check_candidates(const Knowledge& knowledge, const std::string& knowledge_path,
                      int n_candidates, uint64_t candidate_seed);

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

/// Trains an agent (see `trd train --help`) into `out_dir`: agent.pt (the best
/// epoch on valid), agent.json (its sidecar) and train.csv (one line per
/// epoch). Returns the sidecar.
nlohmann::json train_into(const po::variables_map& values, const std::string& dataset_path,
                          const std::string& train_knowledge_path,
                          const std::string& valid_knowledge_path, const std::string& out_dir);

}  // namespace trd::cli
