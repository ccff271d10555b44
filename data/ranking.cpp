#include "data/ranking.hpp"

#include <algorithm>
#include <random>
#include <utility>

namespace trd {

void top_items(const RowMatrixXf& scores, const std::vector<int32_t>& users,
               const UserItems& excluded, const UserItems* allowed, int64_t first_row,
               RowMatrixXi& items, RowMatrixXf& item_scores) {
  const int32_t n_items = static_cast<int32_t>(scores.cols());
  const Eigen::Index list_length = items.cols();
  std::vector<char> blocked(static_cast<std::size_t>(n_items), 0);
  std::vector<std::pair<float, int32_t>> pool;
  const auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  for (std::size_t r = 0; r < users.size(); ++r) {
    const int32_t user = users[r];
    for (const int32_t* it = excluded.begin(user); it != excluded.end(user); ++it) blocked[*it] = 1;
    pool.clear();
    auto consider = [&](int32_t item) {
      if (!blocked[item]) pool.emplace_back(scores(static_cast<Eigen::Index>(r), item), item);
    };
    if (allowed != nullptr) {
      std::for_each(allowed->begin(user), allowed->end(user), consider);
    } else {
      for (int32_t item = 0; item < n_items; ++item) consider(item);
    }
    for (const int32_t* it = excluded.begin(user); it != excluded.end(user); ++it) blocked[*it] = 0;

    const std::size_t kept = std::min(pool.size(), static_cast<std::size_t>(list_length));
    std::partial_sort(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(kept), pool.end(),
                      better);
    const Eigen::Index row = first_row + static_cast<Eigen::Index>(r);
    for (Eigen::Index c = 0; c < list_length; ++c) {
      const bool real = static_cast<std::size_t>(c) < kept;
      items(row, c) = real ? pool[c].second : -1;
      item_scores(row, c) = real ? pool[c].first : kPaddingScore;
    }
  }
}

UserItems make_candidates(const UserItems& seen, const UserItems& held_out, int32_t n_items, int n,
                          uint64_t seed) {
  std::vector<std::vector<int32_t>> candidates(static_cast<std::size_t>(held_out.n_users()));
  std::vector<char> taken(static_cast<std::size_t>(n_items), 0);
  std::vector<int32_t> negatives;
  for (int32_t user = 0; user < held_out.n_users(); ++user) {
    if (held_out.size(user) == 0) continue;
    std::vector<int32_t>& set = candidates[user];
    for (const int32_t* it = held_out.begin(user); it != held_out.end(user); ++it) {
      if (!taken[*it]) set.push_back(*it);
      taken[*it] = 1;
    }
    for (const int32_t* it = seen.begin(user); it != seen.end(user); ++it) taken[*it] = 1;
    negatives.clear();
    for (int32_t item = 0; item < n_items; ++item) {
      if (!taken[item]) negatives.push_back(item);
    }
    // A partial Fisher-Yates shuffle draws the negatives without replacement;
    // the engine is seeded per user so any subset of users gets the same sets.
    std::mt19937_64 engine(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(user));
    const std::size_t wanted = std::min(
        negatives.size(),
        static_cast<std::size_t>(std::max<int64_t>(0, n - static_cast<int64_t>(set.size()))));
    for (std::size_t k = 0; k < wanted; ++k) {
      const double unit = static_cast<double>(engine() >> 11) * 0x1.0p-53;
      const std::size_t pick =
          k + static_cast<std::size_t>(unit * static_cast<double>(negatives.size() - k));
      std::swap(negatives[k], negatives[pick]);
      set.push_back(negatives[k]);
    }
    for (const int32_t* it = held_out.begin(user); it != held_out.end(user); ++it) taken[*it] = 0;
    for (const int32_t* it = seen.begin(user); it != seen.end(user); ++it) taken[*it] = 0;
  }
  return UserItems(candidates);
}

}  // namespace trd
