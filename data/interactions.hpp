#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace trd {

/// Columns of implicit-feedback interactions, one row per event, with dense ids.
struct InteractionTable {
  std::vector<int32_t> user;       ///< dense user id in [0, n_users)
  std::vector<int32_t> item;       ///< dense item id in [0, n_items)
  std::vector<float> rating;       ///< explicit rating, or 1 where the source has none
  std::vector<int64_t> timestamp;  ///< seconds (or any monotone clock); ties keep row order

  std::size_t size() const { return user.size(); }
  void reserve(std::size_t n);
  void push_back(int32_t u, int32_t i, float r, int64_t t);
  /// Appends row `row` of `other`.
  void append_row(const InteractionTable& other, std::size_t row);
};

/// Raw ids of one entity kind indexed by dense id: integers when every raw id
/// of the source is an integer, else strings.
struct RawIds {
  std::vector<int64_t> integers;
  std::vector<std::string> strings;

  bool is_integer() const { return strings.empty(); }
  std::size_t size() const { return is_integer() ? integers.size() : strings.size(); }
  std::string to_string(std::size_t dense_id) const;
  /// The raw ids of `dense_ids`, in that order.
  RawIds subset(const std::vector<int32_t>& dense_ids) const;
};

/// A whole interaction log: the table plus the raw ids behind its dense ids.
struct Interactions {
  InteractionTable table;
  RawIds users;
  RawIds items;

  int32_t n_users() const { return static_cast<int32_t>(users.size()); }
  int32_t n_items() const { return static_cast<int32_t>(items.size()); }
};

}  // namespace trd
