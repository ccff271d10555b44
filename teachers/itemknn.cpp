#include "teachers/itemknn.hpp"

#include <algorithm>
#include <cmath>

#include "data/error.hpp"

namespace trd {

void ItemKnn::fit(const TrainingSet& data, const Knowledge* /*warm_start*/,
                  const EpochCallback& /*on_epoch*/) {
  if (neighbours_ < 1) {
    throw InputError("--neighbours " + std::to_string(neighbours_) + ": must be at least 1");
  }
  n_items_ = data.n_items;
  // Binary user-item matrix: repeated interactions count once.
  std::vector<std::vector<int32_t>> distinct(static_cast<std::size_t>(data.n_users));
  std::vector<Eigen::Triplet<float>> ones;
  for (int32_t u = 0; u < data.n_users; ++u) {
    distinct[u].assign(data.seen.begin(u), data.seen.end(u));
    std::sort(distinct[u].begin(), distinct[u].end());
    distinct[u].erase(std::unique(distinct[u].begin(), distinct[u].end()), distinct[u].end());
    for (int32_t item : distinct[u]) ones.emplace_back(u, item, 1.0f);
  }
  user_items_ = UserItems(distinct);
  Eigen::SparseMatrix<float> x(data.n_users, data.n_items);
  x.setFromTriplets(ones.begin(), ones.end());
  const Eigen::SparseMatrix<float> xt = x.transpose();
  Eigen::VectorXf norm(data.n_items);
  for (int32_t i = 0; i < data.n_items; ++i)
    norm[i] = std::sqrt(static_cast<float>(x.col(i).nonZeros()));

  // Co-occurrence in blocks of items keeps memory at n_items x block.
  constexpr int32_t kBlock = 256;
  const int keep = std::min(neighbours_, std::max(0, data.n_items - 1));
  std::vector<Eigen::Triplet<float>> kept;
  kept.reserve(static_cast<std::size_t>(data.n_items) * keep);
  neighbour_items_ = RowMatrixXi::Constant(data.n_items, keep, -1);
  neighbour_weights_ = RowMatrixXf::Zero(data.n_items, keep);
  std::vector<std::pair<float, int32_t>> candidates;
  for (int32_t first = 0; first < data.n_items; first += kBlock) {
    const int32_t width = std::min(kBlock, data.n_items - first);
    const Eigen::MatrixXf co = xt * Eigen::MatrixXf(x.middleCols(first, width));
    for (int32_t c = 0; c < width; ++c) {
      const int32_t item = first + c;
      candidates.clear();
      for (int32_t other = 0; other < data.n_items; ++other) {
        const float shared = co(other, c);
        if (other == item || shared == 0.0f) continue;
        candidates.emplace_back(shared / (norm[item] * norm[other]), other);
      }
      const std::size_t n = std::min(candidates.size(), static_cast<std::size_t>(keep));
      std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(n),
                        candidates.end(), [](const auto& a, const auto& b) {
                          return a.first > b.first || (a.first == b.first && a.second < b.second);
                        });
      for (std::size_t k = 0; k < n; ++k) {
        kept.emplace_back(item, candidates[k].second, candidates[k].first);
        neighbour_items_(item, static_cast<Eigen::Index>(k)) = candidates[k].second;
        neighbour_weights_(item, static_cast<Eigen::Index>(k)) = candidates[k].first;
      }
    }
  }
  neighbour_of_.resize(data.n_items, data.n_items);
  neighbour_of_.setFromTriplets(kept.begin(), kept.end());
}

void ItemKnn::score(const std::vector<int32_t>& users, RowMatrixXf& out) const {
  out = RowMatrixXf::Zero(static_cast<Eigen::Index>(users.size()), n_items_);
  for (std::size_t r = 0; r < users.size(); ++r) {
    for (const int32_t* j = user_items_.begin(users[r]); j != user_items_.end(users[r]); ++j) {
      for (Eigen::SparseMatrix<float>::InnerIterator it(neighbour_of_, *j); it; ++it) {
        out(static_cast<Eigen::Index>(r), it.row()) += it.value();
      }
    }
  }
}

void ItemKnn::export_state(Knowledge& knowledge) const {
  knowledge.neighbour_items = neighbour_items_;
  knowledge.neighbour_weights = neighbour_weights_;
}

}  // namespace trd
