#pragma once

#include <cstdint>
#include <vector>

#include "data/knowledge.hpp"
#include "teachers/teacher.hpp"

namespace trd {

/// PureSVD (Cremonesi et al., 2010): rank-`dim` truncated SVD X ~ U S V^T of
/// the binary user-item matrix (a repeated interaction counts once). Item
/// embeddings are V [n_items, dim], user embeddings X V, so score(u, i) =
/// x_u V V^T(:, i), the projection of the user's row onto the top subspace.
///
/// The SVD is a randomized subspace iteration (Halko, Martinsson & Tropp,
/// 2011) on a sparse X: `epochs` is the number of power iterations (each one
/// two sparse products X^T (X Q) plus two QRs; 0 is the plain randomized
/// range finder, 2 to 5 are enough when the spectrum decays, more sharpen the
/// trailing singular vectors), with 10 oversampling columns. Reads dim, epochs
/// and seed; ignores the rest. A fresh fit makes each column's largest entry
/// positive, so fits from different seeds agree.
class PureSvd : public Teacher {
 public:
  /// Throws InputError when a setting is out of range.
  explicit PureSvd(const TeacherSettings& settings);

  /// Throws InputError when dim > min(n_users, n_items). Reports, after each
  /// power iteration, the relative residual ||X - X V V^T||_F / ||X||_F of the
  /// current rank-dim estimate. With `warm_start` the iteration starts from
  /// its item_embeddings (must be [data.n_items, dim], else InputError) and
  /// the result is rotated onto them (orthogonal Procrustes): the columns are
  /// then a rotation of the singular vectors, every score is unchanged, and
  /// the embedding space stays the one a student learned on.
  void fit(const TrainingSet& data, const Knowledge* warm_start,
           const EpochCallback& on_epoch) override;
  void score(const std::vector<int32_t>& users, RowMatrixXf& out) const override;
  /// Writes user_embeddings and item_embeddings; no teacher_state.
  void export_state(Knowledge& knowledge) const override;

 private:
  TeacherSettings settings_;
  RowMatrixXf items_;  ///< [n_items, dim] orthonormal columns
  RowMatrixXf users_;  ///< [n_users, dim] X V
};

}  // namespace trd
