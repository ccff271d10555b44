#include "env/rec_env.hpp"

#include <algorithm>
#include <cmath>

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
  data.rewarded = UserItems(std::vector<std::vector<int32_t>>(static_cast<std::size_t>(data.n_users)));
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
  batch = rows;
  history_length = history_size;
  n_actions = actions;
  n_features = features_per_slot;
  user.assign(rows, 0);
  t.assign(rows, 1);
  history.assign(static_cast<std::size_t>(rows) * history_length, pad_item);
  window.assign(static_cast<std::size_t>(rows) * actions, pad_item);
  mask.assign(static_cast<std::size_t>(rows) * actions, 0);
  teacher_score.assign(static_cast<std::size_t>(rows) * actions, 0.0f);
  teacher_rank.assign(static_cast<std::size_t>(rows) * actions, -1);
  features.assign(static_cast<std::size_t>(rows) * actions * features_per_slot, 0.0f);
  active.assign(rows, 0);
}

Observation ObservationBatch::row(int r) const {
  Observation obs;
  obs.user = user[r];
  obs.t = t[r];
  const std::size_t h = static_cast<std::size_t>(r) * history_length;
  const std::size_t a = static_cast<std::size_t>(r) * n_actions;
  obs.history.assign(history.begin() + h, history.begin() + h + history_length);
  obs.window.assign(window.begin() + a, window.begin() + a + n_actions);
  obs.mask.assign(mask.begin() + a, mask.begin() + a + n_actions);
  obs.teacher_score.assign(teacher_score.begin() + a, teacher_score.begin() + a + n_actions);
  obs.teacher_rank.assign(teacher_rank.begin() + a, teacher_rank.begin() + a + n_actions);
  const std::size_t f = a * n_features;
  obs.features.assign(features.begin() + f, features.begin() + f + n_actions * n_features);
  return obs;
}

void ObservationBatch::copy_row(const ObservationBatch& source, int from, int to) {
  user[to] = source.user[from];
  t[to] = source.t[from];
  active[to] = source.active[from];
  std::copy_n(source.history.begin() + static_cast<std::ptrdiff_t>(from) * history_length,
              history_length, history.begin() + static_cast<std::ptrdiff_t>(to) * history_length);
  const std::ptrdiff_t a_from = static_cast<std::ptrdiff_t>(from) * n_actions;
  const std::ptrdiff_t a_to = static_cast<std::ptrdiff_t>(to) * n_actions;
  std::copy_n(source.window.begin() + a_from, n_actions, window.begin() + a_to);
  std::copy_n(source.mask.begin() + a_from, n_actions, mask.begin() + a_to);
  std::copy_n(source.teacher_score.begin() + a_from, n_actions, teacher_score.begin() + a_to);
  std::copy_n(source.teacher_rank.begin() + a_from, n_actions, teacher_rank.begin() + a_to);
  std::copy_n(source.features.begin() + a_from * n_features, n_actions * n_features,
              features.begin() + a_to * n_features);
}

EpisodeRows::EpisodeRows(const EnvData& data, const EnvSettings& settings, int batch)
    : data_(&data),
      settings_(checked(settings)),
      features_(settings.features, settings.history_length, settings.n_actions,
                settings.episode_length, FeatureView(data).similarity(), data.transitions,
                data.past, data.n_items),
      next_(static_cast<std::size_t>(batch), 0) {
  obs_.resize(batch, settings.history_length, settings.n_actions, data.n_items,
              features_.width());
  raw_features_.assign(obs_.features.size(), 0.0f);
}

void EpisodeRows::fill_features(int row) {
  const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(row) * settings_.n_actions;
  const std::ptrdiff_t f = a * features_.width();
  features_.fill(obs_.t[row],
                 obs_.history.data() + static_cast<std::ptrdiff_t>(row) * settings_.history_length,
                 obs_.window.data() + a, obs_.mask.data() + a, obs_.teacher_score.data() + a,
                 obs_.teacher_rank.data() + a, raw_features_.data() + f, obs_.features.data() + f);
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
  fill_features(row);
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
  }
  // The chosen slot leaves; the rest keep their order; the next unused list
  // item enters at the back of the valid slots.
  int valid = 0;
  while (valid < n_actions && obs_.mask[a + valid]) ++valid;
  const int width = features_.width();
  float* raw = raw_features_.data() + a * width;
  for (int slot = action; slot + 1 < valid; ++slot) {
    obs_.window[a + slot] = obs_.window[a + slot + 1];
    obs_.teacher_score[a + slot] = obs_.teacher_score[a + slot + 1];
    obs_.teacher_rank[a + slot] = obs_.teacher_rank[a + slot + 1];
    std::copy_n(raw + (slot + 1) * width, width, raw + slot * width);
  }
  const int back = valid - 1;
  int64_t& next = next_[row];
  const bool refill = next < data_->lists.cols() && data_->lists(user, next) >= 0;
  obs_.window[a + back] = refill ? data_->lists(user, next) : data_->n_items;
  obs_.mask[a + back] = refill ? 1 : 0;
  obs_.teacher_score[a + back] = refill ? data_->scores(user, next) : 0.0f;
  obs_.teacher_rank[a + back] = refill ? static_cast<int32_t>(next) : -1;
  if (refill) ++next;

  obs_.t[row] = t + 1;
  if (history_changes) {
    fill_features(row);
  } else {
    // Only the slot that entered has new raw values.
    float* entered = raw + back * width;
    if (refill) {
      const int32_t* history =
          obs_.history.data() + static_cast<std::ptrdiff_t>(row) * settings_.history_length;
      features_.slot_values(features_.recent_items(history), obs_.window[a + back],
                            obs_.teacher_score[a + back], obs_.teacher_rank[a + back], entered);
    } else {
      std::fill_n(entered, width, 0.0f);
    }
    features_.finish(obs_.t[row], obs_.mask.data() + a, raw, obs_.features.data() + a * width);
  }
  terminated = t >= settings_.episode_length;
  truncated = !terminated && !obs_.mask[a];
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
      rows_(data, env_settings, std::max(1, settings.batch)) {
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
  ObservationBatch& obs = rows_.observations();
  obs.active[row] = 0;
  const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(row) * obs.n_actions;
  std::fill_n(obs.mask.begin() + a, obs.n_actions, 0);
  std::fill_n(obs.window.begin() + a, obs.n_actions, data_->n_items);
  std::fill_n(obs.teacher_score.begin() + a, obs.n_actions, 0.0f);
  std::fill_n(obs.teacher_rank.begin() + a, obs.n_actions, -1);
  std::fill_n(obs.features.begin() + a * obs.n_features, obs.n_actions * obs.n_features, 0.0f);
}

const StepBatch& VecRecEnv::step(const int32_t* actions) {
  ObservationBatch& obs = rows_.observations();
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
      final_.copy_row(obs, row, row);
      next_episode(row);
    }
  }
  return result_;
}

bool VecRecEnv::all_done() const {
  const std::vector<int8_t>& active = rows_.observations().active;
  return std::none_of(active.begin(), active.end(), [](int8_t a) { return a != 0; });
}

}  // namespace trd
