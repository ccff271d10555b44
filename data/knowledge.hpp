#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <string>

namespace trd {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixXi = Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// How a knowledge file's lists were made (DESIGN.md, "Files"). trd writes it
/// and checks it; a file from another tool may lack it, and is then taken as
/// a full ranking.
struct KnowledgeProtocol {
  bool recorded = false;  ///< false: the file carries no protocol attributes
  int64_t candidates = 0;  ///< 0: every unseen item was ranked; N: held-out items + negatives up to N
  int64_t candidate_seed = 0;     ///< seed of the candidate draws (meaningful when candidates > 0)
  std::string fit_on;             ///< the splits the teacher fit on, e.g. "base+rl"
  std::string warm_start_crc32;   ///< CRC-32 of the --init knowledge file; empty for a fresh fit
};

/// What a teacher hands to a student (DESIGN.md, "Files"): embeddings and a
/// ranked list of unseen items per user. The exchange format other tools
/// read and write as knowledge.h5.
struct Knowledge {
  std::string teacher;  ///< e.g. "bprmf"
  std::string dataset;  ///< the dataset's name (ml-100k, ...)
  std::string dataset_fingerprint;  ///< dataset_fingerprint() of the dataset file it was fit on
  std::string stage;    ///< rl, valid or test: whose split the lists are for
  int32_t n_users = 0;
  int32_t n_items = 0;
  RowMatrixXf user_embeddings;  ///< [n_users, dim]; empty (0 x 0) for teachers without
  RowMatrixXf item_embeddings;  ///< [n_items, dim]; empty for teachers without
  RowMatrixXi ranking_items;    ///< [n_users, L] best first, -1 padded
  RowMatrixXf ranking_scores;   ///< [n_users, L] teacher scores, non-increasing per row
  /// Similarity knowledge of teachers without embeddings (ItemKNN): each
  /// item's most similar items, best first, -1 padded; optional.
  RowMatrixXi neighbour_items;    ///< [n_items, k]
  RowMatrixXf neighbour_weights;  ///< [n_items, k] similarity of each entry, 0 where padded
  KnowledgeProtocol protocol;
  /// Extra named arrays a teacher needs to continue fitting (e.g. network
  /// weights); optional and opaque to other tools.
  std::map<std::string, RowMatrixXf> teacher_state;

  int dim() const { return static_cast<int>(item_embeddings.cols()); }
  bool has_embeddings() const { return item_embeddings.size() > 0; }
  bool has_neighbours() const { return neighbour_items.size() > 0; }
  int list_length() const { return static_cast<int>(ranking_items.cols()); }
};

inline constexpr const char* kKnowledgeFormat = "trd-knowledge";
inline constexpr int64_t kKnowledgeVersion = 1;

/// InputError naming `source` and `where` (the array's name) unless each row
/// of `items` holds item ids in [0, n_items), then only -1 padding, and no
/// item twice: what a ranked list must be to be scored.
void check_ranked_items(const RowMatrixXi& items, int32_t n_items, const std::string& source,
                        const std::string& where);

/// What read_knowledge checks of the content (shapes, id ranges, finite
/// values, sorted scores, no repeats); InputError naming `source` (a path, or
/// what built the knowledge) and the problem.
void check_knowledge(const Knowledge& knowledge, const std::string& source);

/// Writes `knowledge` to `path` atomically (no partial file on failure).
/// InputError, and no file, when it would fail read_knowledge's checks (a
/// NaN embedding or score, an unsorted list).
void write_knowledge(const Knowledge& knowledge, const std::string& path);

/// Reads and validates a knowledge file (format, version, shapes, id ranges,
/// finite values, scores sorted, no repeated item in a list or neighbour row). Throws
/// InputError naming the file, the dataset path and what was expected.
Knowledge read_knowledge(const std::string& path);

}  // namespace trd
