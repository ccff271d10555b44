#pragma once

// The recommendation MDP of DESIGN.md ("The environment"), Gymnasium-style.
// An episode is one user; step t (1-based) fills top position t with an item
// picked from a window over the head of the teacher's list. RecEnv runs one
// user at a time; VecRecEnv runs B users in lockstep over contiguous arrays
// and is the fast path. No LibTorch here: agents turn ids into tensors.

#include <Eigen/Core>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/knowledge.hpp"
#include "data/splits.hpp"
#include "data/user_items.hpp"
#include "env/features.hpp"

namespace trd {

enum class RewardKind {
  kDcg,     ///< 1 / log2(t + 1) for a hit at position t, else 0
  kBinary,  ///< 1 for a hit, else 0
  kGraded,  ///< rating / log2(t + 1) for a hit (DCG with graded relevance)
};
/// "dcg" | "binary" | "graded"; InputError otherwise.
RewardKind parse_reward_kind(const std::string& name);

/// What a step feeds back into the observation (DESIGN.md, "Transition").
enum class Feedback {
  kHits,  ///< a hit joins the history (the oldest entry drops out): the next pick depends on labels
  kNone,  ///< the history stays the last H positives before the rewarded split: label-free
};
/// "hits" | "none"; InputError naming `flag` otherwise.
Feedback parse_feedback(const std::string& name, const std::string& flag);
std::string feedback_name(Feedback feedback);

/// The MDP's shape; the defaults are DESIGN.md's.
struct EnvSettings {
  int n_actions = 20;       ///< window slots per step
  int history_length = 5;   ///< H: last hit items in the observation
  int episode_length = 10;  ///< K: top positions an episode fills
  RewardKind reward = RewardKind::kDcg;
  /// Every list that is scored or shown to a user is built with kNone.
  Feedback feedback = Feedback::kHits;
  /// What each observation reports per slot (Observation::features).
  std::vector<SlotFeature> features = default_slot_features();
};

/// InputError naming the flags unless every count in `settings` is >= 1;
/// every env constructor checks it, and the commands call it before any work.
void check_env_settings(const EnvSettings& settings);

/// Everything the env reads, per user: the teacher's list, the items met
/// before the rewarded split, and the rewarded items.
struct EnvData {
  int32_t n_users = 0;
  int32_t n_items = 0;
  RowMatrixXi lists;                   ///< [n_users, L] teacher lists, best first, -1 padded
  RowMatrixXf scores;                  ///< [n_users, L] teacher scores
  UserItems past;                      ///< items met before the rewarded split, oldest first
  UserItems rewarded;                  ///< rewarded items, ascending per user, no repeats
  std::vector<float> rewarded_rating;  ///< rating of each entry of `rewarded`, same order
  RowMatrixXf user_embeddings;         ///< [n_users, dim] for the feature view (may be empty)
  RowMatrixXf item_embeddings;         ///< [n_items, dim] (may be empty)
  RowMatrixXi neighbour_items;         ///< [n_items, k] the teacher's similar items (may be empty)
  RowMatrixXf neighbour_weights;       ///< [n_items, k] their similarities
  ItemTransitions transitions;         ///< indexed over `past` (for the transition features)
};

/// Env data for a teacher's knowledge on `dataset`, rewarding the items of
/// split `rewarded` (rl when training, test when evaluating). InputError when
/// the knowledge does not belong to the dataset.
EnvData make_env_data(const Dataset& dataset, const Knowledge& knowledge, Split rewarded);

/// Env data for serving `stage`'s lists: the history is everything before
/// the stage's split, and nothing is rewarded, so no held-out item is even
/// loaded (what trd recommend plays).
EnvData make_serving_data(const Dataset& dataset, const Knowledge& knowledge, Split stage);

/// Sizes an agent needs to build its networks, from the env alone.
struct Spaces {
  int n_actions;       ///< action = slot index in [0, n_actions)
  int history_length;  ///< H
  int episode_length;  ///< K
  int32_t n_users;     ///< user ids in [0, n_users)
  int32_t n_items;     ///< item ids in [0, n_items); pad_item = n_items marks empty entries
  int32_t pad_item;    ///< id in padded history entries and invalid window slots
  int embedding_dim;   ///< columns of the feature view (0 without embeddings)
  int n_features;      ///< columns of each slot's features (SlotFeatures::width)
};

/// One observation. VecRecEnv keeps the same fields for B users as rows of
/// contiguous arrays (ObservationBatch).
struct Observation {
  int32_t user = 0;
  int t = 1;                          ///< the position the next action fills (1-based)
  std::vector<int32_t> history;       ///< [H] last hits, oldest first, left-padded with pad_item
  std::vector<int32_t> window;        ///< [n_actions] candidates, pad_item in invalid slots
  std::vector<int8_t> mask;           ///< [n_actions] 1 where a slot holds a candidate
  std::vector<float> teacher_score;   ///< [n_actions] 0 in invalid slots
  std::vector<int32_t> teacher_rank;  ///< [n_actions] 0-based list rank, -1 in invalid slots
  std::vector<float> features;        ///< [n_actions, n_features] row-major, 0 in invalid slots
};

/// What reset() reports besides the observation (Gymnasium's info).
struct ResetInfo {
  int64_t list_length = 0;     ///< items in the user's teacher list
  int64_t rewarded_items = 0;  ///< rewarded items the user holds: what a perfect policy could hit
};

struct ResetResult {
  Observation observation;
  ResetInfo info;
};

/// What step() reports besides the observation.
struct StepInfo {
  int32_t item = -1;  ///< the item placed at position t
  bool hit = false;   ///< whether it is a rewarded item
};

struct StepResult {
  Observation observation;
  double reward = 0;
  bool terminated = false;  ///< all K positions are filled: no bootstrap after this
  bool truncated = false;   ///< no valid slot left before that (the teacher list ran out)
  StepInfo info;
};

/// Embeddings behind ids, without copies: Eigen maps over the env data.
class FeatureView {
 public:
  explicit FeatureView(const EnvData& data) : data_(&data) {}
  int dim() const { return static_cast<int>(data_->item_embeddings.cols()); }
  /// Row of the user embeddings; InputError when dim() is 0 or `user` is
  /// outside [0, n_users).
  Eigen::Map<const Eigen::RowVectorXf> user(int32_t user) const;
  /// Row of the item embeddings; InputError when dim() is 0 or `item` is not
  /// a real item (the pad item included).
  Eigen::Map<const Eigen::RowVectorXf> item(int32_t item) const;
  /// How alike two real items are (see ItemSimilarity): embeddings, or the
  /// teacher's neighbour lists for teachers without embeddings.
  ItemSimilarity similarity() const {
    return {data_->item_embeddings, data_->neighbour_items, data_->neighbour_weights};
  }

 private:
  const EnvData* data_;
};

/// Which of an ObservationBatch's arrays it holds besides t, mask, features
/// and active. The env's batches hold all of them; a holder whose reader
/// skips some (the replay of a learner without embeddings) leaves those
/// empty, and is smaller and quicker to copy for it.
struct ObservationArrays {
  bool ids = true;      ///< user, history and window
  bool teacher = true;  ///< teacher_score and teacher_rank
};

/// B observations as rows of contiguous arrays (row-major [B, ...]).
struct ObservationBatch {
  int batch = 0;
  int history_length = 0;
  int n_actions = 0;
  int n_features = 0;
  /// The arrays resize() and grow() size; the others stay empty.
  ObservationArrays arrays;
  std::vector<int32_t> user;          ///< [B] (held with arrays.ids)
  std::vector<int32_t> t;             ///< [B] position the next action fills
  std::vector<int32_t> history;       ///< [B, H] (held with arrays.ids)
  std::vector<int32_t> window;        ///< [B, n_actions] (held with arrays.ids)
  std::vector<int8_t> mask;           ///< [B, n_actions]
  std::vector<float> teacher_score;   ///< [B, n_actions] (held with arrays.teacher)
  std::vector<int32_t> teacher_rank;  ///< [B, n_actions] (held with arrays.teacher)
  std::vector<float> features;        ///< [B, n_actions, n_features]
  std::vector<int8_t> active;         ///< [B] 0 once a sequential sub-env has no user left

  /// B rows with every history entry and window slot (those it holds)
  /// empty: pad_item.
  void resize(int batch, int history_length, int n_actions, int32_t pad_item, int n_features);
  /// Grows to `rows` rows (>= batch) of the same shape, keeping the rows it
  /// has; the new ones are empty as resize() leaves them.
  void grow(int rows, int32_t pad_item);
  /// Reserves room for `rows` rows without touching it, so that grow() up
  /// to that many rows never moves them; the kernel is asked to back the
  /// arrays of history and slots with huge pages.
  void reserve(int rows);
  /// Row `row` as a single Observation (a copy, for tests and RecEnv); the
  /// arrays this batch does not hold are left empty (and `user` 0).
  Observation row(int row) const;
  /// Copies row `from` of `source` into row `to`: each array this batch
  /// holds, which `source` must hold too.
  void copy_row(const ObservationBatch& source, int from, int to);
  /// The same, leaving row `to`'s features as they were.
  void copy_row_except_features(const ObservationBatch& source, int from, int to);
  /// Asks the cache for the start of each of row `row`'s arrays, ahead of a
  /// copy_row() from it.
  void prefetch_row(int row) const;
  /// Copies row `from` of `source` into row `to` of this batch of one slot
  /// per row, keeping of its window only slot `slot` (the arrays as
  /// copy_row()).
  void copy_slot(const ObservationBatch& source, int from, int slot, int to);
};

/// The episode mechanics, shared by RecEnv and VecRecEnv so they cannot
/// disagree: advances rows of an ObservationBatch in place.
class EpisodeRows {
 public:
  /// With `cache_users`, each user's pair lookups (SlotFeatures::pair_terms
  /// of its first n_actions + episode_length list items with every item
  /// that can enter its history) are kept from the second of its episodes
  /// whose features are read, for envs that play the same users many times;
  /// the observations are the same either way.
  EpisodeRows(const EnvData& data, const EnvSettings& settings, int batch,
              bool cache_users = false);

  /// Every row's observation. A row's slot features are computed here, on
  /// the first read after start() or advance() changed its row, so a caller
  /// that never reads them does not pay for them.
  const ObservationBatch& observations();
  /// The rows with `features` possibly out of date: every other field is
  /// current.
  const ObservationBatch& mechanics() const { return obs_; }
  const SlotFeatures& features() const { return features_; }
  /// Starts `user`'s episode in row `row`.
  void start(int row, int32_t user);
  /// Leaves row `row` idle: inactive, with an empty window.
  void idle(int row);
  /// Computes row `row`'s features if they are out of date.
  void update_features(int row) {
    if (features_stale_[row]) compute_features(row);
  }
  /// Whether row `row`'s features have been read since its episode started.
  bool features_read(int row) const { return features_read_[row] != 0; }
  /// InputError unless `action` is a valid, unmasked slot of row `row`.
  void check_action(int row, int action) const;
  /// Plays `action` in row `row`; InputError for an invalid or masked slot.
  /// Returns the reward and sets the flags and info.
  double advance(int row, int action, bool& terminated, bool& truncated, StepInfo& info);

 private:
  /// Where a user's kept pair terms are: `terms_[offset + rank * pool_size
  /// + p]` pairs its list item at `rank` with `pool_items_[pool + p]`.
  struct UserTerms {
    int64_t offset = -1;  // -1: not kept (not met yet, or the cache is full)
    int64_t pool = 0;
    int32_t pool_size = 0;
    bool read = false;  // the features of an episode of the user have been read before
  };

  bool is_rewarded(int32_t user, int32_t item, float* rating) const;
  void keep_user_terms(int32_t user);
  int32_t pool_index(int32_t user, int32_t item) const;
  /// Raw values of valid slot `slot` of row `row` into `out`.
  void slot_raw_values(int row, int slot, float* out);
  /// A new history for row `row`: every slot's raw values are out of date.
  void history_changed(int row);
  void look_up_kept_terms(int row);
  void compute_features(int row);

  const EnvData* data_;
  EnvSettings settings_;
  SlotFeatures features_;
  ObservationBatch obs_;
  // Raw (unstandardised) slot values are kept by list rank, which a slot
  // keeps while the window closes up around it, so a step moves none of
  // them; `raw_version_` says for which history each was computed.
  int ranks_per_row_;                      // n_actions + K: the list ranks an episode can show
  std::vector<float> raw_by_rank_;         // [B, ranks_per_row_, width]
  std::vector<uint64_t> raw_version_;      // [B, ranks_per_row_]; 0: never computed
  std::vector<uint64_t> history_version_;  // [B] a number no earlier history of any row had
  uint64_t last_version_ = 0;
  std::vector<int8_t> features_stale_;  // [B] features not computed since the row changed
  std::vector<int8_t> features_read_;   // [B] features computed in the row's episode
  bool any_stale_ = false;
  std::vector<float> window_raw_;  // [n_actions, width] scratch: one row's raw values by slot
  std::vector<int64_t> next_;      // [B] next unused index into each row's teacher list
  std::vector<int32_t> valid_slots_;  // [B] valid slots, a prefix of the window
  bool cache_users_;
  bool cache_full_ = false;            // a user's terms did not fit: no more are kept
  std::vector<UserTerms> user_terms_;  // [n_users] when caching
  std::vector<int32_t> pool_items_;    // each kept user's history candidates
  std::vector<PairTerms> terms_;       // each kept user's [list items, pool] block
  std::vector<int32_t> history_pool_;  // [B, H] pool index of each history entry, -1 for pad
  // Whether a row's user has its terms kept, looked up when the row's
  // features are first read in an episode.
  enum RowTerms : int8_t { kNotLookedUp, kKept, kNotKept };
  std::vector<RowTerms> row_kept_;     // [B]
  std::vector<int32_t> recent_;        // [H] scratch: history items, most recent first
  std::vector<PairTerms> slot_terms_;  // [H] scratch: one slot's terms, most recent first
};

/// One user at a time.
class RecEnv {
 public:
  /// `data` must outlive the env. InputError on settings out of range.
  RecEnv(const EnvData& data, const EnvSettings& settings);

  Spaces spaces() const;
  FeatureView features() const { return FeatureView(*data_); }

  /// Starts user `user`'s episode. The MDP has no randomness of its own, so
  /// the same user always gives the same first observation; `seed` is taken
  /// for Gymnasium's signature. InputError for a user outside [0, n_users).
  ResetResult reset(uint64_t seed, int32_t user);
  /// Places the item in slot `action` at position t. InputError for a slot
  /// outside [0, n_actions), one the mask marks invalid, or a step after the
  /// episode ended (call reset).
  StepResult step(int action);
  /// The current observation as row 0 of a batch of one: what reset() and
  /// step() returned, in place (the Python package's views read it). Not
  /// for two threads at once: it computes features not yet read.
  const ObservationBatch& observations() const { return rows_.observations(); }
  /// True before the first reset and once the episode has ended.
  bool done() const { return done_; }

 private:
  const EnvData* data_;
  EnvSettings settings_;
  mutable EpisodeRows rows_;  // a const read computes the features it has not yet
  bool done_ = true;
};

/// Users with a rewarded item and a teacher list: whom a VecRecEnv plays by
/// default.
std::vector<int32_t> playable_users(const EnvData& data);

/// How a VecRecEnv picks the user of each new episode.
enum class UserOrder {
  kSequential,  ///< sub-env i plays users[i], users[i + B], ...: each user once (evaluation)
  kRandom,      ///< uniform draws from users with the sub-env's own RNG (training)
};

struct VecSettings {
  int batch = 64;              ///< B sub-envs
  std::vector<int32_t> users;  ///< empty: every user with a rewarded item and a teacher list
  UserOrder order = UserOrder::kRandom;
  /// The same users play again after reset() (an env kept between
  /// re-rankings): keep their pair terms from the second episode whose
  /// features are read, as a random order always does.
  bool replays_users = false;
};

/// What one VecRecEnv::step reports, one entry per sub-env.
struct StepBatch {
  std::vector<float> reward;       ///< [B]
  std::vector<int8_t> terminated;  ///< [B]
  std::vector<int8_t> truncated;   ///< [B]
  std::vector<int32_t> item;       ///< [B] item placed (-1 for an inactive sub-env)
  std::vector<int8_t> hit;         ///< [B]
};

/// B users in lockstep. Autoreset mode: Gymnasium's SAME_STEP with the final
/// observation kept. When a sub-env's episode ends in step(), that same call
/// starts its next episode: observations() holds the new first observation,
/// final_observations() the ended episode's last one (rows whose terminated
/// or truncated flag is set). Sub-env i draws its users from its own
/// stream of `seed` (derived_seed(seed, kEnvRow, i)).
class VecRecEnv {
 public:
  /// `data` must outlive the env. InputError on bad settings or users.
  VecRecEnv(const EnvData& data, const EnvSettings& env_settings, const VecSettings& settings);

  Spaces spaces() const;
  FeatureView features() const { return FeatureView(*data_); }
  int batch() const { return settings_.batch; }
  /// The users episodes are drawn from (the defaults filled in).
  const std::vector<int32_t>& users() const { return settings_.users; }

  /// Starts every sub-env (sequential order restarts from the first user).
  const ObservationBatch& reset(uint64_t seed);
  /// `actions[i]` for sub-env i (ignored where inactive). InputError for an
  /// invalid or masked slot of an active sub-env.
  const StepBatch& step(const int32_t* actions);

  /// Every sub-env's observation. A row's slot features are computed on the
  /// first read after a step() or reset() changed its row, so a policy that
  /// reads none (random_policy, teacher_policy, history_rerank_policy) and
  /// steps through observations_without_features() does not pay for them.
  /// Not for two threads at once: a read writes the features.
  const ObservationBatch& observations() const { return rows_.observations(); }
  /// The observations with `features` possibly out of date (every other
  /// field is current): for policies that read no slot feature.
  const ObservationBatch& observations_without_features() const { return rows_.mechanics(); }
  /// The ended episodes' last observations. A row whose features were read
  /// in its episode has its final ones computed at the episode's end; the
  /// others' on read. Not for two threads at once.
  const ObservationBatch& final_observations() const;
  /// What the last step() returned.
  const StepBatch& step_batch() const { return result_; }
  /// Sequential order: true once every user's episode has ended.
  bool all_done() const;

 private:
  void next_episode(int row);

  const EnvData* data_;
  EnvSettings env_settings_;
  VecSettings settings_;
  // A const read computes the features it has not yet.
  mutable EpisodeRows rows_;
  mutable ObservationBatch final_;
  mutable std::vector<int8_t> final_stale_;  // [B] final features not computed yet
  mutable std::vector<float> final_raw_;     // [n_actions, width] scratch
  StepBatch result_;
  std::vector<std::mt19937_64> rngs_;
  std::vector<int64_t> cursor_;  // sequential: index into users of each row's next user
};

}  // namespace trd
