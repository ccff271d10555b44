#include "teachers/item2vec.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "data/error.hpp"
#include "teachers/fixed_dim.hpp"
#include "teachers/logistic_table.hpp"

namespace trd {
namespace {

constexpr int kMaxNegatives = 1000;

// Engine bits are turned into numbers here rather than with <random>'s
// distributions, whose algorithms differ between standard libraries: the same
// seed must give the same embeddings everywhere.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

void shuffle(std::vector<int32_t>& values, std::mt19937_64& rng) {
  for (std::size_t i = values.size(); i > 1; --i) {
    std::swap(values[i - 1], values[rng() % i]);
  }
}

std::string shape(const RowMatrixXf& m) {
  return "[" + std::to_string(m.rows()) + ", " + std::to_string(m.cols()) + "]";
}

// Negatives follow unigram^0.75 (word2vec), drawn in O(1) from Vose's alias
// table: a binary search over cumulative weights mispredicts a branch per
// step and took half of the training time.
class NegativeSampler {
 public:
  explicit NegativeSampler(const std::vector<int64_t>& counts) {
    std::vector<int32_t> own;  // items that occur; the others are never drawn
    std::vector<double> weights;
    double total = 0;
    for (std::size_t item = 0; item < counts.size(); ++item) {
      if (counts[item] == 0) continue;
      own.push_back(static_cast<int32_t>(item));
      weights.push_back(std::pow(static_cast<double>(counts[item]), 0.75));
      total += weights.back();
    }
    const std::size_t n = own.size();
    std::vector<int32_t> alias = own;
    std::vector<double> keep(n, 1.0);
    std::vector<std::size_t> small;
    std::vector<std::size_t> large;
    for (std::size_t i = 0; i < n; ++i) {
      weights[i] *= static_cast<double>(n) / total;
      (weights[i] < 1 ? small : large).push_back(i);
    }
    while (!small.empty() && !large.empty()) {
      const std::size_t less = small.back();
      const std::size_t more = large.back();
      small.pop_back();
      keep[less] = weights[less];
      alias[less] = own[more];
      weights[more] -= 1 - weights[less];
      if (weights[more] < 1) {
        large.pop_back();
        small.push_back(more);
      }
    }
    // Whatever is left holds weight 1 up to rounding and keeps its own item.
    keep_below_.resize(n);
    outcomes_.resize(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
      keep_below_[i] = static_cast<uint64_t>(std::ldexp(keep[i], 32));
      outcomes_[2 * i] = own[i];
      outcomes_[2 * i + 1] = alias[i];
    }
  }

  /// One draw from 32 random bits: their product with the column count picks
  /// a column in its high half (multiply-shift, no division) and leaves a
  /// uniform remainder in its low half, the coin between the column's item
  /// and its alias. Selected by an index: the coin is a fair guess for the
  /// branch predictor, and a conditional select compiled to a branch.
  int32_t draw(uint32_t bits) const {
    const uint64_t product = static_cast<uint64_t>(bits) * keep_below_.size();
    const std::size_t column = static_cast<std::size_t>(product >> 32);
    const bool alias = (product & 0xffffffffu) >= keep_below_[column];
    return outcomes_[2 * column + alias];
  }

 private:
  /// Column c yields outcomes_[2c] (its own item) or outcomes_[2c + 1] (its alias).
  std::vector<int32_t> outcomes_;
  std::vector<uint64_t> keep_below_;  ///< a column keeps its own item when the coin is below this
};

// Negatives come from drand48's 48-bit linear congruential engine, as in
// word2vec, whose top 32 bits are a draw: one multiply-add each, where the
// Mersenne twister's block refills took 14% of the training time.
using NegativeEngine = std::linear_congruential_engine<uint64_t, 25214903917, 11, 1ull << 48>;

uint32_t draw_bits(NegativeEngine& engine) { return static_cast<uint32_t>(engine() >> 16); }

// One epoch of SGNS over every user's pairs, with the vectors' length fixed
// at compile time for the common dims: Eigen then unrolls each dot product
// and update into a few packet operations instead of a run-time loop with
// its head and tail (2x faster at dim 32).
struct SkipGram {
  SkipGram(const TrainingSet& data, const NegativeSampler& sampler, const TeacherSettings& settings,
           double total_pairs)
      : data(data),
        sampler(sampler),
        negatives(settings.negatives),
        window(settings.window),
        lr0(settings.lr),
        total_pairs(total_pairs) {}

  const TrainingSet& data;
  const NegativeSampler& sampler;
  int negatives;
  int window;
  double lr0;
  double total_pairs;
  LogisticTable logistic;

  /// Trains the pairs of users [first, last) and returns their summed loss.
  /// The learning rate decays with `pairs_before` (the pairs of earlier
  /// epochs) plus this call's pairs times `workers`: the calls that share an
  /// epoch advance together, as word2vec's threads do.
  template <int Dim>
  double train_users(const int32_t* first, const int32_t* last, RowMatrixXf& input,
                     RowMatrixXf& output, NegativeEngine& engine, int64_t pairs_before,
                     int workers) const {
    using Row = Eigen::Map<Eigen::Matrix<float, Dim, 1>>;
    const Eigen::Index dim = input.cols();
    const auto row = [dim](RowMatrixXf& table, int32_t item) {
      return Row(table.data() + static_cast<Eigen::Index>(item) * dim, dim);
    };
    const double min_lr = lr0 * 1e-4;
    Eigen::Matrix<float, Dim, 1> center_grad(dim);
    std::vector<int32_t> targets(static_cast<std::size_t>(negatives) + 1);
    std::vector<float> scores(targets.size());
    double loss = 0;
    int64_t pairs_done = 0;
    for (const int32_t* user = first; user != last; ++user) {
      const int32_t* items = data.seen.begin(*user);
      const int64_t n = data.seen.size(*user);
      for (int64_t p = 0; p < n; ++p) {
        Row center = row(input, items[p]);
        const int64_t last_context = std::min<int64_t>(p + window, n - 1);
        for (int64_t q = std::max<int64_t>(p - window, 0); q <= last_context; ++q) {
          if (q == p) continue;
          const double progress =
              static_cast<double>(pairs_before + pairs_done * workers) / total_pairs;
          const float lr = static_cast<float>(std::max(lr0 * (1.0 - progress), min_lr));
          ++pairs_done;
          // One logistic regression per target: label 1 for the context item,
          // 0 for each negative. The centre vector's step is applied after all
          // targets, as in word2vec, so every target sees the same centre, and
          // the targets' products are computed first: they do not wait on one
          // another (a negative drawn twice is scored once before its steps).
          targets[0] = items[q];
          int n_targets = 1;
          for (int k = 0; k < negatives; ++k) {
            const int32_t negative = sampler.draw(draw_bits(engine));
            targets[n_targets] = negative;
            n_targets += negative != targets[0];
          }
          for (int t = 0; t < n_targets; ++t) scores[t] = center.dot(row(output, targets[t]));
          center_grad.setZero();
          for (int t = 0; t < n_targets; ++t) {
            Row out = row(output, targets[t]);
            const float label = t == 0 ? 1.0f : 0.0f;
            loss += logistic.softplus(t == 0 ? -scores[t] : scores[t]);
            const float g = lr * (label - logistic.sigma(scores[t]));
            center_grad += g * out;
            out += g * center;
          }
          center += center_grad;
        }
      }
    }
    return loss;
  }
};

}  // namespace

Item2Vec::Item2Vec(const TeacherSettings& settings) : settings_(settings) {
  if (settings.dim < 1) throw InputError("item2vec: dim must be >= 1");
  if (settings.epochs < 0) throw InputError("item2vec: epochs must be >= 0");
  if (!(settings.lr > 0) || !std::isfinite(settings.lr)) {
    throw InputError("item2vec: lr must be a positive number");
  }
  // Each pair trains 1 + negatives targets; beyond 1000 a fit would take
  // hours for no gain word2vec ever reported.
  if (settings.negatives < 0 || settings.negatives > kMaxNegatives) {
    throw InputError("item2vec: negatives must be in [0, " + std::to_string(kMaxNegatives) + "]");
  }
  if (settings.window < 1) throw InputError("item2vec: window must be >= 1");
}

void Item2Vec::fit(const TrainingSet& data, const Knowledge* warm_start,
                   const EpochCallback& on_epoch) {
  if (data.seen.n_users() != data.n_users) {
    throw std::invalid_argument("item2vec: the training set's seen lists cover " +
                                std::to_string(data.seen.n_users()) + " users, not " +
                                std::to_string(data.n_users));
  }
  const int dim = settings_.dim;
  std::mt19937_64 rng(settings_.seed);

  if (warm_start != nullptr) {
    const std::string expected = "[" + std::to_string(data.n_items) + ", " + std::to_string(dim) +
                                 "] (n_items of the training set, dim of the settings)";
    // item_embeddings holds the input vectors normalised; training continues
    // from the raw ones.
    const auto state = [&](const char* name) -> const RowMatrixXf& {
      const auto entry = warm_start->teacher_state.find(name);
      if (entry == warm_start->teacher_state.end()) {
        throw InputError(std::string("item2vec warm start: teacher_state has no '") + name +
                         "' entry, expected " + expected);
      }
      if (entry->second.rows() != data.n_items || entry->second.cols() != dim) {
        throw InputError(std::string("item2vec warm start: teacher_state '") + name + "' is " +
                         shape(entry->second) + ", expected " + expected);
      }
      return entry->second;
    };
    input_ = state(kItem2VecInputState);
    output_ = state(kItem2VecContextState);
  } else {
    input_.resize(data.n_items, dim);
    const double half_width = 0.5 / dim;
    for (Eigen::Index i = 0; i < input_.size(); ++i) {
      input_.data()[i] = static_cast<float>((2 * uniform01(rng) - 1) * half_width);
    }
    output_ = RowMatrixXf::Zero(data.n_items, dim);
  }

  std::vector<int64_t> counts(static_cast<std::size_t>(data.n_items), 0);
  int64_t pairs_per_epoch = 0;
  const int window = settings_.window;
  for (int32_t user = 0; user < data.n_users; ++user) {
    for (const int32_t* item = data.seen.begin(user); item != data.seen.end(user); ++item) {
      if (*item < 0 || *item >= data.n_items) {
        throw InputError("item2vec: item id " + std::to_string(*item) + " outside [0, " +
                         std::to_string(data.n_items) + ")");
      }
      ++counts[*item];
    }
    const int64_t n = data.seen.size(user);
    for (int64_t p = 0; p < n; ++p) {
      pairs_per_epoch += std::min<int64_t>(p + window, n - 1) - std::max<int64_t>(p - window, 0);
    }
  }
  const NegativeSampler sampler(counts);

  const SkipGram pass(data, sampler, settings_,
                      static_cast<double>(pairs_per_epoch) * settings_.epochs);
  NegativeEngine negative_engine(rng());
  std::vector<int32_t> order(static_cast<std::size_t>(data.n_users));
  std::iota(order.begin(), order.end(), 0);
  const int workers = std::max(1, std::min(settings_.threads, data.n_users));
  for (int epoch = 1; epoch <= settings_.epochs; ++epoch) {
    // Users in a fresh order each epoch, so no user's items always come last
    // with the smallest steps.
    shuffle(order, rng);
    const int64_t pairs_before = (epoch - 1) * pairs_per_epoch;
    const auto train = [&](int worker, NegativeEngine& engine) {
      const int32_t* first = order.data() + order.size() * worker / workers;
      const int32_t* last = order.data() + order.size() * (worker + 1) / workers;
      return with_fixed_dim(dim, [&](auto fixed) {
        return pass.train_users<decltype(fixed)::value>(first, last, input_, output_, engine,
                                                        pairs_before, workers);
      });
    };
    double loss = 0;
    if (workers == 1) {
      loss = train(0, negative_engine);
    } else {
      // Hogwild: the workers update the shared vectors without locks, each
      // from its own engine, so the result depends on their timing.
      std::vector<double> losses(static_cast<std::size_t>(workers), 0.0);
      std::vector<std::thread> threads;
      for (int worker = 0; worker < workers; ++worker) {
        threads.emplace_back([&, worker, seed = rng()] {
          NegativeEngine engine(seed);
          losses[worker] = train(worker, engine);
        });
      }
      for (std::thread& thread : threads) thread.join();
      for (double part : losses) loss += part;
    }
    if (on_epoch) {
      on_epoch(epoch, settings_.epochs, pairs_per_epoch > 0 ? loss / pairs_per_epoch : 0);
    }
  }

  // Cosine scoring: SGNS shrinks popular items' input vectors, and their
  // lengths would otherwise rank rare items first.
  unit_ = input_;
  for (Eigen::Index item = 0; item < unit_.rows(); ++item) {
    // An item no user met in training kept its random start: as a unit
    // vector it would be a random direction with sizeable cosines, so it
    // scores zero instead.
    const float norm = unit_.row(item).norm();
    if (counts[item] == 0 || norm == 0) {
      unit_.row(item).setZero();
    } else {
      unit_.row(item) /= norm;
    }
  }
  users_ = RowMatrixXf::Zero(data.n_users, dim);
  for (int32_t user = 0; user < data.n_users; ++user) {
    const int64_t n = data.seen.size(user);
    if (n == 0) continue;
    for (const int32_t* item = data.seen.begin(user); item != data.seen.end(user); ++item) {
      users_.row(user) += unit_.row(*item);
    }
    users_.row(user) /= static_cast<float>(n);
  }
}

void Item2Vec::score(const std::vector<int32_t>& users, RowMatrixXf& out) const {
  dot_product_scores(users_, unit_, users, out);
}

void Item2Vec::export_state(Knowledge& knowledge) const {
  knowledge.user_embeddings = users_;
  knowledge.item_embeddings = unit_;
  knowledge.teacher_state[kItem2VecInputState] = input_;
  knowledge.teacher_state[kItem2VecContextState] = output_;
}

}  // namespace trd
