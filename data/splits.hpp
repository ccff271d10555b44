#pragma once

#include <array>
#include <string>

#include "data/interactions.hpp"

namespace trd {

/// The four stages of the protocol, in time order (DESIGN.md, "Splits").
enum Split : int { kBase = 0, kRl = 1, kValid = 2, kTest = 3 };
inline constexpr int kNumSplits = 4;
inline constexpr std::array<const char*, kNumSplits> kSplitNames = {"base", "rl", "valid", "test"};

enum class SplitRule {
  kUserTime,    ///< each user's history cut in time order: every user has a past
  kGlobalTime,  ///< all interactions cut in time order (the original TRD split)
};

/// Fractions of base, rl, valid, test; each in [0, 1], summing to 1.
using SplitRatios = std::array<double, kNumSplits>;
inline constexpr SplitRatios kDefaultRatios = {0.6, 0.1, 0.1, 0.2};

/// "user-time" | "global-time"; throws InputError otherwise.
SplitRule parse_split_rule(const std::string& name);
std::string split_rule_name(SplitRule rule);

/// "rl" | "valid" | "test": a stage with a teacher list and held-out items.
/// Throws InputError naming `flag` otherwise.
Split parse_stage(const std::string& name, const std::string& flag);

/// "0.6,0.1,0.1,0.2" -> ratios; throws InputError unless four numbers in [0, 1]
/// that sum to 1.
SplitRatios parse_ratios(const std::string& text);

/// Cuts rows into base/rl/valid/test. Rows are ordered by time, stably (ties
/// keep table order); a sequence of n rows is cut at ceil(n * c) for each
/// cumulative ratio c (0.6, 0.7, 0.8 by default). kUserTime cuts each user's
/// sequence and returns rows grouped by user; kGlobalTime cuts the whole table.
std::array<InteractionTable, kNumSplits> split_interactions(const InteractionTable& table,
                                                            int32_t n_users, SplitRule rule,
                                                            const SplitRatios& ratios);

}  // namespace trd
