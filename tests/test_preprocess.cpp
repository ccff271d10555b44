#include <catch2/catch.hpp>

#include "data/error.hpp"
#include "data/preprocess.hpp"

namespace trd {
namespace {

// Users A, B, C (raw 100, 200, 300) and items x, y, z (raw 7, 8, 9).
Interactions cascade_example() {
  Interactions data;
  data.users.integers = {100, 200, 300};
  data.items.integers = {7, 8, 9};
  const int32_t a = 0, b = 1, c = 2, x = 0, y = 1, z = 2;
  data.table.push_back(a, x, 5, 1);
  data.table.push_back(a, y, 3, 2);
  data.table.push_back(b, x, 4, 3);
  data.table.push_back(b, y, 1, 4);
  data.table.push_back(c, y, 2, 5);
  data.table.push_back(c, z, 4, 6);
  return data;
}

TEST_CASE("Ncore iterates to a fixed point", "[preprocess]") {
  // 2-core: z has one interaction, so C-z goes; then C has one, so C-y goes;
  // y keeps A and B. A single pass would have kept C-y.
  const Interactions filtered = filter_ncore(cascade_example(), 2);
  CHECK(filtered.table.user == std::vector<int32_t>{0, 0, 1, 1});
  CHECK(filtered.table.item == std::vector<int32_t>{0, 1, 0, 1});
  // 3-core: every item drops below 3, so nothing survives.
  CHECK(filter_ncore(cascade_example(), 3).table.size() == 0);
  CHECK(filter_ncore(cascade_example(), 1).table.size() == 6);
}

TEST_CASE("min rating keeps rows at or above the bar", "[preprocess]") {
  const Interactions kept = filter_min_rating(cascade_example(), 4);
  CHECK(kept.table.rating == std::vector<float>{5, 4, 4});
  CHECK(kept.table.timestamp == std::vector<int64_t>{1, 3, 6});
}

TEST_CASE("compact_ids renumbers densely and keeps raw ids aligned", "[preprocess]") {
  // Ratings >= 4 leave users A, B, C and items x, z (y only had 3, 1, 2).
  const Interactions compact = compact_ids(filter_min_rating(cascade_example(), 4));
  CHECK(compact.users.integers == std::vector<int64_t>{100, 200, 300});
  CHECK(compact.items.integers == std::vector<int64_t>{7, 9});
  CHECK(compact.table.item == std::vector<int32_t>{0, 0, 1});

  Interactions strings;
  strings.users.strings = {"u1", "u2", "u3"};
  strings.items.strings = {"a", "b"};
  strings.table.push_back(2, 1, 1, 0);
  const Interactions single = compact_ids(strings);
  CHECK(single.users.strings == std::vector<std::string>{"u3"});
  CHECK(single.items.strings == std::vector<std::string>{"b"});
  CHECK(single.table.user == std::vector<int32_t>{0});
}

TEST_CASE("filter names are parsed strictly", "[preprocess]") {
  CHECK(parse_core_filter("origin") == 0);
  CHECK(parse_core_filter("5core") == 5);
  CHECK(parse_core_filter("10core") == 10);
  for (const char* bad : {"core", "0core", "5cores", "five", "-1core", "", "5 core"}) {
    CHECK_THROWS_AS(parse_core_filter(bad), InputError);
  }
}

}  // namespace
}  // namespace trd
