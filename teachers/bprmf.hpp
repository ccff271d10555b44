#pragma once

#include "teachers/teacher.hpp"

namespace trd {

/// Matrix factorisation trained with BPR (Rendle et al. 2009): stochastic
/// gradient ascent on log sigmoid(p_u . (q_i - q_j)) for every positive (u, i)
/// and `negatives` items j the user has not met, drawn uniformly, with an L2
/// penalty. With threads > 1 the workers update shared factors without locks
/// (Hogwild, Niu et al. 2011): fast, but two workers may write one item's row
/// at once. By the C++ memory model that is a data race (ThreadSanitizer says
/// so); on the machines trd runs on it loses an update now and then, which
/// SGD absorbs, and the result is not bit-reproducible. One thread (the
/// default) is race-free and reproducible, and `trd run --teacher-stage fixed`,
/// which must fit the same teacher for every stage, refuses more.
class BprMf : public Teacher {
 public:
  explicit BprMf(const TeacherSettings& settings) : settings_(settings) {}

  /// A warm start continues from the knowledge's user and item embeddings.
  void fit(const TrainingSet& data, const Knowledge* warm_start,
           const EpochCallback& on_epoch) override;
  void score(const std::vector<int32_t>& users, RowMatrixXf& out) const override;
  void export_state(Knowledge& knowledge) const override;

 private:
  TeacherSettings settings_;
  RowMatrixXf users_;  // [n_users, dim]
  RowMatrixXf items_;  // [n_items, dim]
};

}  // namespace trd
