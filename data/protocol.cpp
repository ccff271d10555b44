#include "data/protocol.hpp"

#include "data/error.hpp"

namespace trd {

void check_knowledge_matches(const Knowledge& knowledge, const std::string& knowledge_path,
                             const Dataset& dataset, const std::string& dataset_path) {
  if (knowledge.n_users != dataset.n_users() || knowledge.n_items != dataset.n_items()) {
    throw InputError(knowledge_path + ": has " + std::to_string(knowledge.n_users) + " users and " +
                     std::to_string(knowledge.n_items) + " items, but " + dataset_path + " has " +
                     std::to_string(dataset.n_users()) + " and " +
                     std::to_string(dataset.n_items()) + " (knowledge for another dataset?)");
  }
  const std::string fingerprint = dataset_fingerprint(dataset);
  if (!knowledge.dataset_fingerprint.empty() && knowledge.dataset_fingerprint != fingerprint) {
    throw InputError(knowledge_path + ": was made from a dataset with fingerprint " +
                     knowledge.dataset_fingerprint + ", not " + dataset_path + " (" + fingerprint +
                     ")");
  }
}

void check_candidates(const Knowledge& knowledge, const std::string& knowledge_path,
                      int n_candidates, uint64_t candidate_seed) {
  const KnowledgeProtocol& protocol = knowledge.protocol;
  if (protocol.candidates == 0) {
    if (protocol.recorded && n_candidates > 0) {
      throw InputError(knowledge_path + ": attribute candidates = 0 (a full ranking, cut at " +
                       std::to_string(knowledge.list_length()) + " items), expected " +
                       std::to_string(n_candidates) +
                       ": rank within those sets with trd teacher "
                       "--candidates " +
                       std::to_string(n_candidates));
    }
    return;
  }
  const std::string ranked = "its lists were ranked within " + std::to_string(protocol.candidates) +
                             " candidates drawn with seed " +
                             std::to_string(protocol.candidate_seed);
  if (n_candidates == 0) {
    throw InputError(knowledge_path +
                     ": attribute candidates = " + std::to_string(protocol.candidates) +
                     ", expected 0 for a full ranking (" + ranked +
                     "; score it with --candidates " + std::to_string(protocol.candidates) +
                     " --candidate-seed " + std::to_string(protocol.candidate_seed) + ")");
  }
  if (n_candidates != protocol.candidates ||
      candidate_seed != static_cast<uint64_t>(protocol.candidate_seed)) {
    throw InputError(
        knowledge_path + ": attributes candidates = " + std::to_string(protocol.candidates) +
        ", candidate_seed = " + std::to_string(protocol.candidate_seed) + ", expected " +
        std::to_string(n_candidates) + " and " + std::to_string(candidate_seed) + " (" + ranked +
        ", not within the sets asked for here)");
  }
}

}  // namespace trd
