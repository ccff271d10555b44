#pragma once

#include <string>

#include "data/interactions.hpp"

namespace trd {

/// Keeps the rows whose rating is at least `min_rating`.
Interactions filter_min_rating(const Interactions& interactions, float min_rating);

/// Parses a filter name: "origin" (no filter) -> 0, "<N>core" (e.g. "5core") -> N.
/// Throws InputError for anything else.
int parse_core_filter(const std::string& filter);

/// Removes users and items with fewer than `n` interactions, repeating until
/// every remaining user and item has at least `n` (removing a user can push an
/// item under the bar and back). n <= 1 keeps everything.
Interactions filter_ncore(const Interactions& interactions, int n);

/// Drops users and items that no row uses and renumbers the rest densely,
/// keeping their relative (raw-id) order.
Interactions compact_ids(const Interactions& interactions);

}  // namespace trd
