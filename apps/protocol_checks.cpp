#include "apps/protocol_checks.hpp"

#include "data/error.hpp"
#include "data/loaders.hpp"

namespace trd::cli {

nlohmann::json knowledge_summary(const Knowledge& knowledge, const std::string& path) {
  return {{"file", path},
          {"teacher", knowledge.teacher},
          {"stage", knowledge.stage},
          {"n_users", knowledge.n_users},
          {"n_items", knowledge.n_items},
          {"dim", knowledge.user_embeddings.cols()},
          {"dataset_fingerprint", knowledge.dataset_fingerprint},
          {"crc32", file_crc32(path)}};
}

void check_window_fits(const EnvSettings& env, int list_length, const std::string& source) {
  if (env.n_actions > list_length || env.episode_length > list_length) {
    throw InputError(source + ": the teacher's lists hold " + std::to_string(list_length) +
                     " items, fewer than --n-actions " + std::to_string(env.n_actions) +
                     " or --episode-length " + std::to_string(env.episode_length));
  }
}

void check_stage(const Knowledge& knowledge, const std::string& knowledge_path, Split expected,
                 const std::string& role) {
  if (knowledge.stage != kSplitNames[expected]) {
    throw InputError(knowledge_path + ": attribute stage = '" + knowledge.stage +
                     "', expected '" + kSplitNames[expected] + "' (" + role + " takes the " +
                     kSplitNames[expected] + "-stage lists)");
  }
}

void check_split_not_empty(const Dataset& dataset, const std::string& dataset_path, Split split,
                           const std::string& why) {
  if (dataset.splits[split].size() == 0) {
    throw InputError(dataset_path + ": the " + kSplitNames[split] + " split is empty, and " + why +
                     " (too few interactions per user for its --ratios?)");
  }
}

void check_warm_start_from(const Knowledge& knowledge, const std::string& knowledge_path,
                           const std::string& earlier_crc32, const std::string& earlier_path) {
  const std::string& recorded = knowledge.protocol.warm_start_crc32;
  if (!recorded.empty() && recorded != earlier_crc32) {
    throw InputError(knowledge_path + ": attribute warm_start_crc32 = " + recorded +
                     ", expected " + earlier_crc32 + " (the CRC-32 of " + earlier_path +
                     "): it continues another teacher than the one the student learned from");
  }
}

std::string protocol_text(const Knowledge& knowledge, const std::string& knowledge_path,
                          int n_candidates) {
  std::string text =
      n_candidates > 0 ? std::to_string(n_candidates) + " candidates" : "full ranking";
  if (!knowledge.protocol.recorded) {
    text += " (" + knowledge_path + " records no protocol attributes: taken as a full ranking)";
  }
  return text;
}

}  // namespace trd::cli
