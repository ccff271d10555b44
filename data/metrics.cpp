#include "data/metrics.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include "data/error.hpp"

namespace trd {
namespace {

// Cutoffs validated once per call, with the discounts precomputed so that the
// per-list work is proportional to the hits only.
struct Cutoffs {
  std::vector<int> ks;
  std::vector<double> discount;   // [p] = 1 / log2(p + 1), p = 1 .. max k
  std::vector<double> ideal_dcg;  // [j] = discount[1] + ... + discount[j]
};

Cutoffs make_cutoffs(const std::vector<int>& ks, int length) {
  if (ks.empty()) throw InputError("no cutoff k given: expected at least one, e.g. 1,5,10,20");
  int max_k = 0;
  for (int k : ks) {
    if (k < 1) throw InputError("cutoff k = " + std::to_string(k) + " is not a positive integer");
    if (k > length) {
      throw InputError("cutoff k = " + std::to_string(k) +
                       " exceeds the length of the ranked lists (L = " + std::to_string(length) +
                       ")");
    }
    max_k = std::max(max_k, k);
  }
  Cutoffs cutoffs{ks, std::vector<double>(max_k + 1, 0.0), std::vector<double>(max_k + 1, 0.0)};
  for (int p = 1; p <= max_k; ++p) {
    cutoffs.discount[p] = 1.0 / std::log2(p + 1.0);
    cutoffs.ideal_dcg[p] = cutoffs.ideal_dcg[p - 1] + cutoffs.discount[p];
  }
  return cutoffs;
}

// Writes every metric at every cutoff (layout of list_metrics()) for a list
// whose hits sit at the ascending 1-based `hit_positions`, out of `n_relevant`
// held-out items.
void metrics_from_hits(const std::vector<int>& hit_positions, int64_t n_relevant,
                       const Cutoffs& cutoffs, double* out) {
  const std::size_t n_ks = cutoffs.ks.size();
  auto at = [&](Metric m, std::size_t j) -> double& {
    return out[static_cast<std::size_t>(m) * n_ks + j];
  };
  for (std::size_t j = 0; j < n_ks; ++j) {
    const int k = cutoffs.ks[j];
    int hits = 0;
    double precision_sum = 0;
    double dcg = 0;
    for (int position : hit_positions) {
      if (position > k) break;
      ++hits;
      precision_sum += static_cast<double>(hits) / position;
      dcg += cutoffs.discount[position];
    }
    const int64_t ideal_hits = std::min<int64_t>(k, n_relevant);
    at(Metric::kPrecision, j) = static_cast<double>(hits) / k;
    at(Metric::kRecall, j) = static_cast<double>(hits) / static_cast<double>(n_relevant);
    at(Metric::kHr, j) = hits > 0 ? 1.0 : 0.0;
    at(Metric::kMap, j) = precision_sum / static_cast<double>(ideal_hits);
    at(Metric::kMrr, j) = hits > 0 ? 1.0 / hit_positions.front() : 0.0;
    at(Metric::kNdcg, j) = dcg / cutoffs.ideal_dcg[ideal_hits];
  }
}

// One byte of flags per item id, set for one user's items and cleared again
// afterwards: membership tests are O(1) and the map is allocated once per
// call, not once per user.
class ItemFlags {
 public:
  static constexpr char kHeldOut = 1;
  static constexpr char kCandidate = 2;

  explicit ItemFlags(int32_t n_items) : flags_(static_cast<std::size_t>(n_items), 0) {}

  // Sets `flag` on items [begin, end); returns how many distinct items got it.
  int64_t set(const int32_t* begin, const int32_t* end, char flag) {
    int64_t distinct = 0;
    for (const int32_t* item = begin; item != end; ++item) {
      if ((flags_[*item] & flag) == 0) ++distinct;
      flags_[*item] |= flag;
    }
    return distinct;
  }
  void clear(const int32_t* begin, const int32_t* end) {
    for (const int32_t* item = begin; item != end; ++item) flags_[*item] = 0;
  }
  // Padding (-1) and ids no held-out or candidate set mentions have no flags.
  char get(int32_t item) const {
    return item >= 0 && static_cast<std::size_t>(item) < flags_.size() ? flags_[item] : 0;
  }
  void unset(int32_t item, char flag) { flags_[item] &= static_cast<char>(~flag); }

 private:
  std::vector<char> flags_;
};

// 1 + the largest id in [begin, end), i.e. the flag map's size those ids need.
// Negative ids would index outside it, so they are refused here.
int32_t id_bound(const int32_t* begin, const int32_t* end, const char* what) {
  int32_t bound = 0;
  for (const int32_t* item = begin; item != end; ++item) {
    if (*item < 0)
      throw InputError(std::string(what) + " item id " + std::to_string(*item) + " < 0");
    bound = std::max(bound, *item + 1);
  }
  return bound;
}

// The 1-based positions of held-out items (flagged kHeldOut) in `list`; with
// `restrict_to_candidates`, positions count only candidate items, which is the
// list restricted to candidates. Each held-out item's flag is cleared at its
// first hit, so an item listed twice cannot count twice.
void find_hits(const int32_t* list, int length, bool restrict_to_candidates, ItemFlags& flags,
               std::vector<int>& hit_positions) {
  hit_positions.clear();
  int position = 0;
  for (int i = 0; i < length; ++i) {
    const char item_flags = flags.get(list[i]);
    if (restrict_to_candidates && (item_flags & ItemFlags::kCandidate) == 0) continue;
    ++position;
    if ((item_flags & ItemFlags::kHeldOut) != 0) {
      hit_positions.push_back(position);
      flags.unset(list[i], ItemFlags::kHeldOut);
    }
  }
}

void check_users(const RowMatrixXi& lists, const UserItems& items, const char* what) {
  if (items.n_users() != lists.rows()) {
    throw InputError("the ranked lists have " + std::to_string(lists.rows()) + " users but " +
                     what + " has " + std::to_string(items.n_users()));
  }
}

// An index uniform in [0, n) from the engine's raw 64 bits: draws in the
// incomplete last block of n values are redrawn, so every index is equally
// likely and the sequence depends only on mt19937_64, which the standard pins
// down exactly (unlike std::uniform_int_distribution).
uint64_t uniform_index(std::mt19937_64& engine, uint64_t n) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const uint64_t incomplete = (kMax % n + 1) % n;  // 2^64 mod n
  uint64_t draw = 0;
  do {
    draw = engine();
  } while (draw > kMax - incomplete);
  return draw % n;
}

// Quantile q of sorted `values`, interpolating linearly between neighbours
// (numpy's default), so equal neighbours give their value exactly.
double quantile(const std::vector<double>& values, double q) {
  const double position = q * static_cast<double>(values.size() - 1);
  const std::size_t below = static_cast<std::size_t>(std::floor(position));
  if (below + 1 >= values.size()) return values.back();
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[below + 1] - values[below]);
}

}  // namespace

void list_metrics(const int32_t* list, int length, const int32_t* held_out_begin,
                  const int32_t* held_out_end, const std::vector<int>& ks, double* out) {
  const Cutoffs cutoffs = make_cutoffs(ks, length);
  if (held_out_begin == held_out_end) throw InputError("empty held-out set: metrics undefined");
  ItemFlags flags(id_bound(held_out_begin, held_out_end, "held-out"));
  const int64_t n_relevant = flags.set(held_out_begin, held_out_end, ItemFlags::kHeldOut);
  std::vector<int> hit_positions;
  find_hits(list, length, false, flags, hit_positions);
  metrics_from_hits(hit_positions, n_relevant, cutoffs, out);
}

std::string metric_key(int m, int k) {
  return std::string(kMetricNames[m]) + "@" + std::to_string(k);
}

nlohmann::json evaluation_figures(const Evaluation& evaluation) {
  nlohmann::json figures = {{"users", evaluation.users.size()},
                            {"users_without_history", evaluation.users_without_history},
                            {"users_with_hit", evaluation.users_with_hit},
                            {"mean_first_hit", evaluation.mean_first_hit}};
  const std::size_t n_ks = evaluation.ks.size();
  for (int m = 0; m < kNumMetrics; ++m) {
    for (std::size_t j = 0; j < n_ks; ++j) {
      figures[metric_key(m, evaluation.ks[j])] = evaluation.mean[m * n_ks + j];
    }
  }
  return figures;
}

double Evaluation::value(Metric m, int k) const {
  const auto found = std::find(ks.begin(), ks.end(), k);
  if (found == ks.end()) {
    throw InputError("metrics at k = " + std::to_string(k) + " were not computed");
  }
  return mean(static_cast<Eigen::Index>(static_cast<std::size_t>(m) * ks.size() +
                                        static_cast<std::size_t>(found - ks.begin())));
}

Evaluation evaluate(const RowMatrixXi& lists, const UserItems& held_out, const UserItems& seen,
                    const UserItems* candidates, const std::vector<int>& ks) {
  check_users(lists, held_out, "the held-out split");
  check_users(lists, seen, "the interactions before the split");
  if (candidates != nullptr) check_users(lists, *candidates, "the candidate sets");
  const int length = static_cast<int>(lists.cols());
  const Cutoffs cutoffs = make_cutoffs(ks, length);

  Evaluation evaluation;
  evaluation.ks = ks;
  const int32_t n_users = held_out.n_users();
  for (int32_t u = 0; u < n_users; ++u) {
    if (held_out.size(u) > 0) evaluation.users.push_back(u);
  }
  if (evaluation.users.empty()) throw InputError("empty split: no user has a held-out item");

  // UserItems stores all users' items contiguously, so one pass over
  // [begin(0), end(n - 1)) sees every id.
  int32_t n_items = id_bound(held_out.begin(0), held_out.end(n_users - 1), "held-out");
  if (candidates != nullptr) {
    n_items = std::max(n_items,
                       id_bound(candidates->begin(0), candidates->end(n_users - 1), "candidate"));
  }
  ItemFlags flags(n_items);
  const std::size_t n_columns = kNumMetrics * ks.size();
  evaluation.per_user.resize(static_cast<Eigen::Index>(evaluation.users.size()),
                             static_cast<Eigen::Index>(n_columns));
  Eigen::RowVectorXd row(static_cast<Eigen::Index>(n_columns));
  std::vector<int> hit_positions;
  double first_hit_sum = 0;
  for (std::size_t r = 0; r < evaluation.users.size(); ++r) {
    const int32_t u = evaluation.users[r];
    const int64_t n_relevant = flags.set(held_out.begin(u), held_out.end(u), ItemFlags::kHeldOut);
    if (candidates != nullptr) {
      flags.set(candidates->begin(u), candidates->end(u), ItemFlags::kCandidate);
    }
    find_hits(lists.row(u).data(), length, candidates != nullptr, flags, hit_positions);
    flags.clear(held_out.begin(u), held_out.end(u));
    if (candidates != nullptr) flags.clear(candidates->begin(u), candidates->end(u));

    metrics_from_hits(hit_positions, n_relevant, cutoffs, row.data());
    evaluation.per_user.row(static_cast<Eigen::Index>(r)) = row;
    if (!hit_positions.empty()) {
      ++evaluation.users_with_hit;
      first_hit_sum += hit_positions.front();
    }
    if (seen.size(u) == 0) ++evaluation.users_without_history;
  }
  evaluation.mean = evaluation.per_user.colwise().mean().transpose();
  if (evaluation.users_with_hit > 0) {
    evaluation.mean_first_hit = first_hit_sum / static_cast<double>(evaluation.users_with_hit);
  }
  return evaluation;
}

std::vector<Interval> paired_bootstrap_columns(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                               int resamples, uint64_t seed, double level) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.rows() == 0 || a.cols() == 0) {
    throw std::invalid_argument(
        "paired_bootstrap: needs two equally shaped, non-empty inputs (got " +
        std::to_string(a.rows()) + " x " + std::to_string(a.cols()) + " and " +
        std::to_string(b.rows()) + " x " + std::to_string(b.cols()) + ")");
  }
  if (resamples < 1) {
    throw InputError("bootstrap resamples = " + std::to_string(resamples) + ": must be >= 1");
  }
  if (!(level > 0 && level < 1)) {
    throw InputError("bootstrap level = " + std::to_string(level) + ": must be in (0, 1)");
  }
  // One user's differences in every column side by side, so that a draw
  // reads them contiguously.
  const Eigen::MatrixXd by_user = (a - b).transpose();
  const Eigen::Index columns = by_user.rows();
  const uint64_t n = static_cast<uint64_t>(by_user.cols());
  std::mt19937_64 engine(seed);
  Eigen::MatrixXd means(resamples, columns);
  Eigen::VectorXd sum(columns);
  for (int r = 0; r < resamples; ++r) {
    sum.setZero();
    for (uint64_t i = 0; i < n; ++i) {
      sum += by_user.col(static_cast<Eigen::Index>(uniform_index(engine, n)));
    }
    means.row(r) = sum.transpose() / static_cast<double>(n);
  }
  std::vector<Interval> intervals(static_cast<std::size_t>(columns));
  std::vector<double> sorted(static_cast<std::size_t>(resamples));
  for (Eigen::Index c = 0; c < columns; ++c) {
    Eigen::VectorXd::Map(sorted.data(), resamples) = means.col(c);
    std::sort(sorted.begin(), sorted.end());
    Interval& interval = intervals[static_cast<std::size_t>(c)];
    // From a contiguous column, not by_user's strided row: Eigen sums the
    // two in different orders, and the one-column call's mean must not move.
    interval.mean_difference = Eigen::VectorXd(a.col(c) - b.col(c)).mean();
    interval.low = quantile(sorted, (1 - level) / 2);
    interval.high = quantile(sorted, (1 + level) / 2);
  }
  return intervals;
}

Interval paired_bootstrap(const Eigen::VectorXd& a, const Eigen::VectorXd& b, int resamples,
                          uint64_t seed, double level) {
  return paired_bootstrap_columns(a, b, resamples, seed, level).front();
}

std::vector<int> parse_ks(const std::string& text) {
  auto fail = [&](const std::string& why) {
    return InputError("--k '" + text + "': " + why +
                      " (expected positive integers separated by commas, e.g. 1,5,10,20)");
  };
  if (text.empty()) throw fail("no value");
  std::vector<int> ks;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string field =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (field.empty()) throw fail("an empty value");
    int64_t value = 0;
    for (char c : field) {
      if (c < '0' || c > '9') throw fail("'" + field + "' is not a positive integer");
      value = value * 10 + (c - '0');
      if (value > INT_MAX) throw fail("'" + field + "' is too large");
    }
    if (value == 0) throw fail("'" + field + "' is not a positive integer");
    if (std::find(ks.begin(), ks.end(), value) != ks.end()) {
      throw fail(std::to_string(value) + " appears twice");
    }
    ks.push_back(static_cast<int>(value));
    if (comma == std::string::npos) return ks;
    start = comma + 1;
  }
}

}  // namespace trd
