#include "data/splits.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <vector>

#include "data/error.hpp"

namespace trd {
namespace {

// Cumulative cut points, rounded to 12 decimals so that 0.6 + 0.1 + 0.1 is
// 0.8 (not 0.7999999999999999) and ceil(n * 0.8) is exact for n = 5, 10, ...
std::array<double, kNumSplits - 1> cumulative_cuts(const SplitRatios& ratios) {
  std::array<double, kNumSplits - 1> cuts{};
  double sum = 0;
  for (int s = 0; s < kNumSplits - 1; ++s) {
    sum += ratios[s];
    cuts[s] = std::round(sum * 1e12) / 1e12;
  }
  return cuts;
}

// Appends rows `order[begin, end)` of `table` to the four splits.
void cut_sequence(const InteractionTable& table, const std::vector<std::size_t>& order,
                  std::size_t begin, std::size_t end,
                  const std::array<double, kNumSplits - 1>& cuts,
                  std::array<InteractionTable, kNumSplits>& splits) {
  const double n = static_cast<double>(end - begin);
  std::array<std::size_t, kNumSplits + 1> bounds{};
  bounds[0] = begin;
  for (int s = 0; s < kNumSplits - 1; ++s) {
    bounds[s + 1] = begin + static_cast<std::size_t>(std::ceil(n * cuts[s]));
  }
  bounds[kNumSplits] = end;
  for (int s = 0; s < kNumSplits; ++s) {
    for (std::size_t k = bounds[s]; k < bounds[s + 1]; ++k) splits[s].append_row(table, order[k]);
  }
}

}  // namespace

SplitRule parse_split_rule(const std::string& name) {
  if (name == "user-time") return SplitRule::kUserTime;
  if (name == "global-time") return SplitRule::kGlobalTime;
  throw InputError("--split '" + name + "': expected 'user-time' or 'global-time'");
}

std::string split_rule_name(SplitRule rule) {
  return rule == SplitRule::kUserTime ? "user-time" : "global-time";
}

Split parse_stage(const std::string& name, const std::string& flag) {
  for (int s = kRl; s <= kTest; ++s) {
    if (name == kSplitNames[s]) return static_cast<Split>(s);
  }
  throw InputError(flag + " '" + name + "': expected rl, valid or test");
}

SplitRatios parse_ratios(const std::string& text) {
  SplitRatios ratios{};
  std::istringstream in(text);
  std::string field;
  int count = 0;
  auto fail = [&](const std::string& why) {
    return InputError("--ratios '" + text + "': " + why +
                      " (expected four fractions for base,rl,valid,test summing to 1, "
                      "e.g. 0.6,0.1,0.1,0.2)");
  };
  while (std::getline(in, field, ',')) {
    if (count == kNumSplits) throw fail("more than four values");
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(field, &used);
    } catch (const std::exception&) {
      throw fail("'" + field + "' is not a number");
    }
    if (used != field.size() || !(value >= 0 && value <= 1)) {
      throw fail("'" + field + "' is not a number in [0, 1]");
    }
    ratios[count++] = value;
  }
  if (count != kNumSplits) throw fail("found " + std::to_string(count) + " values");
  const double sum = std::accumulate(ratios.begin(), ratios.end(), 0.0);
  if (std::abs(sum - 1.0) > 1e-9) throw fail("they sum to " + std::to_string(sum));
  return ratios;
}

std::array<InteractionTable, kNumSplits> split_interactions(const InteractionTable& table,
                                                            int32_t n_users, SplitRule rule,
                                                            const SplitRatios& ratios) {
  const auto cuts = cumulative_cuts(ratios);
  std::vector<std::size_t> order(table.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::array<InteractionTable, kNumSplits> splits;
  if (rule == SplitRule::kGlobalTime) {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return table.timestamp[a] < table.timestamp[b];
    });
    cut_sequence(table, order, 0, order.size(), cuts, splits);
    return splits;
  }
  // Group rows by user, each group in time order; ties keep table order.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (table.user[a] != table.user[b]) return table.user[a] < table.user[b];
    return table.timestamp[a] < table.timestamp[b];
  });
  std::size_t begin = 0;
  for (int32_t user = 0; user < n_users && begin < order.size(); ++user) {
    std::size_t end = begin;
    while (end < order.size() && table.user[order[end]] == user) ++end;
    cut_sequence(table, order, begin, end, cuts, splits);
    begin = end;
  }
  return splits;
}

}  // namespace trd
