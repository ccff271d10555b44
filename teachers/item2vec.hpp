#pragma once

#include <cstdint>
#include <vector>

#include "data/knowledge.hpp"
#include "teachers/teacher.hpp"

namespace trd {

/// Name of the teacher_state entry that carries the raw input vectors,
/// [n_items, dim]; a warm start needs it to continue training (item_embeddings
/// holds them normalised, which cannot be undone).
inline constexpr const char* kItem2VecInputState = "item2vec_input";

/// Name of the teacher_state entry that carries the output (context) vectors,
/// [n_items, dim]; a warm start needs it to continue training.
inline constexpr const char* kItem2VecContextState = "item2vec_context";

/// Item2Vec (Barkan & Koenigstein, 2016): skip-gram with negative sampling
/// over each user's items in time order (`seen`). An item's embedding is its
/// input vector scaled to unit length (a zero vector stays zero); a user's is
/// the mean of their items' unit vectors (zero for a user without items), so
/// score(u, i) = user_emb(u) . item_emb(i) is the mean cosine between i and
/// the user's items.
///
/// Cosine rather than the raw dot product because SGNS with unigram^0.75
/// negatives shrinks the input vectors of popular items (they are drawn as
/// negatives most often): on ML-100K Star Wars' norm is 1.48 against a median
/// of 2.56, and a dot product ranks rare items first. With the dot product and
/// window 5, NDCG@10 on ML-100K was 0.016 (MostPop 0.119); with cosine and
/// window 50 it is 0.118 at the rl stage (BPRMF 0.125).
///
/// Reads dim, epochs, lr (decayed linearly to lr * 1e-4 over the whole fit, as
/// in word2vec), negatives (at most 1000, drawn from unigram^0.75 of the
/// training set; a draw equal to the context item is skipped), window
/// (context items on each side of the centre in the user's time-ordered
/// list, fixed width) and seed. The paper takes a user's whole set as the
/// context; MovieLens users rate in bursts whose order carries little, so a
/// wide window (the CLI's default is 50) works far better than word2vec's 5.
/// With threads = 1 one seed gives identical embeddings everywhere. With more,
/// each epoch's users are split between that many workers that update the
/// shared vectors without locks (Hogwild, as word2vec's threads do): faster,
/// but the result depends on their timing. l2 is not used (word2vec has none).
class Item2Vec : public Teacher {
 public:
  /// Throws InputError when a setting is out of range.
  explicit Item2Vec(const TeacherSettings& settings);

  /// Trains `settings.epochs` epochs and reports after each one (counted
  /// from 1) the mean SGNS loss per (centre, context) pair, its negatives'
  /// terms included: 6 log 2 at the start with 5 negatives. With `warm_start`
  /// it starts from its kItem2VecInputState and kItem2VecContextState instead
  /// of the word2vec initialisation (its item_embeddings, normalised, are not
  /// read); both must be [data.n_items, dim] (else InputError).
  void fit(const TrainingSet& data, const Knowledge* warm_start,
           const EpochCallback& on_epoch) override;
  void score(const std::vector<int32_t>& users, RowMatrixXf& out) const override;
  /// Writes user_embeddings, item_embeddings (the unit vectors),
  /// kItem2VecInputState and kItem2VecContextState.
  void export_state(Knowledge& knowledge) const override;

 private:
  TeacherSettings settings_;
  RowMatrixXf input_;   ///< [n_items, dim] raw input vectors
  RowMatrixXf output_;  ///< [n_items, dim] context vectors
  RowMatrixXf unit_;    ///< [n_items, dim] input_ with rows scaled to unit length
  RowMatrixXf users_;   ///< [n_users, dim] mean of each user's items' unit vectors
};

}  // namespace trd
