#include "data/user_items.hpp"

namespace trd {

UserItems::UserItems(const std::vector<const InteractionTable*>& tables, int32_t n_users) {
  offsets_.assign(static_cast<std::size_t>(n_users) + 1, 0);
  for (const InteractionTable* table : tables) {
    for (int32_t user : table->user) ++offsets_[user + 1];
  }
  for (int32_t u = 0; u < n_users; ++u) offsets_[u + 1] += offsets_[u];
  items_.resize(static_cast<std::size_t>(offsets_[n_users]));
  std::vector<int64_t> next(offsets_.begin(), offsets_.end() - 1);
  for (const InteractionTable* table : tables) {
    for (std::size_t row = 0; row < table->size(); ++row) {
      items_[next[table->user[row]]++] = table->item[row];
    }
  }
}

UserItems::UserItems(const std::vector<std::vector<int32_t>>& lists) {
  offsets_.reserve(lists.size() + 1);
  for (const std::vector<int32_t>& list : lists) {
    items_.insert(items_.end(), list.begin(), list.end());
    offsets_.push_back(static_cast<int64_t>(items_.size()));
  }
}

}  // namespace trd
