#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "data/knowledge.hpp"
#include "data/user_items.hpp"

namespace trd {

/// Score that pads a list shorter than L (its item is -1): below every real
/// score, so each row stays non-increasing.
inline constexpr float kPaddingScore = -std::numeric_limits<float>::infinity();

/// For each row r of `scores` (user users[r], one column per item), writes the
/// `list_length` best items into row `first_row + r` of `items` and
/// `item_scores`, best first, skipping the user's `excluded` items and, when
/// `allowed` is given, every item outside the user's allowed set. Ties go to
/// the lower item id; short rows are padded with -1 and kPaddingScore.
void top_items(const RowMatrixXf& scores, const std::vector<int32_t>& users,
               const UserItems& excluded, const UserItems* allowed, int64_t first_row,
               RowMatrixXi& items, RowMatrixXf& item_scores);

/// Per user, the items a ranking may use under `--candidates n`: the user's
/// held-out items plus uniform negatives (items the user has neither met
/// before the split nor holds out) up to n in all. Users without held-out
/// items get none. Seeded per user, so the sets do not depend on which users
/// are evaluated.
UserItems make_candidates(const UserItems& seen, const UserItems& held_out, int32_t n_items, int n,
                          uint64_t seed);

}  // namespace trd
