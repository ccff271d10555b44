#pragma once

// What a student reads about each window slot: one named feature set,
// computed by the env from label-free knowledge (the teacher's list, the
// user's history before the rewarded split, every user's past), so a reader
// sees in one place what an agent sees and every agent (C++ or Python) gets
// the same inputs.

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/knowledge.hpp"
#include "data/user_items.hpp"

namespace trd {

/// How alike two items are, from whichever knowledge a teacher handed over:
/// the dot product of their embeddings when there are embeddings, else the
/// weight of one in the other's neighbour list (0 when neither lists the
/// other). Views the matrices, which must outlive it.
class ItemSimilarity {
 public:
  ItemSimilarity(const RowMatrixXf& item_embeddings, const RowMatrixXi& neighbour_items,
                 const RowMatrixXf& neighbour_weights);
  /// From a knowledge file's embeddings or neighbours.
  explicit ItemSimilarity(const Knowledge& knowledge);
  /// False when there is neither kind of knowledge: every similarity is 0.
  bool available() const { return n_items() > 0; }
  /// Items it knows; ids from n_items() on (pad_item) are no item.
  int32_t n_items() const {
    return static_cast<int32_t>(embeddings_->size() > 0 ? embeddings_->rows()
                                                        : neighbour_items_->rows());
  }
  /// Requires real items (not pad).
  float operator()(int32_t a, int32_t b) const;

 private:
  float neighbour_weight(int32_t from, int32_t to) const;

  const RowMatrixXf* embeddings_;
  const RowMatrixXi* neighbour_items_;
  const RowMatrixXf* neighbour_weights_;
};

/// Within how many later positions of a user's history an item counts as
/// following another. On ML-100K valid (BPRMF, seed 0) a logistic fit of
/// the transition features gave NDCG@5 0.1629 with 3, 0.1650 with 10 and
/// 0.1710 with 30.
constexpr int kTransitionSpan = 30;

/// How often item b followed item a in the users' histories (b within
/// `span` positions after a), from every user's past before the rewarded
/// split: label-free, and what a rule over the user's own history cannot see.
class ItemTransitions {
 public:
  ItemTransitions() = default;
  /// `past`: each user's items, oldest first.
  ItemTransitions(const UserItems& past, int32_t n_items, int span = kTransitionSpan);

  int32_t n_items() const { return static_cast<int32_t>(counts_.rows()); }
  /// Times `to` followed `from`.
  float count(int32_t from, int32_t to) const { return counts_.coeff(from, to); }
  /// Times any item followed `from`.
  float total(int32_t from) const { return totals_[static_cast<std::size_t>(from)]; }

 private:
  Eigen::SparseMatrix<float, Eigen::RowMajor> counts_;
  std::vector<float> totals_;
};

/// What one history item contributes to a slot's history groups: the
/// lookups behind them, apart from the sums, so an env can keep them.
struct PairTerms {
  float following = 0;   ///< times the slot item followed the history item
  float share = 0;       ///< following / (1 + times any item followed the history item)
  float preceding = 0;   ///< times the history item followed the slot item
  float similarity = 0;  ///< ItemSimilarity of the two
};

/// The feature groups a set can hold. Scores and counts are standardised
/// within each observation's valid slots, so every teacher and dataset looks
/// alike to a network; invalid slots read 0 everywhere.
enum class SlotFeature {
  kTeacherScore,        ///< the teacher's score (standardised)
  kTeacherRank,         ///< 1 / log2(list rank + 2)
  kHistorySimilarity,   ///< mean similarity to the H history items (history_rerank's input)
  kRecentSimilarity,    ///< H columns: similarity to each history item, most recent first
  kPopularity,          ///< log(1 + users who met the item before the split)
  kTransitions,         ///< log(1 + times the item followed a history item)
  kTransitionShare,     ///< sum over history items h of count(h -> item) / (1 + total(h))
  kReverseTransitions,  ///< log(1 + times a history item followed the item)
  kPosition,            ///< (t - 1) / K, the same in every slot
};

/// "teacher_score", "teacher_rank", ... in SlotFeature order.
std::string slot_feature_name(SlotFeature feature);
/// Comma-separated names, "default" (every group) or "none"; InputError
/// naming `flag` for an unknown or repeated name.
std::vector<SlotFeature> parse_slot_features(const std::string& names, const std::string& flag);
std::string slot_features_text(const std::vector<SlotFeature>& features);
/// Columns per slot of a set with history length H.
int slot_features_width(const std::vector<SlotFeature>& features, int history_length);
/// Every group: what trd's students read by default.
std::vector<SlotFeature> default_slot_features();

/// A feature set bound to one env's knowledge: fills the [n_actions, width()]
/// block of one observation row.
class SlotFeatures {
 public:
  /// Views its arguments, which must outlive it. When the set holds a
  /// transition group and `transitions` is not indexed (hand-built env
  /// data), it indexes `past` itself.
  SlotFeatures(std::vector<SlotFeature> features, int history_length, int n_actions,
               int episode_length, const ItemSimilarity& similarity,
               const ItemTransitions& transitions, const UserItems& past, int32_t n_items);

  /// Columns per slot.
  int width() const { return width_; }
  /// One name per column ("recent_similarity_1" is the most recent item).
  std::vector<std::string> column_names() const;
  const std::vector<SlotFeature>& features() const { return features_; }
  /// Whether any column needs pair_terms (transitions or similarities).
  bool reads_pairs() const { return reads_transitions_ || reads_similarity_; }

  // An observation's block is built in parts so the env can keep the raw
  // values of the slots that did not change and only compute the slot that
  // entered (features are standardised within the window, which every step
  // changes), and can keep each user's pair lookups across episodes.

  /// The real items of an observation's `history` [H] into `recent` [H],
  /// most recent first; returns how many there are.
  int recent_items(const int32_t* history, int32_t* recent) const;
  /// The lookups of one (history item, slot item) pair, only those the set
  /// reads (the rest stay 0).
  PairTerms pair_terms(int32_t history_item, int32_t item) const;
  /// Raw (unstandardised) values of one valid slot's columns into `out`
  /// [width()], from its pair terms with the `n_recent` history items
  /// (`terms`, most recent first); the position column is left for finish().
  void slot_values(const PairTerms* terms, int n_recent, int32_t item, float score, int32_t rank,
                   float* out) const;
  /// `out` [n_actions, width()]: the raw block standardised within the valid
  /// slots of `mask`, the position of step `t` set, invalid slots 0. Not
  /// for two threads at once (it keeps its column sums in the object).
  void finish(int t, const int8_t* mask, const float* raw, float* out) const;
  /// All of it for every slot of one observation, from scratch: `history`
  /// [H] (pad_item where empty), `window`, `mask`, `score`, `rank`
  /// [n_actions]; `raw` receives the raw block, `out` the finished one
  /// (row-major [n_actions, width()]).
  void fill(int t, const int32_t* history, const int32_t* window, const int8_t* mask,
            const float* score, const int32_t* rank, float* raw, float* out) const;

 private:
  std::vector<SlotFeature> features_;
  int history_length_, n_actions_, episode_length_, width_ = 0;
  ItemSimilarity similarity_;
  std::shared_ptr<const ItemTransitions> own_transitions_;
  const ItemTransitions* transitions_;
  std::vector<float> log_popularity_;  // [n_items]
  int32_t pad_item_;
  bool reads_transitions_ = false;
  bool reads_reverse_ = false;
  bool reads_similarity_ = false;
  // Per column: standardised within the window, or kept (rank, position).
  std::vector<int8_t> standardised_;
  int position_column_ = -1;
  mutable std::vector<double> column_sum_, column_mean_, column_scale_;
};

}  // namespace trd
