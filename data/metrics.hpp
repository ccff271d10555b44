#pragma once

#include <Eigen/Core>
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/knowledge.hpp"
#include "data/user_items.hpp"

namespace trd {

/// Ranking metrics of DESIGN.md, "Metrics".
enum class Metric { kPrecision, kRecall, kHr, kMap, kMrr, kNdcg };
inline constexpr int kNumMetrics = 6;
inline constexpr std::array<const char*, kNumMetrics> kMetricNames = {
    "precision", "recall", "hr", "map", "mrr", "ndcg"};

/// Metrics of one ranked list (best first; negative entries are -1 padding and
/// never hit) against a held-out set of item ids (>= 0; a repeated id counts
/// once), at each cutoff in `ks`: out[m * ks.size() + j] = metric m at ks[j].
/// With rel_i = 1 when position i (1-based) holds a held-out item and
/// R = min(k, |held_out|):
///   precision = hits in top k / k          recall = hits in top k / |held_out|
///   hr        = 1 if any hit in top k      mrr    = 1 / rank of first hit in top k, else 0
///   map       = sum_{i<=k} precision@i * rel_i / R
///   ndcg      = sum_{i<=k} rel_i / log2(i + 1), divided by the same sum for R hits.
/// Throws InputError if ks is empty, has some k < 1 or k > length, or the
/// held-out set is empty.
void list_metrics(const int32_t* list, int length, const int32_t* held_out_begin,
                  const int32_t* held_out_end, const std::vector<int>& ks, double* out);

/// "ndcg@5": how reports and --json name metric `m` at cutoff `k`.
std::string metric_key(int m, int k);

/// Per-user and mean metrics of a set of ranked lists (see evaluate()).
struct Evaluation {
  std::vector<int> ks;
  std::vector<int32_t> users;  ///< evaluated users: those with >= 1 held-out item, ascending
  Eigen::MatrixXd per_user;  ///< [users.size(), kNumMetrics * ks.size()], column m * ks.size() + j
  Eigen::VectorXd mean;      ///< column means of per_user
  /// Mean 1-based position of the first hit in the (restricted) list, over
  /// users with a hit; 0 when no user has one.
  double mean_first_hit = 0;
  int64_t users_with_hit = 0;         ///< evaluated users with a hit anywhere in their list
  int64_t users_without_history = 0;  ///< evaluated users with no interaction before the split

  /// Mean of metric `m` at cutoff `k`; throws InputError if k is not in ks.
  double value(Metric m, int k) const;
};

/// What `trd eval --json` reports of an evaluation: users, users_with_hit,
/// users_without_history, mean_first_hit and each mean under metric_key().
nlohmann::json evaluation_figures(const Evaluation& evaluation);

/// Scores `lists` (row u = user u's ranked list, best first, -1 padded)
/// against `held_out`, averaging over users with >= 1 held-out item.
/// `seen[u]` is what user u met before the split (only its size is used, to
/// count users without history). With `candidates`, each list is first
/// restricted to the user's candidate items, keeping list order: that is
/// exactly the teacher's ranking of its candidate set, provided the lists are
/// long enough to contain the candidates. Throws InputError if ks is empty,
/// has some k < 1 or k > L (the lists' length), if the inputs disagree on the
/// number of users, or if no user has a held-out item ("empty split").
Evaluation evaluate(const RowMatrixXi& lists, const UserItems& held_out, const UserItems& seen,
                    const UserItems* candidates, const std::vector<int>& ks);

/// A paired bootstrap interval (see paired_bootstrap()).
struct Interval {
  double mean_difference = 0, low = 0, high = 0;
};

/// `level` (default 95%) percentile interval of mean(a - b) over users: user
/// indices are resampled with replacement `resamples` times from
/// std::mt19937_64 seeded with `seed`; the bounds are the (1 - level) / 2 and
/// (1 + level) / 2 quantiles of the resampled means, linearly interpolated.
/// Each index is the engine's next draw mod n (draws from the incomplete last
/// block of n values are redrawn), not std::uniform_int_distribution, so the
/// interval is the same with every standard library. Throws
/// std::invalid_argument if a and b differ in size or are empty, InputError if
/// resamples < 1 or level is outside (0, 1).
Interval paired_bootstrap(const Eigen::VectorXd& a, const Eigen::VectorXd& b, int resamples = 1000,
                          uint64_t seed = 0, double level = 0.95);

/// paired_bootstrap() of each column of `a` against the same column of `b`
/// (users in rows), all from one stream of draws: interval c is exactly
/// paired_bootstrap(a.col(c), b.col(c), resamples, seed, level), at one
/// column's cost in draws.
std::vector<Interval> paired_bootstrap_columns(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                               int resamples = 1000, uint64_t seed = 0,
                                               double level = 0.95);

/// "1,5,10,20" -> {1, 5, 10, 20}; throws InputError("--k '...': ...") unless
/// the text is distinct positive integers separated by commas.
std::vector<int> parse_ks(const std::string& text);

}  // namespace trd
