#include "teachers/bprmf.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <thread>

#include "data/error.hpp"
#include "teachers/fixed_dim.hpp"
#include "teachers/logistic_table.hpp"

namespace trd {
namespace {

// Uniform draws from the engine's bits: the standard distributions differ
// between standard libraries, and the same seed must give the same factors.
double unit(std::mt19937_64& engine) { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }
int32_t below(std::mt19937_64& engine, int32_t n) {
  return std::min(n - 1, static_cast<int32_t>(unit(engine) * n));
}

// Which items each user has met, one bit per (user, item): O(1) rejection of
// sampled negatives.
class SeenBits {
 public:
  SeenBits(const UserItems& seen, int32_t n_items)
      : words_per_user_((static_cast<int64_t>(n_items) + 63) / 64),
        bits_(static_cast<std::size_t>(seen.n_users() * words_per_user_), 0) {
    for (int32_t u = 0; u < seen.n_users(); ++u) {
      for (const int32_t* it = seen.begin(u); it != seen.end(u); ++it) {
        bits_[u * words_per_user_ + *it / 64] |= uint64_t{1} << (*it % 64);
      }
    }
  }
  bool contains(int32_t user, int32_t item) const { return (*word(user, item) >> (item % 64)) & 1; }
  const uint64_t* word(int32_t user, int32_t item) const {
    return bits_.data() + user * words_per_user_ + item / 64;
  }

 private:
  int64_t words_per_user_;
  std::vector<uint64_t> bits_;
};

void initialise(RowMatrixXf& factors, int64_t rows, int dim, std::mt19937_64& engine) {
  // Small Gaussian start (std 0.1) as in common BPR implementations;
  // Box-Muller on the engine's bits keeps it reproducible.
  constexpr double kStd = 0.1;
  factors.resize(rows, dim);
  float* data = factors.data();
  for (Eigen::Index k = 0; k < factors.size(); k += 2) {
    const double radius = kStd * std::sqrt(-2.0 * std::log(1.0 - unit(engine)));
    const double angle = 6.283185307179586 * unit(engine);
    data[k] = static_cast<float>(radius * std::cos(angle));
    if (k + 1 < factors.size()) data[k + 1] = static_cast<float>(radius * std::sin(angle));
  }
}

constexpr Eigen::Index kFloatsPerLine = 64 / sizeof(float);

struct Positive {
  int32_t user;
  int32_t item;
};

// SGD steps on (user, positive, sampled negative) triples, with the factors'
// length fixed at compile time for the common dims (see with_fixed_dim).
struct BprSteps {
  const TrainingSet& data;
  const SeenBits& seen;
  const TeacherSettings& settings;
  LogisticTable logistic{};

  /// Trains the positives [first, last) and returns their summed loss.
  template <int Dim>
  double train(const Positive* first, const Positive* last, RowMatrixXf& users, RowMatrixXf& items,
               uint64_t seed) const {
    using Row = Eigen::Map<Eigen::Matrix<float, Dim, 1>>;
    const Eigen::Index dim = users.cols();
    const auto row = [dim](RowMatrixXf& table, int32_t id) {
      return Row(table.data() + static_cast<Eigen::Index>(id) * dim, dim);
    };
    const float lr = settings.lr;
    const float l2 = settings.l2;
    std::mt19937_64 rng(seed);
    double loss = 0;
    // Each step's first negative is drawn one step early (the draws keep
    // their order) and its rows fetched meanwhile: the sampled item's row
    // and seen bits are the misses a step would otherwise wait on.
    int32_t drawn = below(rng, data.n_items);
    for (const Positive* next = first; next != last; ++next) {
      const int32_t u = next->user;
      const int32_t i = next->item;
      for (int neg = 0; neg < settings.negatives; ++neg) {
        int32_t j = drawn;
        // A user who has met every item has no negative: skip rather than loop.
        for (int tries = 0; seen.contains(u, j) && tries < 64; ++tries)
          j = below(rng, data.n_items);
        const bool has_negative = !seen.contains(u, j);
        drawn = below(rng, data.n_items);
        const int32_t next_user =
            neg + 1 < settings.negatives || next + 1 == last ? u : next[1].user;
        const float* drawn_row = items.data() + static_cast<Eigen::Index>(drawn) * dim;
        for (Eigen::Index at = 0; at < dim; at += kFloatsPerLine)
          __builtin_prefetch(drawn_row + at);
        __builtin_prefetch(seen.word(next_user, drawn));
        if (!has_negative) continue;
        Row p = row(users, u);
        Row qi = row(items, i);
        Row qj = row(items, j);
        const Eigen::Matrix<float, Dim, 1> difference = qi - qj;
        const Eigen::Matrix<float, Dim, 1> user_before = p;
        const float x = p.dot(difference);
        // g = sigmoid(-x): the gradient scale of log sigmoid(x).
        const float g = logistic.sigma(-x);
        loss += logistic.softplus(-x);
        p += lr * (g * difference - l2 * p);
        qi += lr * (g * user_before - l2 * qi);
        qj += lr * (-g * user_before - l2 * qj);
      }
    }
    return loss;
  }
};

}  // namespace

void BprMf::fit(const TrainingSet& data, const Knowledge* warm_start,
                const EpochCallback& on_epoch) {
  const TeacherSettings& s = settings_;
  if (s.dim < 1 || s.epochs < 0 || s.negatives < 1 || s.threads < 1 || s.threads > kMaxThreads ||
      !(s.lr > 0)) {
    throw InputError(
        "bprmf needs --dim >= 1, --epochs >= 0, --negatives >= 1, --threads in [1, 256] "
        "and --lr > 0");
  }
  std::mt19937_64 engine(s.seed);
  if (warm_start != nullptr) {
    if (!warm_start->has_embeddings() || warm_start->dim() != s.dim ||
        warm_start->user_embeddings.rows() != data.n_users ||
        warm_start->item_embeddings.rows() != data.n_items) {
      throw InputError("--init knowledge (" + warm_start->teacher + ", dim " +
                       std::to_string(warm_start->dim()) + ", " +
                       std::to_string(warm_start->user_embeddings.rows()) + " users, " +
                       std::to_string(warm_start->item_embeddings.rows()) +
                       " items) cannot warm-start bprmf with --dim " + std::to_string(s.dim) +
                       " on " + std::to_string(data.n_users) + " users and " +
                       std::to_string(data.n_items) + " items");
    }
    users_ = warm_start->user_embeddings;
    items_ = warm_start->item_embeddings;
  } else {
    initialise(users_, data.n_users, s.dim, engine);
    initialise(items_, data.n_items, s.dim, engine);
  }
  const InteractionTable& positives = data.interactions;
  const int64_t n = static_cast<int64_t>(positives.size());
  if (n == 0 || s.epochs == 0) return;
  if (data.n_items < 2) throw InputError("bprmf needs at least two items");
  const SeenBits seen(data.seen, data.n_items);
  // The positives themselves are shuffled, not their indices: the steps then
  // read them in sequence instead of one cache miss each.
  std::vector<Positive> order(static_cast<std::size_t>(n));
  for (int64_t row = 0; row < n; ++row) order[row] = {positives.user[row], positives.item[row]};
  const BprSteps steps{data, seen, s};
  // One worker's share of an epoch: SGD over order[begin, end); returns the
  // summed loss.
  auto train_range = [&](int64_t begin, int64_t end, uint64_t worker_seed) {
    return with_fixed_dim(s.dim, [&](auto fixed) {
      return steps.train<decltype(fixed)::value>(order.data() + begin, order.data() + end, users_,
                                                 items_, worker_seed);
    });
  };

  for (int epoch = 1; epoch <= s.epochs; ++epoch) {
    for (int64_t k = n - 1; k > 0; --k) {
      const int64_t pick = static_cast<int64_t>(unit(engine) * static_cast<double>(k + 1));
      std::swap(order[static_cast<std::size_t>(k)],
                order[static_cast<std::size_t>(std::min(pick, k))]);
    }
    const uint64_t epoch_seed = engine();
    double loss = 0;
    if (s.threads == 1) {
      loss = train_range(0, n, epoch_seed);
    } else {
      std::vector<double> losses(static_cast<std::size_t>(s.threads), 0.0);
      std::vector<std::thread> workers;
      for (int t = 0; t < s.threads; ++t) {
        workers.emplace_back([&, t] {
          losses[t] = train_range(n * t / s.threads, n * (t + 1) / s.threads, epoch_seed + t);
        });
      }
      for (std::thread& worker : workers) worker.join();
      for (double part : losses) loss += part;
    }
    if (on_epoch) on_epoch(epoch, s.epochs, loss / static_cast<double>(n * s.negatives));
  }
}

void BprMf::score(const std::vector<int32_t>& users, RowMatrixXf& out) const {
  dot_product_scores(users_, items_, users, out);
}

void BprMf::export_state(Knowledge& knowledge) const {
  knowledge.user_embeddings = users_;
  knowledge.item_embeddings = items_;
}

}  // namespace trd
