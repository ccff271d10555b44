#pragma once

#include <Eigen/SparseCore>

#include "teachers/teacher.hpp"

namespace trd {

/// Item-based collaborative filtering: cosine similarity between the items'
/// user sets, each item keeping its `neighbours` most similar items;
/// score(u, i) = sum of sim(i, j) over the user's items j among i's
/// neighbours. Has no embeddings: it exports its neighbour lists as the
/// similarity knowledge instead. A warm start refits on the longer history.
class ItemKnn : public Teacher {
 public:
  explicit ItemKnn(const TeacherSettings& settings) : neighbours_(settings.neighbours) {}

  void fit(const TrainingSet& data, const Knowledge* warm_start,
           const EpochCallback& on_epoch) override;
  void score(const std::vector<int32_t>& users, RowMatrixXf& out) const override;
  void export_state(Knowledge& knowledge) const override;

 private:
  int neighbours_;
  int32_t n_items_ = 0;
  UserItems user_items_;  // each user's distinct items
  /// Column j holds (i, sim(i, j)) for every item i that keeps j as a
  /// neighbour, so scoring scatters from a user's items.
  Eigen::SparseMatrix<float> neighbour_of_;
  RowMatrixXi neighbour_items_;    // [n_items, kept] best first, -1 padded
  RowMatrixXf neighbour_weights_;  // [n_items, kept]
};

}  // namespace trd
