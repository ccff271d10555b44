#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "data/ranking.hpp"

namespace trd {
namespace {

TEST_CASE("top_items skips seen items, breaks ties by item id, pads short lists", "[ranking]") {
  // Two users, 6 items. User 0 has seen items 1 and 4; user 1 has seen 0..4.
  RowMatrixXf scores(2, 6);
  scores << 0.5f, 9.0f, 0.7f, 0.7f, 8.0f, 0.1f,  //
      5.0f, 4.0f, 3.0f, 2.0f, 1.0f, 0.0f;
  const UserItems seen(std::vector<std::vector<int32_t>>{{1, 4}, {0, 1, 2, 3, 4}});
  RowMatrixXi items(2, 3);
  RowMatrixXf item_scores(2, 3);
  top_items(scores, {0, 1}, seen, nullptr, /*first_row=*/0, items, item_scores);
  // User 0: 2 and 3 tie at 0.7 (2 first), then 0 at 0.5.
  CHECK(items.row(0) == Eigen::RowVector3i(2, 3, 0));
  CHECK(item_scores.row(0) == Eigen::RowVector3f(0.7f, 0.7f, 0.5f));
  // User 1 has only item 5 left.
  CHECK(items.row(1) == Eigen::RowVector3i(5, -1, -1));
  CHECK(item_scores(1, 0) == 0.0f);
  CHECK(item_scores(1, 1) == kPaddingScore);
}

TEST_CASE("top_items within allowed sets writes at the given rows", "[ranking]") {
  RowMatrixXf scores(1, 5);
  scores << 1, 2, 3, 4, 5;
  const UserItems seen(std::vector<std::vector<int32_t>>{{}, {4}});
  const UserItems allowed(std::vector<std::vector<int32_t>>{{}, {0, 2, 4}});
  RowMatrixXi items = RowMatrixXi::Constant(2, 2, 7);
  RowMatrixXf item_scores(2, 2);
  top_items(scores, {1}, seen, &allowed, /*first_row=*/1, items, item_scores);
  CHECK(items.row(1) == Eigen::RowVector2i(2, 0));  // 4 is allowed but seen
  CHECK(items.row(0) == Eigen::RowVector2i(7, 7));  // untouched
}

TEST_CASE("candidates hold the held-out items plus unseen negatives, seeded per user",
          "[ranking]") {
  const int32_t n_items = 50;
  const UserItems seen(std::vector<std::vector<int32_t>>{{0, 1, 2}, {3}, {4, 5}});
  const UserItems held_out(std::vector<std::vector<int32_t>>{{10, 11, 10}, {}, {12}});
  const UserItems candidates = make_candidates(seen, held_out, n_items, /*n=*/20, /*seed=*/7);
  REQUIRE(candidates.n_users() == 3);
  const std::set<int32_t> user0(candidates.begin(0), candidates.end(0));
  CHECK(candidates.size(0) == 20);
  CHECK(user0.size() == 20);  // no duplicates, the repeated held-out item counts once
  CHECK(user0.count(10) == 1);
  CHECK(user0.count(11) == 1);
  for (int32_t item : {0, 1, 2}) CHECK(user0.count(item) == 0);
  CHECK(candidates.size(1) == 0);  // nothing held out: not evaluated
  CHECK(candidates.size(2) == 20);

  // Same seed, same sets; evaluating a subset of users does not change them.
  const UserItems again = make_candidates(seen, held_out, n_items, 20, 7);
  CHECK(std::equal(candidates.begin(2), candidates.end(2), again.begin(2)));
  const UserItems other_seed = make_candidates(seen, held_out, n_items, 20, 8);
  CHECK_FALSE(std::equal(candidates.begin(0), candidates.end(0), other_seed.begin(0)));
  // More candidates than unseen items: all of them.
  const UserItems all = make_candidates(seen, held_out, n_items, 1000, 7);
  CHECK(all.size(0) == n_items - 3);
}

}  // namespace
}  // namespace trd
