#pragma once

#include "teachers/teacher.hpp"

namespace trd {

/// Scores every item by its number of interactions: the popularity baseline.
/// Has no embeddings; a warm start simply counts the longer history.
class MostPop : public Teacher {
 public:
  void fit(const TrainingSet& data, const Knowledge* warm_start,
           const EpochCallback& on_epoch) override;
  void score(const std::vector<int32_t>& users, RowMatrixXf& out) const override;
  void export_state(Knowledge& knowledge) const override;

 private:
  Eigen::RowVectorXf counts_;
};

}  // namespace trd
