#include "teachers/mostpop.hpp"

namespace trd {

void MostPop::fit(const TrainingSet& data, const Knowledge* /*warm_start*/,
                  const EpochCallback& /*on_epoch*/) {
  counts_ = Eigen::RowVectorXf::Zero(data.n_items);
  for (int32_t item : data.interactions.item) counts_[item] += 1.0f;
}

void MostPop::score(const std::vector<int32_t>& users, RowMatrixXf& out) const {
  out = counts_.replicate(static_cast<Eigen::Index>(users.size()), 1);
}

void MostPop::export_state(Knowledge& /*knowledge*/) const {}

}  // namespace trd
