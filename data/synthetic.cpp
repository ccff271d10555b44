#include "data/synthetic.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data/error.hpp"

namespace trd {
namespace {

// Derived sizes follow ML-100K: 100,000 ratings from 943 users on 1,682 items.
constexpr double kInteractionsPerUser = 106.0;
constexpr double kItemsPerSqrtInteraction = 5.3;
constexpr int32_t kMinDerivedUsers = 10;
constexpr int32_t kMinDerivedItems = 20;
// Small logs would otherwise get catalogues so small that the mean user holds
// most of it; a quarter keeps them feasible and the activity tail rarely capped.
constexpr double kDerivedMeanItemShare = 0.25;
// The smallest count whose 60/10/10/20 cut (rounding up at each cut) leaves
// every stage non-empty: fewer would leave some users without a reward or a test.
constexpr int32_t kMinPerUser = 8;
// Full ranking needs unseen candidates for every user.
constexpr double kMaxItemShare = 0.5;
// Lognormal spread of per-user activity: gives ML-100K's long tail (median
// user well below the mean, the heaviest several times it).
constexpr double kActivitySigma = 1.0;
// Standard deviation of planted affinity u.v over random pairs: strong enough
// that taste is learnable (a user's later items beat unseen ones on it about
// three times in four), weak enough that popularity still matters.
constexpr double kAffinityStd = 1.5;
// Ratings are the affinity (in units of kAffinityStd) plus logistic noise, cut
// so the drawn items' ratings spread roughly like ML-100K's (6% 1, 11% 2,
// 27% 3, 34% 4, 21% 5).
constexpr double kRatingNoise = 0.5;
constexpr std::array<double, 4> kRatingCuts = {-0.8, 0.0, 1.0, 2.25};
constexpr int64_t kFirstTimestamp = 1420070400;  // 2015-01-01T00:00:00Z
constexpr int64_t kSpanSeconds = 3 * 365 * 86400;
constexpr double kMinActiveSeconds = 86400.0;
// Logits per block of users: large enough for an efficient matrix product,
// small enough to stay in cache.
constexpr int64_t kBlockLogits = 1 << 18;

// The standard distributions are implementation-defined, so the draws are
// made here from the engine's bits and do not change with the standard library.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Excludes 0 and 1, so logs of it (and of its complement) stay finite.
  double open_uniform() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }
  int64_t below(int64_t n) {
    return std::min(n - 1, static_cast<int64_t>(uniform() * static_cast<double>(n)));
  }
  double exponential() { return -std::log(open_uniform()); }
  double logistic() {
    const double u = open_uniform();
    return std::log(u / (1.0 - u));
  }
  // Box-Muller, pairwise.
  void fill_normal(float* out, int64_t n, double stddev) {
    constexpr double kTwoPi = 6.283185307179586;
    for (int64_t i = 0; i < n; i += 2) {
      const double radius = stddev * std::sqrt(-2.0 * std::log(open_uniform()));
      const double angle = kTwoPi * uniform();
      out[i] = static_cast<float>(radius * std::cos(angle));
      if (i + 1 < n) out[i + 1] = static_cast<float>(radius * std::sin(angle));
    }
  }

 private:
  std::mt19937_64 engine_;
};

struct Shape {
  int64_t n_interactions;
  int32_t n_users;
  int32_t n_items;
  int32_t max_per_user;
};

Shape resolve_shape(const SyntheticSettings& settings) {
  constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();
  const std::string where = "synthetic data: ";
  if (settings.n_interactions < 1 || settings.n_interactions > kMaxInt32) {
    throw InputError(where + "n_interactions must be in [1, " + std::to_string(kMaxInt32) +
                     "], got " + std::to_string(settings.n_interactions));
  }
  if (settings.n_users < 0 || settings.n_items < 0) {
    throw InputError(where + "n_users and n_items must be >= 0 (0 derives them), got " +
                     std::to_string(settings.n_users) + " and " + std::to_string(settings.n_items));
  }
  if (settings.dim < 1) {
    throw InputError(where + "dim must be >= 1, got " + std::to_string(settings.dim));
  }
  if (!std::isfinite(settings.popularity_skew) || settings.popularity_skew < 0.0) {
    throw InputError(where + "popularity_skew must be finite and >= 0, got " +
                     std::to_string(settings.popularity_skew));
  }

  Shape shape;
  shape.n_interactions = settings.n_interactions;
  const double n = static_cast<double>(settings.n_interactions);
  shape.n_users =
      settings.n_users > 0
          ? settings.n_users
          : std::max(kMinDerivedUsers, static_cast<int32_t>(std::lround(n / kInteractionsPerUser)));
  if (settings.n_items > 0) {
    shape.n_items = settings.n_items;
  } else {
    const double items = std::max({static_cast<double>(kMinDerivedItems),
                                   std::round(kItemsPerSqrtInteraction * std::sqrt(n)),
                                   std::ceil(n / shape.n_users / kDerivedMeanItemShare)});
    shape.n_items = static_cast<int32_t>(std::min(items, static_cast<double>(kMaxInt32)));
  }
  shape.max_per_user = static_cast<int32_t>(shape.n_items * kMaxItemShare);
  if (shape.max_per_user < kMinPerUser) {
    throw InputError(where + "n_items must be at least " +
                     std::to_string(static_cast<int>(std::ceil(kMinPerUser / kMaxItemShare))) +
                     " (each user draws at least " + std::to_string(kMinPerUser) +
                     " items and leaves half of them unseen), got " +
                     std::to_string(shape.n_items));
  }
  const int64_t fewest = int64_t{kMinPerUser} * shape.n_users;
  if (shape.n_interactions < fewest) {
    throw InputError(where + "n_interactions = " + std::to_string(shape.n_interactions) +
                     " is too few for " + std::to_string(shape.n_users) +
                     " users: each needs at least " + std::to_string(kMinPerUser) +
                     " (so a 60/10/10/20 split leaves every stage one); ask for at least " +
                     std::to_string(fewest) + " or set fewer n_users");
  }
  const int64_t most = int64_t{shape.max_per_user} * shape.n_users;
  if (shape.n_interactions > most) {
    throw InputError(where + "n_interactions = " + std::to_string(shape.n_interactions) +
                     " is more than " + std::to_string(shape.n_users) + " users and " +
                     std::to_string(shape.n_items) + " items allow (" + std::to_string(most) +
                     ": each user holds at most half of the items)");
  }
  return shape;
}

// Zipf-like bias: the item of popularity rank r gets weight r^-skew. Ranks are
// shuffled so raw ids say nothing about popularity.
Eigen::VectorXf popularity_bias(int32_t n_items, double skew, Random& rng) {
  std::vector<int32_t> rank(n_items);
  std::iota(rank.begin(), rank.end(), 1);
  for (int32_t i = n_items - 1; i > 0; --i) std::swap(rank[i], rank[rng.below(i + 1)]);
  Eigen::VectorXf bias(n_items);
  for (int32_t i = 0; i < n_items; ++i) {
    bias(i) = static_cast<float>(-skew * std::log(static_cast<double>(rank[i])));
  }
  return bias;
}

// Per-user counts that sum to exactly n: each user gets the minimum plus a
// lognormal share of the rest, shares above the cap are cut to it and the
// excess goes to the others, and largest remainders round to integers.
std::vector<int32_t> draw_activity(const Shape& shape, Random& rng) {
  const int32_t n_users = shape.n_users;
  std::vector<float> z(n_users);
  rng.fill_normal(z.data(), n_users, kActivitySigma);
  std::vector<double> weight(n_users);
  for (int32_t u = 0; u < n_users; ++u) weight[u] = std::exp(static_cast<double>(z[u]));

  const double room = shape.max_per_user - kMinPerUser;
  const double extra = static_cast<double>(shape.n_interactions - int64_t{kMinPerUser} * n_users);
  std::vector<double> share(n_users, 0.0);
  std::vector<bool> capped(n_users, false);
  for (bool changed = true; changed;) {
    changed = false;
    double free_weight = 0.0;
    double left = extra;
    for (int32_t u = 0; u < n_users; ++u) {
      if (capped[u]) {
        left -= room;
      } else {
        free_weight += weight[u];
      }
    }
    for (int32_t u = 0; u < n_users; ++u) {
      if (capped[u]) continue;
      share[u] = left * weight[u] / free_weight;
      if (share[u] >= room) {
        share[u] = room;
        capped[u] = true;
        changed = true;
      }
    }
  }

  std::vector<int32_t> counts(n_users);
  int64_t missing = shape.n_interactions;
  for (int32_t u = 0; u < n_users; ++u) {
    counts[u] = kMinPerUser + static_cast<int32_t>(std::floor(share[u]));
    missing -= counts[u];
  }
  std::vector<int32_t> order(n_users);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return share[a] - std::floor(share[a]) > share[b] - std::floor(share[b]);
  });
  // Rounding in the shares can leave the remainders a unit off their sum, so
  // this goes round again until every unit is placed (the shape check
  // guarantees room for all of them).
  while (missing > 0) {
    for (int32_t u : order) {
      if (missing == 0) break;
      if (counts[u] < shape.max_per_user) {
        ++counts[u];
        --missing;
      }
    }
  }
  while (missing < 0) {
    for (auto it = order.rbegin(); it != order.rend() && missing < 0; ++it) {
      if (counts[*it] > kMinPerUser) {
        --counts[*it];
        ++missing;
      }
    }
  }
  return counts;
}

// Draws items one after another from the softmax of a user's logits, each
// from what is left: the law Gumbel-top-k samples (a Plackett-Luce order), but
// with one random number per drawn item instead of one per item. A Fenwick
// tree over the weights finds and removes each draw in O(log n_items).
class SoftmaxSampler {
 public:
  // Fills `drawn` with `count` distinct items, in draw order.
  void draw(const Eigen::Ref<const Eigen::VectorXf>& logits, int32_t count, Random& rng,
            std::vector<int32_t>* drawn) {
    // Shifted by the maximum so no weight overflows; floored so none
    // underflows to zero, which marks a drawn item.
    weight_ = (logits.array() - logits.maxCoeff()).max(kMinShiftedLogit).exp();
    build();
    drawn->clear();
    while (static_cast<int32_t>(drawn->size()) < count) {
      const int32_t item = find(rng.uniform() * total_);
      // Rounding can leave a removed item (or one past the end) a sliver of
      // weight; landing there is rare and just asks for another draw.
      if (item == size() || weight_(item) == 0.0f) continue;
      drawn->push_back(item);
      remove(item);
      // Once most weight is gone, the removals' rounding residue could rival
      // what is left, and floored weights would pass for the real ones: start
      // again from the items left, shifted by their own maximum.
      if (total_ < kRebuildShare * built_total_) reweigh(logits);
    }
  }

 private:
  // exp(-80) is still a normal float.
  static constexpr float kMinShiftedLogit = -80.0f;
  static constexpr double kRebuildShare = 0x1.0p-20;

  int32_t size() const { return static_cast<int32_t>(weight_.size()); }

  void reweigh(const Eigen::Ref<const Eigen::VectorXf>& logits) {
    float top = -std::numeric_limits<float>::infinity();
    for (int32_t i = 0; i < size(); ++i) {
      if (weight_(i) > 0.0f) top = std::max(top, logits(i));
    }
    for (int32_t i = 0; i < size(); ++i) {
      if (weight_(i) > 0.0f) weight_(i) = std::exp(std::max(logits(i) - top, kMinShiftedLogit));
    }
    build();
  }

  // Indices are 64-bit so that stepping past the last item cannot overflow.
  void build() {
    const int64_t n = size();
    top_step_ = 1;
    while (top_step_ * 2 <= n) top_step_ *= 2;
    // Padding up to twice the top step lets find() descend without bounds
    // checks: an infinite node is never stepped into.
    tree_.assign(n + 1, 0.0);
    tree_.resize(2 * top_step_, std::numeric_limits<double>::infinity());
    double total = 0.0;
    for (int64_t i = 1; i <= n; ++i) {
      tree_[i] += weight_(i - 1);
      total += weight_(i - 1);
      const int64_t parent = i + (i & -i);
      if (parent <= n) tree_[parent] += tree_[i];
    }
    total_ = total;
    built_total_ = total;
  }

  // The item whose weight interval holds `target`, or size() past the end.
  int32_t find(double target) const {
    int64_t pos = 0;
    for (int64_t step = top_step_; step > 0; step >>= 1) {
      const double node = tree_[pos + step];
      if (node <= target) {
        pos += step;
        target -= node;
      }
    }
    return static_cast<int32_t>(pos);
  }

  void remove(int32_t item) {
    const double weight = weight_(item);
    weight_(item) = 0.0f;
    total_ -= weight;
    for (int64_t i = int64_t{item} + 1; i <= size(); i += i & -i) tree_[i] -= weight;
  }

  Eigen::ArrayXf weight_;
  std::vector<double> tree_;  // 1-based Fenwick tree of weight_
  double total_ = 0.0;
  double built_total_ = 0.0;
  int64_t top_step_ = 1;
};

float rating_of(double affinity, Random& rng) {
  const double x = affinity / kAffinityStd + kRatingNoise * rng.logistic();
  int rating = 1;
  for (double cut : kRatingCuts) rating += x > cut ? 1 : 0;
  return static_cast<float>(rating);
}

// `count` strictly increasing times spread over one user's active period:
// its length is log-uniform between a day and the whole span (most users come
// for a short while, a few stay for years), and the gaps are exponential.
void fill_times(int32_t count, Random& rng, std::vector<double>* gaps,
                std::vector<int64_t>* times) {
  // Kept free at the end so the one-second nudges below stay inside the span.
  const double usable = std::max(kMinActiveSeconds, static_cast<double>(kSpanSeconds - count));
  const double length =
      kMinActiveSeconds * std::exp(rng.uniform() * std::log(usable / kMinActiveSeconds));
  const double start = rng.uniform() * (usable - length);
  gaps->resize(count + 1);
  double total = 0.0;
  for (double& gap : *gaps) {
    total += rng.exponential();
    gap = total;
  }
  times->resize(count);
  int64_t previous = std::numeric_limits<int64_t>::min();
  for (int32_t j = 0; j < count; ++j) {
    const int64_t t =
        kFirstTimestamp + static_cast<int64_t>(std::floor(start + length * (*gaps)[j] / total));
    previous = std::max(t, previous + 1);
    (*times)[j] = previous;
  }
}

}  // namespace

Interactions generate_synthetic(const SyntheticSettings& settings, PlantedFactors* planted) {
  const Shape shape = resolve_shape(settings);
  const int32_t n_users = shape.n_users;
  const int32_t n_items = shape.n_items;
  Random rng(settings.seed);

  const int dim = settings.dim;
  // Per-coordinate spread that gives u.v a standard deviation of kAffinityStd.
  const double factor_std = std::sqrt(kAffinityStd / std::sqrt(static_cast<double>(dim)));
  // One more column on each side carries the bias through the matrix product:
  // users get a 1 there and items their bias, so no pass adds it afterwards.
  Eigen::MatrixXf user_factors(n_users, dim + 1);
  Eigen::MatrixXf item_factors(n_items, dim + 1);
  rng.fill_normal(user_factors.data(), int64_t{n_users} * dim, factor_std);
  rng.fill_normal(item_factors.data(), int64_t{n_items} * dim, factor_std);
  user_factors.col(dim).setOnes();
  item_factors.col(dim) = popularity_bias(n_items, settings.popularity_skew, rng);
  const auto bias = item_factors.col(dim);
  const std::vector<int32_t> counts = draw_activity(shape, rng);

  Interactions out;
  out.table.reserve(static_cast<std::size_t>(shape.n_interactions));
  const int32_t block =
      static_cast<int32_t>(std::clamp<int64_t>(kBlockLogits / n_items, 1, n_users));
  // Column j holds the logits of user first + j over all items.
  Eigen::MatrixXf logits(n_items, block);
  SoftmaxSampler sampler;
  std::vector<int32_t> drawn;
  std::vector<double> gaps;
  std::vector<int64_t> times;
  for (int32_t first = 0; first < n_users; first += block) {
    const int32_t size = std::min(block, n_users - first);
    auto block_logits = logits.leftCols(size);
    block_logits.noalias() = item_factors * user_factors.middleRows(first, size).transpose();
    for (int32_t j = 0; j < size; ++j) {
      const int32_t user = first + j;
      sampler.draw(block_logits.col(j), counts[user], rng, &drawn);
      fill_times(counts[user], rng, &gaps, &times);
      for (int32_t rank = 0; rank < counts[user]; ++rank) {
        const int32_t item = drawn[rank];
        const double affinity = block_logits(item, j) - bias(item);
        out.table.push_back(user, item, rating_of(affinity, rng), times[rank]);
      }
    }
  }

  // Dense item ids skip the items nobody drew, keeping the planted order.
  std::vector<bool> used(n_items, false);
  for (int32_t item : out.table.item) used[item] = true;
  std::vector<int32_t> kept;
  std::vector<int32_t> dense(n_items, -1);
  for (int32_t i = 0; i < n_items; ++i) {
    if (!used[i]) continue;
    dense[i] = static_cast<int32_t>(kept.size());
    kept.push_back(i);
  }
  for (int32_t& item : out.table.item) item = dense[item];

  out.users.integers.resize(n_users);
  std::iota(out.users.integers.begin(), out.users.integers.end(), int64_t{1});
  out.items.integers.reserve(kept.size());
  for (int32_t i : kept) out.items.integers.push_back(int64_t{i} + 1);

  if (planted != nullptr) {
    planted->user_factors = user_factors.leftCols(dim);
    planted->item_factors.resize(static_cast<Eigen::Index>(kept.size()), dim);
    planted->item_bias.resize(static_cast<Eigen::Index>(kept.size()));
    for (std::size_t d = 0; d < kept.size(); ++d) {
      planted->item_factors.row(d) = item_factors.row(kept[d]).head(dim);
      planted->item_bias(d) = bias(kept[d]);
    }
  }
  return out;
}

}  // namespace trd
