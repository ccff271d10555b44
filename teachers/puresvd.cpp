#include "teachers/puresvd.hpp"

#include <Eigen/Dense>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "data/error.hpp"

namespace trd {
namespace {

// Halko et al. (2011) find that 5 to 10 extra columns make the randomized
// range almost as good as the optimal one; 10 costs little at our ranks.
constexpr int kOversampling = 10;

using SparseXf = Eigen::SparseMatrix<float, Eigen::RowMajor>;

// Box-Muller from engine bits rather than std::normal_distribution, whose
// algorithm differs between standard libraries: one seed, one result.
float gaussian(std::mt19937_64& rng) {
  constexpr double kTwoPi = 6.283185307179586;
  const double u1 = static_cast<double>((rng() >> 11) + 1) * 0x1.0p-53;  // (0, 1]: log is finite
  const double u2 = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return static_cast<float>(std::sqrt(-2 * std::log(u1)) * std::cos(kTwoPi * u2));
}

// Householder rather than Gram-Schmidt: it stays orthonormal when the columns
// are (nearly) dependent, which they are once X has rank below dim + oversampling.
Eigen::MatrixXf orthonormalize(const Eigen::MatrixXf& a) {
  Eigen::HouseholderQR<Eigen::MatrixXf> qr(a);
  return qr.householderQ() * Eigen::MatrixXf::Identity(a.rows(), a.cols());
}

// ||X - X V V^T||_F / ||X||_F for V the top `rank` right singular vectors of
// X restricted to the subspace y = X Q spans: ||X||^2 minus the top singular
// values of y squared, and ||X||_F^2 = nnz for a binary X. The subtraction
// cancels in float, so an exact fit reads about 1e-3: enough to watch the
// iteration converge, which is all the number is for.
double relative_residual(const Eigen::MatrixXf& y, int rank, double squared_norm) {
  if (squared_norm == 0) return 0;
  const Eigen::VectorXf sigma = Eigen::BDCSVD<Eigen::MatrixXf>(y).singularValues();
  double kept = 0;
  for (int i = 0; i < rank; ++i) kept += static_cast<double>(sigma[i]) * sigma[i];
  return std::sqrt(std::max(0.0, squared_norm - kept) / squared_norm);
}

std::string shape(const RowMatrixXf& m) {
  return "[" + std::to_string(m.rows()) + ", " + std::to_string(m.cols()) + "]";
}

}  // namespace

PureSvd::PureSvd(const TeacherSettings& settings) : settings_(settings) {
  if (settings.dim < 1) throw InputError("puresvd: dim must be >= 1");
  if (settings.epochs < 0) throw InputError("puresvd: epochs (power iterations) must be >= 0");
}

void PureSvd::fit(const TrainingSet& data, const Knowledge* warm_start,
                  const EpochCallback& on_epoch) {
  const int rank = settings_.dim;
  if (rank > std::min(data.n_users, data.n_items)) {
    throw InputError("puresvd: dim " + std::to_string(rank) + " exceeds min(n_users, n_items) = " +
                     std::to_string(std::min(data.n_users, data.n_items)));
  }
  if (warm_start != nullptr && (warm_start->item_embeddings.rows() != data.n_items ||
                                warm_start->item_embeddings.cols() != rank)) {
    throw InputError("puresvd warm start: item_embeddings is " +
                     shape(warm_start->item_embeddings) + ", expected [" +
                     std::to_string(data.n_items) + ", " + std::to_string(rank) +
                     "] (n_items of the training set, dim of the settings)");
  }

  std::vector<Eigen::Triplet<float>> entries;
  entries.reserve(data.interactions.size());
  for (std::size_t row = 0; row < data.interactions.size(); ++row) {
    const int32_t user = data.interactions.user[row];
    const int32_t item = data.interactions.item[row];
    if (user < 0 || user >= data.n_users || item < 0 || item >= data.n_items) {
      throw InputError("puresvd: interaction " + std::to_string(row) + " (user " +
                       std::to_string(user) + ", item " + std::to_string(item) +
                       ") is outside [0, " + std::to_string(data.n_users) + ") x [0, " +
                       std::to_string(data.n_items) + ")");
    }
    entries.emplace_back(user, item, 1.0f);
  }
  SparseXf x(data.n_users, data.n_items);
  // Binary X: a repeated interaction is still one.
  x.setFromTriplets(entries.begin(), entries.end(), [](float a, float) { return a; });
  const SparseXf xt = x.transpose();
  const double squared_norm = static_cast<double>(x.nonZeros());

  const int width = std::min(rank + kOversampling, std::min(data.n_users, data.n_items));
  std::mt19937_64 rng(settings_.seed);
  Eigen::MatrixXf start(data.n_items, width);
  const int first_random = warm_start != nullptr ? rank : 0;
  if (warm_start != nullptr) start.leftCols(rank) = warm_start->item_embeddings;
  for (Eigen::Index col = first_random; col < width; ++col) {
    for (Eigen::Index row = 0; row < start.rows(); ++row) start(row, col) = gaussian(rng);
  }

  // Subspace iteration on the item side: q is an orthonormal basis that
  // converges to the top right singular vectors, y = X q.
  Eigen::MatrixXf q = orthonormalize(start);
  Eigen::MatrixXf y = x * q;
  for (int iteration = 1; iteration <= settings_.epochs; ++iteration) {
    const Eigen::MatrixXf user_basis = orthonormalize(y);
    q = orthonormalize(xt * user_basis);
    y = x * q;
    if (on_epoch) {
      on_epoch(iteration, settings_.epochs, relative_residual(y, rank, squared_norm));
    }
  }
  // X q q^T = U S W^T q^T, so the right singular vectors of X within q's span
  // are q W.
  const Eigen::BDCSVD<Eigen::MatrixXf> svd(y, Eigen::ComputeThinV);
  Eigen::MatrixXf v = q * svd.matrixV().leftCols(rank);

  if (warm_start != nullptr) {
    // Orthogonal Procrustes: the rotation R minimising ||V R - V_old||_F. V R
    // spans the same subspace, so X V R (V R)^T, every score, is unchanged.
    const Eigen::MatrixXf old = warm_start->item_embeddings;
    const Eigen::JacobiSVD<Eigen::MatrixXf> align(v.transpose() * old,
                                                  Eigen::ComputeFullU | Eigen::ComputeFullV);
    v = v * (align.matrixU() * align.matrixV().transpose());
  } else {
    // Singular vectors are defined up to sign; fixing it (largest entry
    // positive) makes fits with different seeds comparable.
    for (Eigen::Index col = 0; col < v.cols(); ++col) {
      Eigen::Index top = 0;
      v.col(col).cwiseAbs().maxCoeff(&top);
      if (v(top, col) < 0) v.col(col) = -v.col(col);
    }
  }
  items_ = v;
  users_ = x * v;
}

void PureSvd::score(const std::vector<int32_t>& users, RowMatrixXf& out) const {
  dot_product_scores(users_, items_, users, out);
}

void PureSvd::export_state(Knowledge& knowledge) const {
  knowledge.user_embeddings = users_;
  knowledge.item_embeddings = items_;
}

}  // namespace trd
