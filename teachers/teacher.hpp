#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/dataset.hpp"
#include "data/knowledge.hpp"
#include "data/user_items.hpp"

namespace trd {

/// What a teacher fits on: every interaction before the stage's split.
struct TrainingSet {
  InteractionTable interactions;  ///< rows of base (+ rl (+ valid)) in split order
  int32_t n_users = 0;
  int32_t n_items = 0;
  UserItems seen;  ///< each user's items in `interactions`, oldest first
};

/// The training set for `stage` (rl: base; valid: base + rl; test: base + rl + valid).
TrainingSet training_set(const Dataset& dataset, Split stage);

/// Hyper-parameters; each teacher reads the ones that apply to it.
struct TeacherSettings {
  int dim = 32;  ///< embedding size
  int epochs = 50;
  float lr = 0.01f;      ///< learning rate
  int negatives = 4;     ///< uniform negatives per positive
  float l2 = 0.0f;       ///< L2 penalty on the embeddings (per update)
  int threads = 1;       ///< training threads (1: bit-reproducible)
  int neighbours = 100;  ///< ItemKNN: similar items kept per item
  int window = 5;        ///< item2vec: context items on each side
  uint64_t seed = 0;
};

/// Called after each epoch with (epoch, of how many, mean training loss).
using EpochCallback = std::function<void(int epoch, int epochs, double loss)>;

/// A recommender that fits on interactions and exports knowledge. One class
/// per algorithm; make_teacher() in apps/ builds them by name.
class Teacher {
 public:
  virtual ~Teacher() = default;

  /// Fits on `data`. With `warm_start` (knowledge this teacher exported for an
  /// earlier stage of the same dataset) it continues from that state rather
  /// than starting afresh, so the embedding space stays the one a student saw.
  virtual void fit(const TrainingSet& data, const Knowledge* warm_start,
                   const EpochCallback& on_epoch) = 0;

  /// Scores of `users` against every item, one row per user (higher is
  /// better); seen items are not masked here. Requires fit().
  virtual void score(const std::vector<int32_t>& users, RowMatrixXf& out) const = 0;

  /// Adds embeddings and teacher_state to `knowledge` (nothing for teachers
  /// without them).
  virtual void export_state(Knowledge& knowledge) const = 0;
};

/// Scores of a factor model: row r of `out` is user_table.row(users[r]) times
/// every row of item_table. Throws std::out_of_range for an unknown user.
void dot_product_scores(const RowMatrixXf& user_table, const RowMatrixXf& item_table,
                        const std::vector<int32_t>& users, RowMatrixXf& out);

/// Ranks each user's unseen items (restricted to `candidates` when given) with
/// `teacher` and returns knowledge with lists of length `list_length`, plus the
/// teacher's exported state. Scores users in batches to bound memory.
Knowledge distill(const Teacher& teacher, const std::string& teacher_name, const Dataset& dataset,
                  Split stage, const TrainingSet& data, int list_length,
                  const UserItems* candidates);

}  // namespace trd
