#include "data/interactions.hpp"

namespace trd {

void InteractionTable::reserve(std::size_t n) {
  user.reserve(n);
  item.reserve(n);
  rating.reserve(n);
  timestamp.reserve(n);
}

void InteractionTable::push_back(int32_t u, int32_t i, float r, int64_t t) {
  user.push_back(u);
  item.push_back(i);
  rating.push_back(r);
  timestamp.push_back(t);
}

void InteractionTable::append_row(const InteractionTable& other, std::size_t row) {
  push_back(other.user[row], other.item[row], other.rating[row], other.timestamp[row]);
}

std::string RawIds::to_string(std::size_t dense_id) const {
  return is_integer() ? std::to_string(integers[dense_id]) : strings[dense_id];
}

RawIds RawIds::subset(const std::vector<int32_t>& dense_ids) const {
  RawIds out;
  if (is_integer()) {
    out.integers.reserve(dense_ids.size());
    for (int32_t id : dense_ids) out.integers.push_back(integers[id]);
  } else {
    out.strings.reserve(dense_ids.size());
    for (int32_t id : dense_ids) out.strings.push_back(strings[id]);
  }
  return out;
}

}  // namespace trd
