#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "data/error.hpp"
#include "data/synthetic.hpp"

namespace trd {
namespace {

constexpr int64_t kSpanStart = 1420070400;  // 2015-01-01T00:00:00Z
constexpr int64_t kSpanEnd = kSpanStart + 3 * 365 * 86400;

SyntheticSettings settings_with(int64_t n_interactions, uint64_t seed = 7) {
  SyntheticSettings settings;
  settings.n_interactions = n_interactions;
  settings.seed = seed;
  return settings;
}

std::vector<int64_t> counts_of(const std::vector<int32_t>& ids, int32_t n) {
  std::vector<int64_t> counts(n, 0);
  for (int32_t id : ids) ++counts[id];
  return counts;
}

// Each user's items in row order.
std::vector<std::vector<int32_t>> items_by_user(const Interactions& data) {
  std::vector<std::vector<int32_t>> items(data.n_users());
  for (std::size_t row = 0; row < data.table.size(); ++row) {
    items[data.table.user[row]].push_back(data.table.item[row]);
  }
  return items;
}

// Share of all interactions held by the tenth of the items that rank highest
// under `key` (larger first).
double top_decile_share(const Interactions& data, const std::vector<double>& key) {
  const std::vector<int64_t> counts = counts_of(data.table.item, data.n_items());
  std::vector<int32_t> order(data.n_items());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return key[a] > key[b]; });
  int64_t held = 0;
  for (int32_t i = 0; i < (data.n_items() + 9) / 10; ++i) held += counts[order[i]];
  return static_cast<double>(held) / static_cast<double>(data.table.size());
}

double top_decile_share_by_count(const Interactions& data) {
  const std::vector<int64_t> counts = counts_of(data.table.item, data.n_items());
  return top_decile_share(data, std::vector<double>(counts.begin(), counts.end()));
}

float affinity(const PlantedFactors& planted, int32_t user, int32_t item) {
  return planted.user_factors.row(user).dot(planted.item_factors.row(item));
}

TEST_CASE("generate_synthetic: defaults give an ML-100K-like log with exact sizes", "[synthetic]") {
  const Interactions data = generate_synthetic(SyntheticSettings{});
  const InteractionTable& table = data.table;

  REQUIRE(table.size() == 100000);
  REQUIRE(table.item.size() == table.size());
  REQUIRE(table.rating.size() == table.size());
  REQUIRE(table.timestamp.size() == table.size());
  CHECK(data.n_users() == 943);
  CHECK(data.n_items() <= 1676);
  CHECK(data.n_items() >= 1600);

  // Dense ids: every id in [0, n) is used, so the counts are the real ones.
  for (int64_t count : counts_of(table.user, data.n_users())) REQUIRE(count > 0);
  for (int64_t count : counts_of(table.item, data.n_items())) REQUIRE(count > 0);

  REQUIRE(data.users.is_integer());
  REQUIRE(data.items.is_integer());
  for (int32_t u = 0; u < data.n_users(); ++u) REQUIRE(data.users.integers[u] == u + 1);
  CHECK(data.items.integers.front() >= 1);
  CHECK(data.items.integers.back() <= 1676);
  CHECK(std::is_sorted(data.items.integers.begin(), data.items.integers.end()));
  CHECK(std::adjacent_find(data.items.integers.begin(), data.items.integers.end()) ==
        data.items.integers.end());

  std::vector<int64_t> per_rating(6, 0);
  for (float rating : table.rating) {
    REQUIRE(rating == std::round(rating));
    REQUIRE(rating >= 1.0f);
    REQUIRE(rating <= 5.0f);
    ++per_rating[static_cast<int>(rating)];
  }
  for (int rating = 1; rating <= 5; ++rating) CHECK(per_rating[rating] > 2000);

  for (int64_t t : table.timestamp) {
    REQUIRE(t >= kSpanStart);
    REQUIRE(t <= kSpanEnd);
  }
}

TEST_CASE("generate_synthetic: explicit sizes are met exactly, up to the feasible limits",
          "[synthetic]") {
  SECTION("every user at the minimum of 8") {
    SyntheticSettings settings = settings_with(80);
    settings.n_users = 10;
    settings.n_items = 20;
    const Interactions data = generate_synthetic(settings);
    CHECK(data.table.size() == 80);
    CHECK(data.n_users() == 10);
    for (int64_t count : counts_of(data.table.user, 10)) CHECK(count == 8);
  }
  SECTION("every user at the cap of half the items") {
    SyntheticSettings settings = settings_with(100);
    settings.n_users = 10;
    settings.n_items = 20;
    const Interactions data = generate_synthetic(settings);
    CHECK(data.table.size() == 100);
    for (int64_t count : counts_of(data.table.user, 10)) CHECK(count == 10);
  }
  SECTION("odd sizes in between") {
    for (int64_t n : {97, 1234, 54321}) {
      SyntheticSettings settings = settings_with(n);
      settings.n_users = 12;
      settings.n_items = 20000;
      const Interactions data = generate_synthetic(settings);
      CHECK(data.table.size() == static_cast<std::size_t>(n));
      CHECK(data.n_users() == 12);
      CHECK(data.n_items() <= 20000);
    }
  }
  SECTION("derived sizes stay feasible for small logs") {
    const Interactions data = generate_synthetic(settings_with(1000));
    CHECK(data.table.size() == 1000);
    CHECK(data.n_users() == 10);
  }
}

TEST_CASE("generate_synthetic: activity is heavy-tailed and every user splits into four stages",
          "[synthetic]") {
  const Interactions data = generate_synthetic(settings_with(100000));
  std::vector<int64_t> counts = counts_of(data.table.user, data.n_users());
  for (int64_t count : counts) {
    REQUIRE(count >= 8);
    REQUIRE(count <= 1676 / 2);
    // 60/10/10/20 with rounding up at each cut (DESIGN.md): no stage empty.
    const int64_t base = (6 * count + 9) / 10;
    const int64_t rl = (7 * count + 9) / 10;
    const int64_t valid = (8 * count + 9) / 10;
    REQUIRE(0 < base);
    REQUIRE(base < rl);
    REQUIRE(rl < valid);
    REQUIRE(valid < count);
  }
  std::sort(counts.begin(), counts.end());
  const int64_t median = counts[counts.size() / 2];
  const double mean = 100000.0 / static_cast<double>(counts.size());
  CHECK(static_cast<double>(median) < 0.8 * mean);
  CHECK(counts.back() > 5 * median);
}

TEST_CASE("generate_synthetic: each user's interactions run forward in time over a period",
          "[synthetic]") {
  const Interactions data = generate_synthetic(settings_with(50000));
  const InteractionTable& table = data.table;
  std::vector<int64_t> first(data.n_users(), std::numeric_limits<int64_t>::max());
  std::vector<int64_t> last(data.n_users(), std::numeric_limits<int64_t>::min());
  for (std::size_t row = 0; row < table.size(); ++row) {
    const int32_t user = table.user[row];
    // Rows come user by user, each in time order without ties.
    if (row > 0 && table.user[row - 1] == user) {
      REQUIRE(table.timestamp[row] > table.timestamp[row - 1]);
    } else {
      REQUIRE(first[user] == std::numeric_limits<int64_t>::max());
    }
    first[user] = std::min(first[user], table.timestamp[row]);
    last[user] = std::max(last[user], table.timestamp[row]);
  }
  int32_t short_periods = 0;
  int32_t long_periods = 0;
  for (int32_t u = 0; u < data.n_users(); ++u) {
    const int64_t length = last[u] - first[u];
    short_periods += length < 30 * 86400 ? 1 : 0;
    long_periods += length > 365 * 86400 ? 1 : 0;
  }
  CHECK(short_periods > data.n_users() / 5);
  CHECK(long_periods > data.n_users() / 20);
  const auto [earliest, latest] =
      std::minmax_element(table.timestamp.begin(), table.timestamp.end());
  CHECK(*latest - *earliest > 2 * 365 * 86400);
}

TEST_CASE("generate_synthetic: the same seed repeats bit for bit, another seed does not",
          "[synthetic]") {
  SyntheticSettings settings = settings_with(30000, 42);
  PlantedFactors planted_a;
  PlantedFactors planted_b;
  const Interactions a = generate_synthetic(settings, &planted_a);
  const Interactions b = generate_synthetic(settings, &planted_b);
  CHECK(a.table.user == b.table.user);
  CHECK(a.table.item == b.table.item);
  CHECK(a.table.rating == b.table.rating);
  CHECK(a.table.timestamp == b.table.timestamp);
  CHECK(a.users.integers == b.users.integers);
  CHECK(a.items.integers == b.items.integers);
  CHECK(planted_a.user_factors == planted_b.user_factors);
  CHECK(planted_a.item_factors == planted_b.item_factors);
  CHECK(planted_a.item_bias == planted_b.item_bias);

  settings.seed = 43;
  const Interactions c = generate_synthetic(settings);
  CHECK(c.table.size() == a.table.size());
  CHECK(c.table.item != a.table.item);
  CHECK(c.table.timestamp != a.table.timestamp);
  CHECK(c.table.rating != a.table.rating);
}

TEST_CASE("generate_synthetic: popularity skew concentrates interactions on the favoured items",
          "[synthetic]") {
  SyntheticSettings settings = settings_with(100000);
  PlantedFactors planted;
  const Interactions skewed = generate_synthetic(settings, &planted);
  const double skewed_share = top_decile_share_by_count(skewed);
  CHECK(skewed_share > 0.3);
  // And it is the planted bias that makes them popular.
  const std::vector<double> bias(planted.item_bias.data(),
                                 planted.item_bias.data() + planted.item_bias.size());
  CHECK(top_decile_share(skewed, bias) > 0.3);

  settings.popularity_skew = 0.0;
  const Interactions flat = generate_synthetic(settings, &planted);
  const double flat_share = top_decile_share_by_count(flat);
  CHECK(flat_share < 0.2);
  CHECK(planted.item_bias.cwiseAbs().maxCoeff() == 0.0f);
  CHECK(skewed_share > flat_share + 0.15);
}

TEST_CASE("generate_synthetic: planted affinity ranks each user's later items above unseen ones",
          "[synthetic]") {
  SyntheticSettings settings = settings_with(60000);
  settings.dim = 8;
  PlantedFactors planted;
  const Interactions data = generate_synthetic(settings, &planted);
  REQUIRE(planted.user_factors.rows() == data.n_users());
  REQUIRE(planted.user_factors.cols() == 8);
  REQUIRE(planted.item_factors.rows() == data.n_items());
  REQUIRE(planted.item_factors.cols() == 8);
  REQUIRE(planted.item_bias.size() == data.n_items());

  // AUC of the planted affinity alone (no popularity) for each user's last
  // fifth against items the user never touched: 0.5 would mean no structure.
  std::mt19937_64 engine(1);
  std::vector<char> seen(data.n_items(), 0);
  int64_t wins = 0;
  int64_t pairs = 0;
  const std::vector<std::vector<int32_t>> items = items_by_user(data);
  for (int32_t user = 0; user < data.n_users(); ++user) {
    for (int32_t item : items[user]) seen[item] = 1;
    const std::size_t held_out = items[user].size() - items[user].size() / 5;
    for (std::size_t j = held_out; j < items[user].size(); ++j) {
      int32_t negative;
      do {
        negative = static_cast<int32_t>(engine() % static_cast<uint64_t>(data.n_items()));
      } while (seen[negative] != 0);
      wins += affinity(planted, user, items[user][j]) > affinity(planted, user, negative) ? 1 : 0;
      ++pairs;
    }
    for (int32_t item : items[user]) seen[item] = 0;
  }
  CHECK(static_cast<double>(wins) / static_cast<double>(pairs) > 0.7);
}

TEST_CASE("generate_synthetic: ratings rise with planted affinity", "[synthetic]") {
  PlantedFactors planted;
  const Interactions data = generate_synthetic(settings_with(50000), &planted);
  std::vector<double> sum(6, 0.0);
  std::vector<int64_t> count(6, 0);
  for (std::size_t row = 0; row < data.table.size(); ++row) {
    const int rating = static_cast<int>(data.table.rating[row]);
    sum[rating] += affinity(planted, data.table.user[row], data.table.item[row]);
    ++count[rating];
  }
  for (int rating = 2; rating <= 5; ++rating) {
    REQUIRE(count[rating - 1] > 0);
    CHECK(sum[rating] / count[rating] > sum[rating - 1] / count[rating - 1] + 0.2);
  }
}

TEST_CASE("generate_synthetic: impossible settings throw InputError", "[synthetic]") {
  SyntheticSettings settings;
  SECTION("no interactions") { settings.n_interactions = 0; }
  SECTION("negative interactions") { settings.n_interactions = -5; }
  SECTION("more rows than 32-bit ids allow") { settings.n_interactions = int64_t{1} << 31; }
  SECTION("negative users") { settings.n_users = -1; }
  SECTION("negative items") { settings.n_items = -1; }
  SECTION("no factor dimension") { settings.dim = 0; }
  SECTION("negative skew") { settings.popularity_skew = -0.5; }
  SECTION("NaN skew") { settings.popularity_skew = std::nan(""); }
  SECTION("infinite skew") { settings.popularity_skew = std::numeric_limits<double>::infinity(); }
  SECTION("too few interactions for the derived 10 users") { settings.n_interactions = 79; }
  SECTION("too few interactions for the users asked for") {
    settings.n_users = 100;
    settings.n_interactions = 799;
  }
  SECTION("catalogue too small for 8 items per user") {
    settings.n_users = 10;
    settings.n_items = 15;
    settings.n_interactions = 80;
  }
  SECTION("more interactions than half the items per user allow") {
    settings.n_users = 10;
    settings.n_items = 20;
    settings.n_interactions = 101;
  }
  CHECK_THROWS_AS(generate_synthetic(settings), InputError);
}

}  // namespace
}  // namespace trd
