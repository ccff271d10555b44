#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "teachers/teacher.hpp"

namespace trd {

/// Neural Matrix Factorisation (He et al., "Neural Collaborative Filtering",
/// WWW 2017): a GMF branch (elementwise product of user and item embeddings)
/// and an MLP branch (its own user and item embeddings, concatenated, then
/// 2*dim -> dim -> dim/2 with ReLU) feed one linear layer that gives the logit.
///
/// Fitting minimises binary cross-entropy on every positive plus
/// `settings.negatives` uniform unseen items per positive, with Adam at
/// `settings.lr` in mini-batches of 1024; `settings.l2` adds
/// l2 * ||embedding rows of the batch||^2 / batch size to the loss. Reads dim
/// (>= 2), epochs, lr, negatives, l2, threads and seed; same seed and
/// threads = 1 give bit-identical results. `threads` is torch's thread count
/// during fit() and score() (OpenBLAS runs on one thread meanwhile; both are
/// restored afterwards). Scores are logits.
///
/// export_state() writes, per user (and per item), the concatenation
/// [GMF embedding, MLP embedding] ([n, 2*dim]), and the whole training state
/// as teacher_state: "neumf/<parameter>" for every parameter (embeddings as
/// [rows, dim], weights as [out, in], biases as [1, n]),
/// "neumf/adam/<parameter>.exp_avg" and ".exp_avg_sq" (Adam's moments, same
/// shapes) and "neumf/adam/step" ([1, 1]). fit() with that knowledge as warm
/// start restores all of it (and checks every name and shape) and continues
/// training where this one stopped.
///
/// LibTorch stays inside neumf.cpp, so including this header does not pull in
/// torch headers.
class NeuMf : public Teacher {
 public:
  /// Throws InputError if settings.dim < 2 (the MLP's last layer has dim / 2
  /// units) or another setting is out of range.
  explicit NeuMf(const TeacherSettings& settings);
  ~NeuMf() override;

  void fit(const TrainingSet& data, const Knowledge* warm_start,
           const EpochCallback& on_epoch) override;
  void score(const std::vector<int32_t>& users, RowMatrixXf& out) const override;
  void export_state(Knowledge& knowledge) const override;

 private:
  struct Net;  // the torch module and its Adam optimiser, defined in neumf.cpp

  TeacherSettings settings_;
  std::unique_ptr<Net> net_;  // null until fit()
};

}  // namespace trd
