#pragma once

#include <cstdint>
#include <vector>

#include "data/interactions.hpp"

namespace trd {

/// Each user's items in compressed rows (CSR): items of user u are
/// items[offsets[u] .. offsets[u + 1]), in the order the table lists them.
/// Built once per split; lookups are O(1) per user.
class UserItems {
 public:
  UserItems() = default;
  /// Groups `tables`' rows by user (rows of earlier tables first).
  UserItems(const std::vector<const InteractionTable*>& tables, int32_t n_users);
  /// From one list per user.
  explicit UserItems(const std::vector<std::vector<int32_t>>& lists);

  int32_t n_users() const { return static_cast<int32_t>(offsets_.size()) - 1; }
  int64_t size(int32_t user) const { return offsets_[user + 1] - offsets_[user]; }
  const int32_t* begin(int32_t user) const { return items_.data() + offsets_[user]; }
  const int32_t* end(int32_t user) const { return items_.data() + offsets_[user + 1]; }
  /// Total number of (user, item) rows.
  int64_t total() const { return static_cast<int64_t>(items_.size()); }

 private:
  std::vector<int64_t> offsets_ = {0};
  std::vector<int32_t> items_;
};

}  // namespace trd
