#include "data/preprocess.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <vector>

#include "data/error.hpp"

namespace trd {
namespace {

Interactions keep_rows(const Interactions& interactions, const std::vector<char>& keep) {
  Interactions out;
  out.users = interactions.users;
  out.items = interactions.items;
  const InteractionTable& table = interactions.table;
  for (std::size_t row = 0; row < table.size(); ++row) {
    if (keep[row]) out.table.append_row(table, row);
  }
  return out;
}

// Dense renumbering of the ids that occur in `ids`; returns the kept old ids.
std::vector<int32_t> renumber(std::vector<int32_t>& ids, std::size_t n_ids) {
  std::vector<int32_t> new_id(n_ids, -1);
  for (int32_t id : ids) new_id[id] = 0;
  std::vector<int32_t> kept;
  for (std::size_t old = 0; old < n_ids; ++old) {
    if (new_id[old] == 0) {
      new_id[old] = static_cast<int32_t>(kept.size());
      kept.push_back(static_cast<int32_t>(old));
    }
  }
  for (int32_t& id : ids) id = new_id[id];
  return kept;
}

}  // namespace

Interactions filter_min_rating(const Interactions& interactions, float min_rating) {
  const InteractionTable& table = interactions.table;
  std::vector<char> keep(table.size());
  for (std::size_t row = 0; row < table.size(); ++row) keep[row] = table.rating[row] >= min_rating;
  return keep_rows(interactions, keep);
}

int parse_core_filter(const std::string& filter) {
  if (filter == "origin") return 0;
  constexpr std::string_view kSuffix = "core";
  int n = 0;
  const char* begin = filter.data();
  const char* digits_end = begin + filter.size() - std::min(filter.size(), kSuffix.size());
  auto [end, ec] = std::from_chars(begin, digits_end, n);
  const bool well_formed = filter.size() > kSuffix.size() && ec == std::errc() &&
                           end == digits_end && std::string_view(end) == kSuffix && n >= 1;
  if (!well_formed) {
    throw InputError("--filter '" + filter + "': expected 'origin' or '<N>core' such as '5core'");
  }
  return n;
}

Interactions filter_ncore(const Interactions& interactions, int n) {
  const InteractionTable& table = interactions.table;
  std::vector<char> keep(table.size(), 1);
  if (n <= 1) return keep_rows(interactions, keep);
  std::vector<int64_t> user_count(interactions.users.size());
  std::vector<int64_t> item_count(interactions.items.size());
  bool changed = true;
  while (changed) {
    std::fill(user_count.begin(), user_count.end(), 0);
    std::fill(item_count.begin(), item_count.end(), 0);
    for (std::size_t row = 0; row < table.size(); ++row) {
      if (!keep[row]) continue;
      ++user_count[table.user[row]];
      ++item_count[table.item[row]];
    }
    changed = false;
    for (std::size_t row = 0; row < table.size(); ++row) {
      if (keep[row] && (user_count[table.user[row]] < n || item_count[table.item[row]] < n)) {
        keep[row] = 0;
        changed = true;
      }
    }
  }
  return keep_rows(interactions, keep);
}

Interactions compact_ids(const Interactions& interactions) {
  Interactions out;
  out.table = interactions.table;
  out.users = interactions.users.subset(renumber(out.table.user, interactions.users.size()));
  out.items = interactions.items.subset(renumber(out.table.item, interactions.items.size()));
  return out;
}

}  // namespace trd
