#include <algorithm>
#include <catch2/catch.hpp>

#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/loaders.hpp"
#include "data/splits.hpp"
#include "tests/shared_data.hpp"

namespace trd {
namespace {

// One user whose n interactions have timestamps 100, 101, ... and item = row.
InteractionTable one_user(int n) {
  InteractionTable table;
  for (int row = 0; row < n; ++row) table.push_back(0, row, 1.0f, 100 + row);
  return table;
}

std::array<std::size_t, kNumSplits> sizes(const std::array<InteractionTable, kNumSplits>& splits) {
  return {splits[0].size(), splits[1].size(), splits[2].size(), splits[3].size()};
}

using Sizes = std::array<std::size_t, kNumSplits>;

TEST_CASE("user-time cuts at ceil(n * cumulative ratio)", "[splits]") {
  // n = 10: cuts at ceil(6), ceil(7), ceil(8) -> 6/1/1/2.
  CHECK(sizes(split_interactions(one_user(10), 1, SplitRule::kUserTime, kDefaultRatios)) ==
        Sizes{6, 1, 1, 2});
  // n = 3: ceil(1.8) = 2, ceil(2.1) = 3, ceil(2.4) = 3 -> 2/1/0/0.
  CHECK(sizes(split_interactions(one_user(3), 1, SplitRule::kUserTime, kDefaultRatios)) ==
        Sizes{2, 1, 0, 0});
  // n = 5: 3, ceil(3.5) = 4, 4 -> 3/1/0/1.
  CHECK(sizes(split_interactions(one_user(5), 1, SplitRule::kUserTime, kDefaultRatios)) ==
        Sizes{3, 1, 0, 1});
  // n = 1: ceil(0.6) = 1 -> everything in base.
  CHECK(sizes(split_interactions(one_user(1), 1, SplitRule::kUserTime, kDefaultRatios)) ==
        Sizes{1, 0, 0, 0});
}

TEST_CASE("cumulative ratios are exact decimals, not float sums", "[splits]") {
  // In doubles 0.1 + 0.2 = 0.30000000000000004, and 10 * that has ceil 4; the
  // cut must be at 3 as the user wrote, so sizes are 1/2/3/4.
  const SplitRatios ratios = parse_ratios("0.1,0.2,0.3,0.4");
  CHECK(sizes(split_interactions(one_user(10), 1, SplitRule::kUserTime, ratios)) ==
        Sizes{1, 2, 3, 4});
}

TEST_CASE("user-time orders each user's rows by time, ties in table order", "[splits]") {
  InteractionTable table;
  // user 1 first in the table, then user 0 with out-of-order times and a tie.
  table.push_back(1, 9, 1, 50);
  table.push_back(0, 0, 1, 30);
  table.push_back(0, 1, 1, 10);
  table.push_back(0, 2, 1, 20);
  table.push_back(0, 3, 1, 20);  // tie with item 2: stays after it
  table.push_back(0, 4, 1, 40);
  const auto splits = split_interactions(table, 2, SplitRule::kUserTime, kDefaultRatios);
  // user 0 has 5 rows in time order 1,2,3,0,4: base 3 (items 1,2,3), rl 1 (item 0), test 1 (item
  // 4); user 1 has 1 row: base.
  CHECK(splits[kBase].item == std::vector<int32_t>{1, 2, 3, 9});
  CHECK(splits[kBase].user == std::vector<int32_t>{0, 0, 0, 1});
  CHECK(splits[kRl].item == std::vector<int32_t>{0});
  CHECK(splits[kValid].size() == 0);
  CHECK(splits[kTest].item == std::vector<int32_t>{4});
}

TEST_CASE("global-time cuts the whole log by time", "[splits]") {
  InteractionTable table;
  const int64_t times[] = {7, 3, 9, 1, 5, 5, 2, 8, 6, 4};
  for (int row = 0; row < 10; ++row) table.push_back(row % 3, row, 1, times[row]);
  const auto splits = split_interactions(table, 3, SplitRule::kGlobalTime, kDefaultRatios);
  REQUIRE(sizes(splits) == Sizes{6, 1, 1, 2});
  // Sorted times 1,2,3,4,5,5,6,7,8,9 (the two 5s are rows 4 then 5).
  CHECK(splits[kBase].item == std::vector<int32_t>{3, 6, 1, 9, 4, 5});
  CHECK(splits[kRl].item == std::vector<int32_t>{8});
  CHECK(splits[kValid].item == std::vector<int32_t>{0});
  CHECK(splits[kTest].item == std::vector<int32_t>{7, 2});
}

TEST_CASE("split flags are validated", "[splits]") {
  CHECK(parse_split_rule("user-time") == SplitRule::kUserTime);
  CHECK(parse_split_rule("global-time") == SplitRule::kGlobalTime);
  CHECK_THROWS_AS(parse_split_rule("random"), InputError);
  CHECK(parse_ratios("0.6,0.1,0.1,0.2") == kDefaultRatios);
  CHECK_THROWS_WITH(parse_ratios("0.6,0.1,0.1"), Catch::Contains("found 3 values"));
  CHECK_THROWS_WITH(parse_ratios("0.6,0.1,0.1,0.3"), Catch::Contains("sum to"));
  CHECK_THROWS_WITH(parse_ratios("0.6,x,0.1,0.2"), Catch::Contains("'x' is not a number"));
  CHECK_THROWS_WITH(parse_ratios("1.6,-0.6,0.0,0.0"), Catch::Contains("in [0, 1]"));
}

// Each split's timestamps, per user (user-time) or overall (global-time), are
// no later than the next split's.
bool splits_in_time_order(const std::array<InteractionTable, kNumSplits>& splits, int32_t n_users,
                          bool per_user) {
  const int32_t groups = per_user ? n_users : 1;
  std::vector<int64_t> latest_so_far(groups, INT64_MIN);
  for (const InteractionTable& split : splits) {
    std::vector<int64_t> latest = latest_so_far;
    for (std::size_t row = 0; row < split.size(); ++row) {
      const int32_t group = per_user ? split.user[row] : 0;
      if (split.timestamp[row] < latest_so_far[group]) return false;
      latest[group] = std::max(latest[group], split.timestamp[row]);
    }
    latest_so_far = latest;
  }
  return true;
}

TEST_CASE("ML-100K splits have the documented sizes", "[splits][ml-100k]") {
  const auto path = testing::shared_dataset("ml-100k/u.data");
  if (!path) return;
  const Interactions data = load_interactions(*path, SourceFormat::kMovieLens100K).interactions;
  REQUIRE(data.n_users() == 943);
  REQUIRE(data.n_items() == 1682);
  REQUIRE(data.table.size() == 100000);

  const auto by_user =
      split_interactions(data.table, data.n_users(), SplitRule::kUserTime, kDefaultRatios);
  CHECK(sizes(by_user) == Sizes{60367, 10051, 9949, 19633});
  CHECK(splits_in_time_order(by_user, data.n_users(), /*per_user=*/true));

  const auto global =
      split_interactions(data.table, data.n_users(), SplitRule::kGlobalTime, kDefaultRatios);
  CHECK(sizes(global) == Sizes{60000, 10000, 10000, 20000});
  CHECK(splits_in_time_order(global, data.n_users(), /*per_user=*/false));
}

}  // namespace
// User 0's 15 rows are cut at 9, 11, 12: items 1-7, 10, 11 in base, 12 and 13
// in rl, 14 in valid, then 2 again and 8 twice (ratings 3 and 5) in test.
// Item 2 was met before the test split: no list can hold it, so it is not
// held out; 8 counts once, with its highest rating.
TEST_CASE("SplitUsers drops held-out items met before the split; the fingerprint sees ratings",
          "[splits]") {
  Interactions interactions;
  const std::vector<int32_t> items = {1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 2, 8, 8};
  const std::vector<float> ratings = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 3, 5};
  for (std::size_t row = 0; row < items.size(); ++row) {
    interactions.table.push_back(0, items[row], ratings[row], static_cast<int64_t>(row));
  }
  interactions.users.integers = {10};
  for (int64_t i = 0; i < 15; ++i) interactions.items.integers.push_back(100 + i);
  DatasetProvenance provenance;
  provenance.ratios = {0.6, 0.1, 0.1, 0.2};
  const Dataset dataset = make_dataset(interactions, provenance);
  REQUIRE(dataset.splits[kTest].size() == 3);

  const SplitUsers test(dataset, kTest);
  CHECK(std::vector<int32_t>(test.held_out.begin(0), test.held_out.end(0)) ==
        std::vector<int32_t>{8});
  CHECK(test.held_out_rating == std::vector<float>{5});
  CHECK(test.seen.size(0) == 12);

  Interactions rerated = interactions;
  rerated.table.rating[14] = 4;
  CHECK(dataset_fingerprint(make_dataset(rerated, provenance)) != dataset_fingerprint(dataset));
  CHECK(dataset_fingerprint(make_dataset(interactions, provenance)) ==
        dataset_fingerprint(dataset));
}

}  // namespace trd
