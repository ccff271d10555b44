#pragma once

#include <Eigen/Dense>
#include <cstdint>

#include "data/interactions.hpp"

namespace trd {

/// Shape of a synthetic implicit-feedback log; the defaults give an
/// ML-100K-like one (100,000 interactions, 943 users, about 1,680 items).
struct SyntheticSettings {
  int64_t n_interactions = 100000;  ///< exact number of rows, in [1, 2^31)
  int32_t n_users = 0;              ///< 0: about n_interactions / 106, at least 10
  /// 0: about 5.3 * sqrt(n_interactions), at least 20, and at least four
  /// times the mean user's count. Items that no user drew are dropped, so the
  /// result can hold fewer (with the default skew, rarely any).
  int32_t n_items = 0;
  int dim = 16;                  ///< planted latent factor dimension
  double popularity_skew = 1.0;  ///< Zipf exponent of the item popularity bias (0 = none)
  uint64_t seed = 0;
};

/// The hidden truth behind a synthetic log, indexed by its dense ids: user u
/// picks items from softmax over i of
/// user_factors.row(u).dot(item_factors.row(i)) + item_bias(i).
struct PlantedFactors {
  Eigen::MatrixXf user_factors;  ///< [n_users, dim]
  Eigen::MatrixXf item_factors;  ///< [n_items, dim]
  Eigen::VectorXf item_bias;     ///< [n_items]: -popularity_skew * log(popularity rank)
};

/// A seeded synthetic log: every user draws a heavy-tailed number of items
/// (at least 8, so each stage of a 60/10/10/20 per-user split gets one; at most
/// half the catalogue) without replacement from the softmax of planted
/// affinity plus popularity bias, one after another (the law of Gumbel-top-k),
/// and takes them in that order, at increasing times within the user's own
/// active period of a three-year span. Ratings 1..5 follow the affinity.
/// Rows come user by user in time order; raw ids are the integers 1..n of the
/// planted users and items. The same settings give bit-identical output from
/// the same build. When `planted` is given, it receives the factors behind the
/// log. Work grows with n_users * n_items (n^1.5 with derived sizes): about
/// 0.4 s for a million interactions on one core. Throws InputError on settings
/// no log can satisfy.
Interactions generate_synthetic(const SyntheticSettings& settings,
                                PlantedFactors* planted = nullptr);

}  // namespace trd
