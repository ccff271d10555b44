#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "data/error.hpp"
#include "data/metrics.hpp"
#include "tests/shared_data.hpp"

namespace trd {
namespace {

constexpr double kTolerance = 1e-9;

// Every golden value must match to kTolerance absolutely; Catch's default
// relative epsilon would hide errors near 1.
Approx exactly(double expected) { return Approx(expected).epsilon(0).margin(kTolerance); }

// shared/golden/metrics.json (DESIGN.md, "Metrics").
std::optional<nlohmann::json> golden_metrics() { return testing::golden("metrics.json"); }

double metric_at(const std::vector<double>& out, Metric m, std::size_t j, std::size_t n_ks) {
  return out[static_cast<std::size_t>(m) * n_ks + j];
}

// list_metrics() of one list, as a vector laid out like its output.
std::vector<double> metrics_of(const std::vector<int32_t>& list,
                               const std::vector<int32_t>& held_out, const std::vector<int>& ks) {
  std::vector<double> out(kNumMetrics * ks.size());
  list_metrics(list.data(), static_cast<int>(list.size()), held_out.data(),
               held_out.data() + held_out.size(), ks, out.data());
  return out;
}

RowMatrixXi lists_matrix(const std::vector<std::vector<int32_t>>& rows) {
  RowMatrixXi lists(static_cast<Eigen::Index>(rows.size()),
                    static_cast<Eigen::Index>(rows.front().size()));
  for (std::size_t u = 0; u < rows.size(); ++u) {
    for (std::size_t i = 0; i < rows[u].size(); ++i) {
      lists(static_cast<Eigen::Index>(u), static_cast<Eigen::Index>(i)) = rows[u][i];
    }
  }
  return lists;
}

// Spelled out because UserItems({{1}}) is ambiguous with its copy constructor.
UserItems user_items(const std::vector<std::vector<int32_t>>& lists) { return UserItems(lists); }

UserItems no_history(std::size_t n_users) {
  return UserItems(std::vector<std::vector<int32_t>>(n_users));
}

TEST_CASE("every golden case, metric and k matches to 1e-9", "[metrics]") {
  const auto golden = golden_metrics();
  if (!golden) return;
  const std::vector<int> ks = (*golden)["k"].get<std::vector<int>>();
  REQUIRE((*golden)["cases"].size() == 40);
  int case_index = 0;
  for (const auto& golden_case : (*golden)["cases"]) {
    const auto out = metrics_of(golden_case["ranking"].get<std::vector<int32_t>>(),
                                golden_case["held_out"].get<std::vector<int32_t>>(), ks);
    for (std::size_t j = 0; j < ks.size(); ++j) {
      for (int m = 0; m < kNumMetrics; ++m) {
        INFO("case " << case_index << ", " << kMetricNames[m] << "@" << ks[j]);
        const double expected = golden_case["expected"][std::to_string(ks[j])][kMetricNames[m]];
        CHECK(metric_at(out, static_cast<Metric>(m), j, ks.size()) == exactly(expected));
      }
    }
    ++case_index;
  }
}

TEST_CASE("evaluate() over the 40 golden cases as users reproduces the golden means", "[metrics]") {
  const auto golden = golden_metrics();
  if (!golden) return;
  const std::vector<int> ks = (*golden)["k"].get<std::vector<int>>();
  std::vector<std::vector<int32_t>> rankings;
  std::vector<std::vector<int32_t>> held_out;
  for (const auto& golden_case : (*golden)["cases"]) {
    rankings.push_back(golden_case["ranking"].get<std::vector<int32_t>>());
    held_out.push_back(golden_case["held_out"].get<std::vector<int32_t>>());
  }
  const Evaluation evaluation = evaluate(lists_matrix(rankings), UserItems(held_out),
                                         no_history(rankings.size()), nullptr, ks);
  REQUIRE(evaluation.users.size() == 40);
  CHECK(evaluation.users_without_history == 40);
  for (int k : ks) {
    for (int m = 0; m < kNumMetrics; ++m) {
      INFO(kMetricNames[m] << "@" << k);
      const double expected = (*golden)["mean"][std::to_string(k)][kMetricNames[m]];
      CHECK(evaluation.value(static_cast<Metric>(m), k) == exactly(expected));
    }
  }
}

TEST_CASE("worked example by hand: list 3 9 4 7 1, held-out 4 1 8", "[metrics]") {
  // Hits at positions 3 (item 4) and 5 (item 1); |held-out| = 3.
  const std::vector<int> ks = {1, 3, 5};
  const auto out = metrics_of({3, 9, 4, 7, 1}, {4, 1, 8}, ks);
  auto at = [&](Metric m, std::size_t j) { return metric_at(out, m, j, ks.size()); };
  const double ideal3 = 1 + 1 / std::log2(3.0) + 1 / std::log2(4.0);  // three hits at 1, 2, 3

  // k = 1: item 3 is not held out, so every metric is 0.
  for (int m = 0; m < kNumMetrics; ++m) CHECK(at(static_cast<Metric>(m), 0) == 0.0);

  // k = 3: one hit, at position 3.
  CHECK(at(Metric::kPrecision, 1) == exactly(1.0 / 3));  // 1 hit / k = 3
  CHECK(at(Metric::kRecall, 1) == exactly(1.0 / 3));     // 1 hit / 3 held out
  CHECK(at(Metric::kHr, 1) == 1.0);
  CHECK(at(Metric::kMrr, 1) == exactly(1.0 / 3));  // first hit at rank 3
  // precision@3 * rel_3 = 1/3, divided by min(3, 3) = 3.
  CHECK(at(Metric::kMap, 1) == exactly((1.0 / 3) / 3));
  // DCG = 1 / log2(3 + 1); ideal: min(3, 3) = 3 hits.
  CHECK(at(Metric::kNdcg, 1) == exactly((1 / std::log2(4.0)) / ideal3));

  // k = 5: hits at 3 and 5.
  CHECK(at(Metric::kPrecision, 2) == exactly(2.0 / 5));
  CHECK(at(Metric::kRecall, 2) == exactly(2.0 / 3));
  CHECK(at(Metric::kHr, 2) == 1.0);
  CHECK(at(Metric::kMrr, 2) == exactly(1.0 / 3));
  // precision@3 = 1/3 and precision@5 = 2/5, divided by min(5, 3) = 3.
  CHECK(at(Metric::kMap, 2) == exactly((1.0 / 3 + 2.0 / 5) / 3));
  // DCG = 1 / log2(4) + 1 / log2(6); the ideal DCG is still that of 3 hits.
  CHECK(at(Metric::kNdcg, 2) == exactly((1 / std::log2(4.0) + 1 / std::log2(6.0)) / ideal3));
}

TEST_CASE("MAP and NDCG normalise by min(k, |held-out|)", "[metrics]") {
  // List [5, 6, 1, 2], held-out {1, 2, 3, 4, 5, 6}: every position hits, so at
  // k = 2 the list is ideal even though 4 held-out items are missing.
  const std::vector<int> ks = {2, 4};
  const auto out = metrics_of({5, 6, 1, 2}, {1, 2, 3, 4, 5, 6}, ks);
  CHECK(metric_at(out, Metric::kMap, 0, 2) == exactly(1.0));   // (1/1 + 2/2) / min(2, 6)
  CHECK(metric_at(out, Metric::kNdcg, 0, 2) == exactly(1.0));  // ideal DCG of 2 hits
  CHECK(metric_at(out, Metric::kRecall, 0, 2) == exactly(2.0 / 6));
  CHECK(metric_at(out, Metric::kMap, 1, 2) == exactly(1.0));  // 4 hits / min(4, 6)
}

TEST_CASE("padding (-1) never hits but still counts as a position", "[metrics]") {
  const std::vector<int> ks = {1, 4};
  // Only item 2 is held out; the three -1 entries are neither hits nor skipped:
  // precision@4 = 1 hit / 4.
  auto out = metrics_of({2, -1, -1, -1}, {2}, ks);
  CHECK(metric_at(out, Metric::kPrecision, 1, 2) == exactly(1.0 / 4));
  CHECK(metric_at(out, Metric::kRecall, 1, 2) == exactly(1.0));
  // A fully padded list scores 0 everywhere.
  out = metrics_of({-1, -1, -1, -1}, {0, 1}, ks);
  for (double value : out) CHECK(value == 0.0);
}

TEST_CASE("a held-out item counts once, however often it is listed or held out", "[metrics]") {
  const std::vector<int> ks = {2};
  auto out = metrics_of({4, 4}, {4}, ks);
  CHECK(metric_at(out, Metric::kPrecision, 0, 1) == exactly(1.0 / 2));
  CHECK(metric_at(out, Metric::kRecall, 0, 1) == exactly(1.0));
  out = metrics_of({4, 7}, {4, 4}, ks);
  CHECK(metric_at(out, Metric::kRecall, 0, 1) == exactly(1.0));  // |{4, 4}| = 1
}

TEST_CASE("candidates restrict the list, keeping its order", "[metrics]") {
  // Full list [10, 11, 12, 13, 14, 15], held-out {13}: the hit is at rank 4.
  // Restricted to candidates {15, 13, 11} (in any order) the list is
  // [11, 13, 15]: the hit moves to rank 2, and ranks 4 and 5 are empty.
  const RowMatrixXi lists = lists_matrix({{10, 11, 12, 13, 14, 15}});
  const UserItems held_out = user_items({{13}});
  const UserItems candidates = user_items({{15, 13, 11}});
  const std::vector<int> ks = {1, 2, 5};

  const Evaluation full = evaluate(lists, held_out, no_history(1), nullptr, ks);
  CHECK(full.value(Metric::kMrr, 5) == exactly(1.0 / 4));
  CHECK(full.value(Metric::kHr, 2) == 0.0);
  CHECK(full.mean_first_hit == 4.0);

  const Evaluation restricted = evaluate(lists, held_out, no_history(1), &candidates, ks);
  CHECK(restricted.value(Metric::kHr, 1) == 0.0);
  CHECK(restricted.value(Metric::kHr, 2) == 1.0);
  CHECK(restricted.value(Metric::kMrr, 5) == exactly(1.0 / 2));
  CHECK(restricted.value(Metric::kPrecision, 2) == exactly(1.0 / 2));
  CHECK(restricted.value(Metric::kPrecision, 5) == exactly(1.0 / 5));  // still / k
  CHECK(restricted.value(Metric::kNdcg, 5) == exactly(1 / std::log2(3.0)));
  CHECK(restricted.mean_first_hit == 2.0);
}

TEST_CASE("evaluate() averages over users with held-out items and counts hits and history",
          "[metrics]") {
  // user 0: hits at ranks 2 and 4, has history
  // user 1: no held-out item: excluded, although it has no history either
  // user 2: no hit, no history
  // user 3: hit at rank 4, beyond every k, no history
  const RowMatrixXi lists = lists_matrix({{5, 1, 6, 7}, {1, 2, 3, 4}, {1, 2, 3, 4}, {9, 8, 6, 3}});
  const UserItems held_out = user_items({{1, 7}, {}, {7}, {3}});
  const UserItems seen = user_items({{0, 2}, {}, {}, {}});
  const Evaluation evaluation = evaluate(lists, held_out, seen, nullptr, {1, 2});

  CHECK(evaluation.ks == std::vector<int>{1, 2});
  CHECK(evaluation.users == std::vector<int32_t>{0, 2, 3});
  REQUIRE(evaluation.per_user.rows() == 3);
  REQUIRE(evaluation.per_user.cols() == kNumMetrics * 2);
  CHECK(evaluation.users_with_hit == 2);         // users 0 and 3
  CHECK(evaluation.mean_first_hit == 3.0);       // first hits: (2 + 4) / 2
  CHECK(evaluation.users_without_history == 2);  // users 2 and 3, not user 1
  // Column m * |ks| + j: HR@2 is column 2 * 2 + 1.
  CHECK(evaluation.per_user(0, 5) == 1.0);
  CHECK(evaluation.per_user(1, 5) == 0.0);
  CHECK(evaluation.per_user(2, 5) == 0.0);
  CHECK(evaluation.value(Metric::kHr, 2) == exactly(1.0 / 3));
  CHECK(evaluation.value(Metric::kMrr, 2) == exactly(0.5 / 3));
  CHECK(evaluation.value(Metric::kHr, 1) == 0.0);
  for (Eigen::Index c = 0; c < evaluation.per_user.cols(); ++c) {
    CHECK(evaluation.mean(c) == exactly(evaluation.per_user.col(c).mean()));
  }
  CHECK_THROWS_WITH(evaluation.value(Metric::kHr, 3), "metrics at k = 3 were not computed");
}

TEST_CASE("evaluate() refuses bad cutoffs, an empty split and mismatched users", "[metrics]") {
  const RowMatrixXi lists = lists_matrix({{1, 2, 3, 4, 5}, {2, 3, 4, 5, 6}});
  const UserItems held_out = user_items({{1}, {}});
  const UserItems seen = no_history(2);
  CHECK_THROWS_AS(evaluate(lists, held_out, seen, nullptr, {1, 7}), InputError);
  CHECK_THROWS_WITH(evaluate(lists, held_out, seen, nullptr, {1, 7}),
                    "cutoff k = 7 exceeds the length of the ranked lists (L = 5)");
  CHECK_NOTHROW(evaluate(lists, held_out, seen, nullptr, {5}));
  CHECK_THROWS_WITH(evaluate(lists, held_out, seen, nullptr, {0}),
                    "cutoff k = 0 is not a positive integer");
  CHECK_THROWS_WITH(evaluate(lists, held_out, seen, nullptr, {}),
                    Catch::Contains("no cutoff k given"));
  CHECK_THROWS_AS(evaluate(lists, user_items({{}, {}}), seen, nullptr, {1}), InputError);
  CHECK_THROWS_WITH(evaluate(lists, user_items({{}, {}}), seen, nullptr, {1}),
                    "empty split: no user has a held-out item");
  CHECK_THROWS_WITH(evaluate(lists, user_items({{1}}), seen, nullptr, {1}),
                    "the ranked lists have 2 users but the held-out split has 1");
  const UserItems one_candidate_set = user_items({{1}});
  CHECK_THROWS_WITH(evaluate(lists, held_out, seen, &one_candidate_set, {1}),
                    "the ranked lists have 2 users but the candidate sets has 1");
}

TEST_CASE("list_metrics() refuses k > length and an empty held-out set", "[metrics]") {
  const std::vector<int32_t> list = {1, 2, 3};
  const std::vector<int32_t> held_out = {2};
  std::vector<double> out(kNumMetrics);
  CHECK_THROWS_WITH(
      list_metrics(list.data(), 3, held_out.data(), held_out.data() + 1, {4}, out.data()),
      "cutoff k = 4 exceeds the length of the ranked lists (L = 3)");
  CHECK_THROWS_WITH(list_metrics(list.data(), 3, held_out.data(), held_out.data(), {1}, out.data()),
                    "empty held-out set: metrics undefined");
}

// Deterministic noise in [0, 1) from the engine's top 53 bits, so the test
// data is the same with every standard library.
Eigen::VectorXd uniform_noise(std::mt19937_64& engine, Eigen::Index n) {
  Eigen::VectorXd noise(n);
  for (Eigen::Index i = 0; i < n; ++i) noise(i) = static_cast<double>(engine() >> 11) * 0x1p-53;
  return noise;
}

TEST_CASE("paired bootstrap: no difference gives [0, 0]", "[metrics][bootstrap]") {
  std::mt19937_64 engine(1);
  const Eigen::VectorXd a = uniform_noise(engine, 100);
  const Interval interval = paired_bootstrap(a, a);
  CHECK(interval.mean_difference == 0.0);
  CHECK(interval.low == 0.0);
  CHECK(interval.high == 0.0);
}

TEST_CASE("paired bootstrap: a constant shift d gives exactly d", "[metrics][bootstrap]") {
  // Quarters plus a half: every difference and every resampled sum is exact
  // in binary, so the interval must collapse onto d exactly.
  Eigen::VectorXd b(50);
  for (Eigen::Index i = 0; i < b.size(); ++i) b(i) = static_cast<double>(i % 7) / 4;
  const Eigen::VectorXd a = b.array() + 0.5;
  const Interval interval = paired_bootstrap(a, b, 500, 3);
  CHECK(interval.mean_difference == 0.5);
  CHECK(interval.low == 0.5);
  CHECK(interval.high == 0.5);
}

TEST_CASE("paired bootstrap: a clear gain excludes 0 and is reproducible", "[metrics][bootstrap]") {
  // a = b + 0.1 + noise in [-0.25, 0.25): the mean gain is about 0.1 with a
  // standard error of about (0.5 / sqrt(12)) / sqrt(300) = 0.008.
  std::mt19937_64 engine(7);
  const Eigen::VectorXd b = uniform_noise(engine, 300);
  const Eigen::VectorXd a = b.array() + 0.1 + (uniform_noise(engine, 300).array() - 0.5) / 2;
  const Interval interval = paired_bootstrap(a, b, 1000, 11);
  CHECK(interval.mean_difference == exactly((a - b).mean()));
  CHECK(interval.low > 0.0);
  CHECK(interval.low < interval.mean_difference);
  CHECK(interval.mean_difference < interval.high);
  // The percentile interval of a mean over 300 users is close to the normal
  // one, mean -+ 1.96 standard errors; 25% slack covers resampling noise.
  const Eigen::ArrayXd difference = (a - b).array();
  const double standard_error =
      std::sqrt((difference - difference.mean()).square().sum() / (difference.size() - 1) /
                static_cast<double>(difference.size()));
  const double half_width = 1.96 * standard_error;
  CHECK(interval.low == Approx(interval.mean_difference - half_width).margin(half_width / 4));
  CHECK(interval.high == Approx(interval.mean_difference + half_width).margin(half_width / 4));

  const Interval again = paired_bootstrap(a, b, 1000, 11);
  CHECK(again.low == interval.low);
  CHECK(again.high == interval.high);
  const Interval other_seed = paired_bootstrap(a, b, 1000, 12);
  CHECK(other_seed.low != interval.low);
  // A higher level widens the interval around the same resamples.
  const Interval wider = paired_bootstrap(a, b, 1000, 11, 0.99);
  CHECK(wider.low <= interval.low);
  CHECK(wider.high >= interval.high);
}

TEST_CASE("paired bootstrap draws indices as engine output mod n, for any standard library",
          "[metrics][bootstrap]") {
  // n = 4 divides 2^64, so no draw is rejected and one resample of
  // differences (0, 1, 2, 3) has mean sum(draw_i mod 4) / 4 over the first
  // four draws of mt19937_64, a sequence the C++ standard fixes.
  const Eigen::VectorXd a = (Eigen::VectorXd(4) << 0, 1, 2, 3).finished();
  const Eigen::VectorXd b = Eigen::VectorXd::Zero(4);
  for (uint64_t seed : {0, 1, 42}) {
    std::mt19937_64 engine(seed);
    double sum = 0;
    for (int i = 0; i < 4; ++i) sum += static_cast<double>(engine() % 4);
    const Interval interval = paired_bootstrap(a, b, 1, seed);
    CHECK(interval.low == sum / 4);
    CHECK(interval.high == sum / 4);
  }
}

TEST_CASE("paired bootstrap of many columns gives each column its own interval",
          "[metrics][bootstrap]") {
  // Columns with different gains and noise: each interval must be the one
  // the column gets alone, from the same seed's draws.
  std::mt19937_64 engine(5);
  const Eigen::Index users = 200;
  Eigen::MatrixXd a(users, 3), b(users, 3);
  for (Eigen::Index c = 0; c < 3; ++c) {
    b.col(c) = uniform_noise(engine, users);
    a.col(c) = b.col(c).array() + 0.05 * static_cast<double>(c) +
               (uniform_noise(engine, users).array() - 0.5) * static_cast<double>(c + 1) / 4;
  }
  const std::vector<Interval> together = paired_bootstrap_columns(a, b, 300, 9);
  REQUIRE(together.size() == 3);
  for (Eigen::Index c = 0; c < 3; ++c) {
    const Interval alone = paired_bootstrap(a.col(c), b.col(c), 300, 9);
    CHECK(together[static_cast<std::size_t>(c)].mean_difference == alone.mean_difference);
    CHECK(together[static_cast<std::size_t>(c)].low == alone.low);
    CHECK(together[static_cast<std::size_t>(c)].high == alone.high);
  }
  CHECK(together[0].low != together[2].low);
  CHECK_THROWS_AS(paired_bootstrap_columns(a, b.leftCols(2)), std::invalid_argument);
}

TEST_CASE("paired bootstrap refuses mismatched vectors and bad settings", "[metrics][bootstrap]") {
  const Eigen::VectorXd a = Eigen::VectorXd::Zero(3);
  const Eigen::VectorXd b = Eigen::VectorXd::Zero(4);
  CHECK_THROWS_AS(paired_bootstrap(a, b), std::invalid_argument);
  CHECK_THROWS_AS(paired_bootstrap(Eigen::VectorXd(), Eigen::VectorXd()), std::invalid_argument);
  CHECK_THROWS_WITH(paired_bootstrap(a, a, 0), "bootstrap resamples = 0: must be >= 1");
  CHECK_THROWS_AS(paired_bootstrap(a, a, 100, 0, 1.0), InputError);
}

TEST_CASE("parse_ks reads comma-separated positive integers", "[metrics]") {
  CHECK(parse_ks("1,5,10,20") == std::vector<int>{1, 5, 10, 20});
  CHECK(parse_ks("7") == std::vector<int>{7});
  CHECK(parse_ks("20,5") == std::vector<int>{20, 5});
}

TEST_CASE("parse_ks names the flag, the text and the problem", "[metrics]") {
  using Catch::Contains;
  CHECK_THROWS_AS(parse_ks("1,x"), InputError);
  CHECK_THROWS_WITH(parse_ks("1,x"), Contains("--k '1,x': 'x' is not a positive integer"));
  CHECK_THROWS_WITH(parse_ks(""), Contains("--k '': no value"));
  CHECK_THROWS_WITH(parse_ks("1,,5"), Contains("--k '1,,5': an empty value"));
  CHECK_THROWS_WITH(parse_ks("1,5,"), Contains("--k '1,5,': an empty value"));
  CHECK_THROWS_WITH(parse_ks("0"), Contains("'0' is not a positive integer"));
  CHECK_THROWS_WITH(parse_ks("-1"), Contains("'-1' is not a positive integer"));
  CHECK_THROWS_WITH(parse_ks("1.5"), Contains("'1.5' is not a positive integer"));
  CHECK_THROWS_WITH(parse_ks(" 5"), Contains("' 5' is not a positive integer"));
  CHECK_THROWS_WITH(parse_ks("99999999999"), Contains("'99999999999' is too large"));
  CHECK_THROWS_WITH(parse_ks("5,10,5"), Contains("--k '5,10,5': 5 appears twice"));
}

}  // namespace
}  // namespace trd
