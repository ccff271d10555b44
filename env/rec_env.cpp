#include "env/rec_env.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "data/error.hpp"
#include "data/random.hpp"

namespace trd {
namespace {

const EnvSettings& checked(const EnvSettings& settings) {
  check_env_settings(settings);
  return settings;
}

Spaces make_spaces(const EnvData& data, const EnvSettings& settings) {
  return {settings.n_actions,
          settings.history_length,
          settings.episode_length,
          data.n_users,
          data.n_items,
          /*pad_item=*/data.n_items,
          static_cast<int>(data.item_embeddings.cols()),
          slot_features_width(settings.features, settings.history_length)};
}

}  // namespace

void check_env_settings(const EnvSettings& settings) {
  if (settings.n_actions < 1 || settings.history_length < 1 || settings.episode_length < 1) {
    throw InputError("environment needs --n-actions, --history and --episode-length >= 1 (got " +
                     std::to_string(settings.n_actions) + ", " +
                     std::to_string(settings.history_length) + ", " +
                     std::to_string(settings.episode_length) + ")");
  }
}

RewardKind parse_reward_kind(const std::string& name) {
  if (name == "dcg") return RewardKind::kDcg;
  if (name == "binary") return RewardKind::kBinary;
  if (name == "graded") return RewardKind::kGraded;
  throw InputError("--reward '" + name + "': expected dcg, binary or graded");
}

Feedback parse_feedback(const std::string& name, const std::string& flag) {
  if (name == "hits") return Feedback::kHits;
  if (name == "none") return Feedback::kNone;
  throw InputError(flag + " '" + name + "': expected hits or none");
}

std::string feedback_name(Feedback feedback) {
  return feedback == Feedback::kHits ? "hits" : "none";
}

namespace {

// Everything but the per-user items: the teacher's lists and the feature view.
EnvData knowledge_env_data(const Dataset& dataset, const Knowledge& knowledge) {
  if (knowledge.n_users != dataset.n_users() || knowledge.n_items != dataset.n_items()) {
    throw InputError("knowledge '" + knowledge.teacher + "' has " +
                     std::to_string(knowledge.n_users) + " users and " +
                     std::to_string(knowledge.n_items) + " items, the dataset " +
                     std::to_string(dataset.n_users()) + " and " +
                     std::to_string(dataset.n_items()) + " (knowledge for another dataset?)");
  }
  if (!knowledge.dataset_fingerprint.empty() &&
      knowledge.dataset_fingerprint != dataset_fingerprint(dataset)) {
    throw InputError(
        "knowledge '" + knowledge.teacher + "' was made from another dataset (fingerprint " +
        knowledge.dataset_fingerprint + ", this one " + dataset_fingerprint(dataset) + ")");
  }
  EnvData data;
  data.n_users = dataset.n_users();
  data.n_items = dataset.n_items();
  data.lists = knowledge.ranking_items;
  data.scores = knowledge.ranking_scores;
  data.user_embeddings = knowledge.user_embeddings;
  data.item_embeddings = knowledge.item_embeddings;
  data.neighbour_items = knowledge.neighbour_items;
  data.neighbour_weights = knowledge.neighbour_weights;
  return data;
}

}  // namespace

EnvData make_env_data(const Dataset& dataset, const Knowledge& knowledge, Split rewarded) {
  EnvData data = knowledge_env_data(dataset, knowledge);
  SplitUsers users(dataset, rewarded);
  data.past = std::move(users.seen);
  data.rewarded = std::move(users.held_out);
  data.rewarded_rating = std::move(users.held_out_rating);
  data.transitions = ItemTransitions(data.past, data.n_items);
  return data;
}

EnvData make_serving_data(const Dataset& dataset, const Knowledge& knowledge, Split stage) {
  EnvData data = knowledge_env_data(dataset, knowledge);
  std::vector<const InteractionTable*> before;
  for (int s = 0; s < stage; ++s) before.push_back(&dataset.splits[s]);
  data.past = UserItems(before, data.n_users);
  data.rewarded =
      UserItems(std::vector<std::vector<int32_t>>(static_cast<std::size_t>(data.n_users)));
  data.transitions = ItemTransitions(data.past, data.n_items);
  return data;
}

namespace {

// The row `id` of an embedding table; InputError for an id outside it (the
// pad item is one past the last item) or a table the teacher did not export.
void check_row(const RowMatrixXf& table, int32_t id, const char* what) {
  if (table.cols() == 0) {
    throw InputError(std::string("feature view: no ") + what +
                     " embeddings (the teacher exported none)");
  }
  if (id < 0 || id >= table.rows()) {
    throw InputError(std::string("feature view: ") + what + " " + std::to_string(id) +
                     " is outside [0, " + std::to_string(table.rows()) + ")");
  }
}

}  // namespace

Eigen::Map<const Eigen::RowVectorXf> FeatureView::user(int32_t user) const {
  const RowMatrixXf& table = data_->user_embeddings;
  check_row(table, user, "user");
  return {table.data() + static_cast<Eigen::Index>(user) * table.cols(), table.cols()};
}

Eigen::Map<const Eigen::RowVectorXf> FeatureView::item(int32_t item) const {
  const RowMatrixXf& table = data_->item_embeddings;
  check_row(table, item, "item");
  return {table.data() + static_cast<Eigen::Index>(item) * table.cols(), table.cols()};
}

void ObservationBatch::resize(int rows, int history_size, int actions, int32_t pad_item,
                              int features_per_slot) {
  batch = 0;
  history_length = history_size;
  n_actions = actions;
  n_features = features_per_slot;
  user.clear();
  t.clear();
  history.clear();
  window.clear();
  mask.clear();
  teacher_score.clear();
  teacher_rank.clear();
  features.clear();
  active.clear();
  grow(rows, pad_item);
}

void ObservationBatch::grow(int rows, int32_t pad_item) {
  batch = rows;
  const auto slots = static_cast<std::size_t>(rows) * n_actions;
  t.resize(rows, 1);
  mask.resize(slots, 0);
  features.resize(slots * n_features, 0.0f);
  active.resize(rows, 0);
  if (arrays.ids) {
    user.resize(rows, 0);
    history.resize(static_cast<std::size_t>(rows) * history_length, pad_item);
    window.resize(slots, pad_item);
  }
  if (arrays.teacher) {
    teacher_score.resize(slots, 0.0f);
    teacher_rank.resize(slots, -1);
  }
}

namespace {

// Asks the kernel to back the pages of `reserved`'s capacity with huge
// pages. The rows are first written one at a time as a replay buffer fills,
// on the learner's thread; with 4 KB pages, trd run's 125 MB of replay cost
// about 37,000 page faults there. It is advice: where the kernel declines,
// the pages stay small. A range too small to hold one huge page is left
// alone (a test's replay, on the shared heap).
template <typename T>
void advise_huge_pages(const std::vector<T>& reserved) {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  static const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(reserved.data());
  const std::uintptr_t first = (begin + page - 1) / page * page;
  const std::uintptr_t last = (begin + reserved.capacity() * sizeof(T)) / page * page;
  if (first + kHugePage <= last) {
    madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  }
#else
  static_cast<void>(reserved);
#endif
}

}  // namespace

void ObservationBatch::reserve(int rows) {
  const auto slots = static_cast<std::size_t>(rows) * n_actions;
  t.reserve(rows);
  mask.reserve(slots);
  features.reserve(slots * n_features);
  active.reserve(rows);
  advise_huge_pages(mask);
  advise_huge_pages(features);
  if (arrays.ids) {
    user.reserve(rows);
    history.reserve(static_cast<std::size_t>(rows) * history_length);
    window.reserve(slots);
    advise_huge_pages(history);
    advise_huge_pages(window);
  }
  if (arrays.teacher) {
    teacher_score.reserve(slots);
    teacher_rank.reserve(slots);
    advise_huge_pages(teacher_score);
    advise_huge_pages(teacher_rank);
  }
}

Observation ObservationBatch::row(int r) const {
  Observation obs;
  obs.t = t[r];
  const std::size_t a = static_cast<std::size_t>(r) * n_actions;
  if (arrays.ids) {
    obs.user = user[r];
    const std::size_t h = static_cast<std::size_t>(r) * history_length;
    obs.history.assign(history.begin() + h, history.begin() + h + history_length);
    obs.window.assign(window.begin() + a, window.begin() + a + n_actions);
  }
  obs.mask.assign(mask.begin() + a, mask.begin() + a + n_actions);
  if (arrays.teacher) {
    obs.teacher_score.assign(teacher_score.begin() + a, teacher_score.begin() + a + n_actions);
    obs.teacher_rank.assign(teacher_rank.begin() + a, teacher_rank.begin() + a + n_actions);
  }
  const std::size_t f = a * n_features;
  obs.features.assign(features.begin() + f, features.begin() + f + n_actions * n_features);
  return obs;
}

void ObservationBatch::copy_row(const ObservationBatch& source, int from, int to) {
  copy_row_except_features(source, from, to);
  const std::ptrdiff_t f_from = static_cast<std::ptrdiff_t>(from) * n_actions * n_features;
  std::copy_n(source.features.begin() + f_from, n_actions * n_features,
              features.begin() + static_cast<std::ptrdiff_t>(to) * n_actions * n_features);
}

void ObservationBatch::copy_row_except_features(const ObservationBatch& source, int from, int to) {
  assert(source.arrays.ids || !arrays.ids);
  assert(source.arrays.teacher || !arrays.teacher);
  t[to] = source.t[from];
  active[to] = source.active[from];
  const std::ptrdiff_t a_from = static_cast<std::ptrdiff_t>(from) * n_actions;
  const std::ptrdiff_t a_to = static_cast<std::ptrdiff_t>(to) * n_actions;
  std::copy_n(source.mask.begin() + a_from, n_actions, mask.begin() + a_to);
  if (arrays.ids) {
    user[to] = source.user[from];
    std::copy_n(source.history.begin() + static_cast<std::ptrdiff_t>(from) * history_length,
                history_length, history.begin() + static_cast<std::ptrdiff_t>(to) * history_length);
    std::copy_n(source.window.begin() + a_from, n_actions, window.begin() + a_to);
  }
  if (arrays.teacher) {
    std::copy_n(source.teacher_score.begin() + a_from, n_actions, teacher_score.begin() + a_to);
    std::copy_n(source.teacher_rank.begin() + a_from, n_actions, teacher_rank.begin() + a_to);
  }
}

void ObservationBatch::prefetch_row(int row) const {
  const std::ptrdiff_t slots = static_cast<std::ptrdiff_t>(row) * n_actions;
  __builtin_prefetch(mask.data() + slots);
  __builtin_prefetch(features.data() + slots * n_features);
  if (arrays.ids) {
    __builtin_prefetch(history.data() + static_cast<std::ptrdiff_t>(row) * history_length);
    __builtin_prefetch(window.data() + slots);
  }
  if (arrays.teacher) {
    __builtin_prefetch(teacher_score.data() + slots);
    __builtin_prefetch(teacher_rank.data() + slots);
  }
}

void ObservationBatch::copy_slot(const ObservationBatch& source, int from, int slot, int to) {
  assert(source.arrays.ids || !arrays.ids);
  assert(source.arrays.teacher || !arrays.teacher);
  t[to] = source.t[from];
  active[to] = source.active[from];
  const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(from) * source.n_actions + slot;
  mask[to] = source.mask[at];
  if (arrays.ids) {
    user[to] = source.user[from];
    std::copy_n(source.history.begin() + static_cast<std::ptrdiff_t>(from) * history_length,
                history_length, history.begin() + static_cast<std::ptrdiff_t>(to) * history_length);
    window[to] = source.window[at];
  }
  if (arrays.teacher) {
    teacher_score[to] = source.teacher_score[at];
    teacher_rank[to] = source.teacher_rank[at];
  }
  std::copy_n(source.features.begin() + at * n_features, n_features,
              features.begin() + static_cast<std::ptrdiff_t>(to) * n_features);
}

namespace {

// Past this many kept pair terms (256 MiB) further users are computed per
// episode: the cache pays only where users replay, and must not grow with
// the dataset without bound.
constexpr std::size_t kMaxKeptTerms = std::size_t{16} << 20;

}  // namespace

EpisodeRows::EpisodeRows(const EnvData& data, const EnvSettings& settings, int batch,
                         bool cache_users)
    : data_(&data),
      settings_(checked(settings)),
      features_(settings.features, settings.history_length, settings.n_actions,
                settings.episode_length, FeatureView(data).similarity(), data.transitions,
                data.past, data.n_items),
      ranks_per_row_(settings.n_actions + settings.episode_length),
      raw_by_rank_(static_cast<std::size_t>(batch) * ranks_per_row_ * features_.width()),
      raw_version_(static_cast<std::size_t>(batch) * ranks_per_row_, 0),
      history_version_(static_cast<std::size_t>(batch), 0),
      features_stale_(static_cast<std::size_t>(batch), 0),
      features_read_(static_cast<std::size_t>(batch), 0),
      window_raw_(static_cast<std::size_t>(settings.n_actions) * features_.width()),
      next_(static_cast<std::size_t>(batch), 0),
      valid_slots_(static_cast<std::size_t>(batch), 0),
      cache_users_(cache_users && features_.reads_pairs()),
      history_pool_(static_cast<std::size_t>(batch) * settings.history_length, -1),
      row_kept_(static_cast<std::size_t>(batch), kNotLookedUp),
      recent_(static_cast<std::size_t>(settings.history_length)),
      slot_terms_(static_cast<std::size_t>(settings.history_length)) {
  obs_.resize(batch, settings.history_length, settings.n_actions, data.n_items, features_.width());
  if (cache_users_) user_terms_.resize(static_cast<std::size_t>(data.n_users));
}

void EpisodeRows::keep_user_terms(int32_t user) {
  UserTerms& entry = user_terms_[static_cast<std::size_t>(user)];
  // What an episode can show: the first n_actions + K list items.
  const int64_t reach =
      std::min<int64_t>(data_->lists.cols(), settings_.n_actions + settings_.episode_length);
  int64_t shown = 0;
  while (shown < reach && data_->lists(user, shown) >= 0) ++shown;
  // What its history can hold: the last H past items, and under hit
  // feedback the rewarded items among those shown.
  const int64_t pool = static_cast<int64_t>(pool_items_.size());
  auto add = [&](int32_t item) {
    if (std::find(pool_items_.begin() + pool, pool_items_.end(), item) == pool_items_.end()) {
      pool_items_.push_back(item);
    }
  };
  const int64_t kept = std::min<int64_t>(data_->past.size(user), settings_.history_length);
  for (const int32_t* item = data_->past.end(user) - kept; item != data_->past.end(user); ++item) {
    add(*item);
  }
  if (settings_.feedback == Feedback::kHits) {
    float rating = 0;
    for (int64_t j = 0; j < shown; ++j) {
      if (is_rewarded(user, data_->lists(user, j), &rating)) add(data_->lists(user, j));
    }
  }
  const int32_t pool_size = static_cast<int32_t>(static_cast<int64_t>(pool_items_.size()) - pool);
  const std::size_t block = static_cast<std::size_t>(shown) * pool_size;
  if (terms_.size() + block > kMaxKeptTerms) {
    pool_items_.resize(static_cast<std::size_t>(pool));
    cache_full_ = true;
    return;
  }
  entry.offset = static_cast<int64_t>(terms_.size());
  entry.pool = pool;
  entry.pool_size = pool_size;
  for (int64_t j = 0; j < shown; ++j) {
    for (int32_t p = 0; p < pool_size; ++p) {
      terms_.push_back(features_.pair_terms(pool_items_[static_cast<std::size_t>(pool + p)],
                                            data_->lists(user, j)));
    }
  }
}

int32_t EpisodeRows::pool_index(int32_t user, int32_t item) const {
  const UserTerms& entry = user_terms_[static_cast<std::size_t>(user)];
  const auto begin = pool_items_.begin() + entry.pool;
  const auto found = std::find(begin, begin + entry.pool_size, item);
  if (found == begin + entry.pool_size) {
    throw std::logic_error("EpisodeRows: a history item outside the user's kept pool");
  }
  return static_cast<int32_t>(found - begin);
}

void EpisodeRows::slot_raw_values(int row, int slot, float* out) {
  const int h = settings_.history_length;
  const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(row) * settings_.n_actions + slot;
  const int32_t item = obs_.window[a];
  const int32_t rank = obs_.teacher_rank[a];
  const int32_t* history = obs_.history.data() + static_cast<std::ptrdiff_t>(row) * h;
  int n_recent = 0;
  if (cache_users_ && row_kept_[row] == kKept) {
    const UserTerms& entry = user_terms_[static_cast<std::size_t>(obs_.user[row])];
    const PairTerms* rank_terms =
        terms_.data() + entry.offset + static_cast<int64_t>(rank) * entry.pool_size;
    const int32_t* pools = history_pool_.data() + static_cast<std::ptrdiff_t>(row) * h;
    for (int j = h - 1; j >= 0; --j) {
      if (pools[j] >= 0) slot_terms_[static_cast<std::size_t>(n_recent++)] = rank_terms[pools[j]];
    }
  } else {
    n_recent = features_.recent_items(history, recent_.data());
    for (int j = 0; j < n_recent; ++j) {
      slot_terms_[static_cast<std::size_t>(j)] =
          features_.pair_terms(recent_[static_cast<std::size_t>(j)], item);
    }
  }
  features_.slot_values(slot_terms_.data(), n_recent, item, obs_.teacher_score[a], rank, out);
}

void EpisodeRows::history_changed(int row) { history_version_[row] = ++last_version_; }

void EpisodeRows::look_up_kept_terms(int row) {
  const int32_t user = obs_.user[row];
  UserTerms& entry = user_terms_[static_cast<std::size_t>(user)];
  // A user's terms are kept from the second of its episodes whose features
  // are read: a user that plays once (a large dataset's short training), or
  // whose features no policy reads, never pays for building them.
  if (entry.offset < 0 && entry.read && !cache_full_) keep_user_terms(user);
  entry.read = true;
  row_kept_[row] = entry.offset >= 0 ? kKept : kNotKept;
  if (row_kept_[row] == kKept) {
    const int h = settings_.history_length;
    const int32_t* history = obs_.history.data() + static_cast<std::ptrdiff_t>(row) * h;
    int32_t* pools = history_pool_.data() + static_cast<std::ptrdiff_t>(row) * h;
    for (int j = 0; j < h; ++j) {
      pools[j] = history[j] == data_->n_items ? -1 : pool_index(user, history[j]);
    }
  }
}

void EpisodeRows::compute_features(int row) {
  if (cache_users_ && row_kept_[row] == kNotLookedUp) look_up_kept_terms(row);
  const int width = features_.width();
  const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(row) * settings_.n_actions;
  const std::ptrdiff_t first_rank = static_cast<std::ptrdiff_t>(row) * ranks_per_row_;
  const uint64_t version = history_version_[row];
  for (int slot = 0; slot < settings_.n_actions; ++slot) {
    if (!obs_.mask[a + slot]) continue;  // finish() reads no invalid slot
    const std::ptrdiff_t rank = first_rank + obs_.teacher_rank[a + slot];
    float* raw = raw_by_rank_.data() + rank * width;
    if (raw_version_[rank] != version) {
      slot_raw_values(row, slot, raw);
      raw_version_[rank] = version;
    }
    std::copy_n(raw, width, window_raw_.data() + slot * width);
  }
  features_.finish(obs_.t[row], obs_.mask.data() + a, window_raw_.data(),
                   obs_.features.data() + a * width);
  features_stale_[row] = 0;
  features_read_[row] = 1;
}

const ObservationBatch& EpisodeRows::observations() {
  if (any_stale_) {
    for (int row = 0; row < obs_.batch; ++row) {
      if (features_stale_[row]) compute_features(row);
    }
    any_stale_ = false;
  }
  return obs_;
}

void EpisodeRows::start(int row, int32_t user) {
  const int h = settings_.history_length;
  const int n_actions = settings_.n_actions;
  const int32_t pad = data_->n_items;
  obs_.user[row] = user;
  obs_.t[row] = 1;
  obs_.active[row] = 1;
  // The last H past items, oldest first, left-padded.
  int32_t* history = obs_.history.data() + static_cast<std::ptrdiff_t>(row) * h;
  const int64_t n_past = data_->past.size(user);
  const int64_t kept = std::min<int64_t>(n_past, h);
  std::fill(history, history + (h - kept), pad);
  std::copy(data_->past.end(user) - kept, data_->past.end(user), history + (h - kept));
  row_kept_[row] = kNotLookedUp;
  // The window: the head of the teacher list.
  const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(row) * n_actions;
  const int64_t list_length = data_->lists.cols();
  int64_t next = 0;
  for (int slot = 0; slot < n_actions; ++slot) {
    const bool filled = next < list_length && data_->lists(user, next) >= 0;
    obs_.window[a + slot] = filled ? data_->lists(user, next) : pad;
    obs_.mask[a + slot] = filled ? 1 : 0;
    obs_.teacher_score[a + slot] = filled ? data_->scores(user, next) : 0.0f;
    obs_.teacher_rank[a + slot] = filled ? static_cast<int32_t>(next) : -1;
    if (filled) ++next;
  }
  next_[row] = next;
  valid_slots_[row] = static_cast<int32_t>(next);
  history_changed(row);
  features_read_[row] = 0;
  features_stale_[row] = features_.width() > 0;
  any_stale_ = any_stale_ || features_stale_[row];
}

void EpisodeRows::idle(int row) {
  obs_.active[row] = 0;
  const int n_actions = settings_.n_actions;
  const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(row) * n_actions;
  std::fill_n(obs_.mask.begin() + a, n_actions, 0);
  std::fill_n(obs_.window.begin() + a, n_actions, data_->n_items);
  std::fill_n(obs_.teacher_score.begin() + a, n_actions, 0.0f);
  std::fill_n(obs_.teacher_rank.begin() + a, n_actions, -1);
  std::fill_n(obs_.features.begin() + a * obs_.n_features, n_actions * obs_.n_features, 0.0f);
  valid_slots_[row] = 0;
  features_stale_[row] = 0;
}

bool EpisodeRows::is_rewarded(int32_t user, int32_t item, float* rating) const {
  const int32_t* begin = data_->rewarded.begin(user);
  const int32_t* end = data_->rewarded.end(user);
  const int32_t* found = std::lower_bound(begin, end, item);
  if (found == end || *found != item) return false;
  *rating = data_->rewarded_rating[static_cast<std::size_t>(found - data_->rewarded.begin(0))];
  return true;
}

void EpisodeRows::check_action(int row, int action) const {
  const int n_actions = settings_.n_actions;
  if (action < 0 || action >= n_actions) {
    throw InputError("action " + std::to_string(action) + " is outside the window [0, " +
                     std::to_string(n_actions) + ")");
  }
  if (!obs_.mask[static_cast<std::ptrdiff_t>(row) * n_actions + action]) {
    throw InputError("action " + std::to_string(action) +
                     " picks an empty (masked) slot at t = " + std::to_string(obs_.t[row]));
  }
}

double EpisodeRows::advance(int row, int action, bool& terminated, bool& truncated,
                            StepInfo& info) {
  check_action(row, action);
  const int n_actions = settings_.n_actions;
  const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(row) * n_actions;
  const int32_t user = obs_.user[row];
  const int t = obs_.t[row];
  info.item = obs_.window[a + action];
  float rating = 0;
  info.hit = is_rewarded(user, info.item, &rating);
  double reward = 0;
  if (info.hit) {
    const double discount = 1.0 / std::log2(t + 1.0);
    switch (settings_.reward) {
      case RewardKind::kDcg:
        reward = discount;
        break;
      case RewardKind::kBinary:
        reward = 1.0;
        break;
      case RewardKind::kGraded:
        reward = rating * discount;
        break;
    }
  }
  const bool history_changes = info.hit && settings_.feedback == Feedback::kHits;
  if (history_changes) {
    // A hit joins the history; the oldest entry drops out.
    const int h = settings_.history_length;
    int32_t* history = obs_.history.data() + static_cast<std::ptrdiff_t>(row) * h;
    std::copy(history + 1, history + h, history);
    history[h - 1] = info.item;
    if (cache_users_ && row_kept_[row] == kKept) {
      int32_t* pools = history_pool_.data() + static_cast<std::ptrdiff_t>(row) * h;
      std::copy(pools + 1, pools + h, pools);
      pools[h - 1] = pool_index(user, info.item);
    }
    history_changed(row);
  }
  // The chosen slot leaves; the rest keep their order; the next unused list
  // item enters at the back of the valid slots.
  const int valid = valid_slots_[row];
  const auto close_gap = [&](auto& values) {
    std::copy(values.begin() + a + action + 1, values.begin() + a + valid,
              values.begin() + a + action);
  };
  close_gap(obs_.window);
  close_gap(obs_.teacher_score);
  close_gap(obs_.teacher_rank);
  const int back = valid - 1;
  int64_t& next = next_[row];
  const bool refill = next < data_->lists.cols() && data_->lists(user, next) >= 0;
  obs_.window[a + back] = refill ? data_->lists(user, next) : data_->n_items;
  obs_.mask[a + back] = refill ? 1 : 0;
  obs_.teacher_score[a + back] = refill ? data_->scores(user, next) : 0.0f;
  obs_.teacher_rank[a + back] = refill ? static_cast<int32_t>(next) : -1;
  if (refill) {
    ++next;
  } else {
    valid_slots_[row] = back;
  }

  obs_.t[row] = t + 1;
  features_stale_[row] = features_.width() > 0;
  any_stale_ = any_stale_ || features_stale_[row];
  terminated = t >= settings_.episode_length;
  truncated = !terminated && valid_slots_[row] == 0;
  return reward;
}

RecEnv::RecEnv(const EnvData& data, const EnvSettings& settings)
    : data_(&data), settings_(settings), rows_(data, settings, /*batch=*/1) {}

Spaces RecEnv::spaces() const { return make_spaces(*data_, settings_); }

ResetResult RecEnv::reset(uint64_t /*seed*/, int32_t user) {
  if (user < 0 || user >= data_->n_users) {
    throw InputError("reset: user " + std::to_string(user) + " is outside [0, " +
                     std::to_string(data_->n_users) + ")");
  }
  rows_.start(0, user);
  done_ = false;
  ResetResult result;
  result.observation = rows_.observations().row(0);
  const auto& list = data_->lists.row(user);
  result.info.list_length = (list.array() >= 0).count();
  result.info.rewarded_items = data_->rewarded.size(user);
  return result;
}

StepResult RecEnv::step(int action) {
  if (done_) throw InputError("step after the episode ended: call reset first");
  StepResult result;
  result.reward = rows_.advance(0, action, result.terminated, result.truncated, result.info);
  done_ = result.terminated || result.truncated;
  result.observation = rows_.observations().row(0);
  return result;
}

namespace {

// A user whose teacher list is empty would start with no valid slot, an
// episode no action can play.
bool has_teacher_list(const EnvData& data, int32_t user) {
  return data.lists.cols() > 0 && data.lists(user, 0) >= 0;
}

}  // namespace

std::vector<int32_t> playable_users(const EnvData& data) {
  std::vector<int32_t> users;
  for (int32_t u = 0; u < data.n_users; ++u) {
    if (data.rewarded.size(u) > 0 && has_teacher_list(data, u)) users.push_back(u);
  }
  return users;
}

VecRecEnv::VecRecEnv(const EnvData& data, const EnvSettings& env_settings,
                     const VecSettings& settings)
    : data_(&data),
      env_settings_(env_settings),
      settings_(settings),
      rows_(data, env_settings, std::max(1, settings.batch),
            /*cache_users=*/settings.order == UserOrder::kRandom || settings.replays_users) {
  if (settings.batch < 1) throw InputError("batch must be at least 1");
  if (settings_.users.empty()) settings_.users = playable_users(data);
  if (settings_.users.empty()) {
    throw InputError("no user to play: none has a rewarded item (an empty split?)");
  }
  for (int32_t u : settings_.users) {
    if (u < 0 || u >= data.n_users) {
      throw InputError("user " + std::to_string(u) + " is outside [0, " +
                       std::to_string(data.n_users) + ")");
    }
    if (!has_teacher_list(data, u)) {
      throw InputError("user " + std::to_string(u) + " has an empty teacher list");
    }
  }
  final_.resize(settings.batch, env_settings.history_length, env_settings.n_actions, data.n_items,
                rows_.features().width());
  final_stale_.assign(settings.batch, 0);
  final_raw_.resize(static_cast<std::size_t>(env_settings.n_actions) * rows_.features().width());
  result_.reward.assign(settings.batch, 0.0f);
  result_.terminated.assign(settings.batch, 0);
  result_.truncated.assign(settings.batch, 0);
  result_.item.assign(settings.batch, -1);
  result_.hit.assign(settings.batch, 0);
  rngs_.resize(settings.batch);
  cursor_.assign(settings.batch, 0);
}

Spaces VecRecEnv::spaces() const { return make_spaces(*data_, env_settings_); }

const ObservationBatch& VecRecEnv::reset(uint64_t seed) {
  for (int row = 0; row < settings_.batch; ++row) {
    rngs_[row].seed(derived_seed(seed, SeedStream::kEnvRow, static_cast<uint64_t>(row)));
    cursor_[row] = row;
    next_episode(row);
  }
  return rows_.observations();
}

void VecRecEnv::next_episode(int row) {
  const std::vector<int32_t>& users = settings_.users;
  if (settings_.order == UserOrder::kRandom) {
    rows_.start(row, users[uniform_index(rngs_[row], static_cast<int64_t>(users.size()))]);
    return;
  }
  if (cursor_[row] < static_cast<int64_t>(users.size())) {
    rows_.start(row, users[cursor_[row]]);
    cursor_[row] += settings_.batch;
    return;
  }
  // Every user of this row has played: the row idles with an empty window.
  rows_.idle(row);
}

const StepBatch& VecRecEnv::step(const int32_t* actions) {
  const ObservationBatch& obs = rows_.mechanics();
  // Every action is checked before any row moves, so a bad one leaves the
  // whole batch as it was.
  for (int row = 0; row < settings_.batch; ++row) {
    if (obs.active[row]) rows_.check_action(row, actions[row]);
  }
  for (int row = 0; row < settings_.batch; ++row) {
    bool terminated = false;
    bool truncated = false;
    StepInfo info;
    const double reward =
        obs.active[row] ? rows_.advance(row, actions[row], terminated, truncated, info) : 0.0;
    result_.reward[row] = static_cast<float>(reward);
    result_.terminated[row] = terminated;
    result_.truncated[row] = truncated;
    result_.item[row] = info.item;
    result_.hit[row] = info.hit;
    if (terminated || truncated) {
      if (rows_.features_read(row)) {
        // A reader of features reads the final ones too (a replay buffer
        // does): they come cheapest from the row's kept raw values, which
        // the next episode replaces.
        rows_.update_features(row);
        final_.copy_row(obs, row, row);
        final_stale_[row] = 0;
      } else {
        final_.copy_row_except_features(obs, row, row);
        final_stale_[row] = rows_.features().width() > 0;
      }
      next_episode(row);
    }
  }
  return result_;
}

const ObservationBatch& VecRecEnv::final_observations() const {
  // The row has started its next episode, so these features come from the
  // final observation's own fields; they are the same values.
  const SlotFeatures& features = rows_.features();
  const int h = final_.history_length;
  const int n_actions = final_.n_actions;
  for (int row = 0; row < final_.batch; ++row) {
    if (!final_stale_[row]) continue;
    const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(row) * n_actions;
    features.fill(final_.t[row], final_.history.data() + static_cast<std::ptrdiff_t>(row) * h,
                  final_.window.data() + a, final_.mask.data() + a, final_.teacher_score.data() + a,
                  final_.teacher_rank.data() + a, final_raw_.data(),
                  final_.features.data() + a * final_.n_features);
    final_stale_[row] = 0;
  }
  return final_;
}

bool VecRecEnv::all_done() const {
  const std::vector<int8_t>& active = rows_.mechanics().active;
  return std::none_of(active.begin(), active.end(), [](int8_t a) { return a != 0; });
}

}  // namespace trd
