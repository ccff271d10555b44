#include "env/features.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "data/error.hpp"

namespace trd {

ItemSimilarity::ItemSimilarity(const RowMatrixXf& item_embeddings,
                               const RowMatrixXi& neighbour_items,
                               const RowMatrixXf& neighbour_weights)
    : embeddings_(&item_embeddings),
      neighbour_items_(&neighbour_items),
      neighbour_weights_(&neighbour_weights) {}

ItemSimilarity::ItemSimilarity(const Knowledge& knowledge)
    : ItemSimilarity(knowledge.item_embeddings, knowledge.neighbour_items,
                     knowledge.neighbour_weights) {}

float ItemSimilarity::neighbour_weight(int32_t from, int32_t to) const {
  const Eigen::Index k = neighbour_items_->cols();
  const int32_t* row = neighbour_items_->data() + static_cast<Eigen::Index>(from) * k;
  const int32_t* found = std::find(row, row + k, to);
  return found == row + k ? 0.0f : (*neighbour_weights_)(from, found - row);
}

float ItemSimilarity::operator()(int32_t a, int32_t b) const {
  if (embeddings_->size() > 0) return embeddings_->row(a).dot(embeddings_->row(b));
  if (neighbour_items_->size() == 0) return 0.0f;
  // Top-k lists need not be symmetric: either direction counts.
  const float forward = neighbour_weight(a, b);
  return forward != 0.0f ? forward : neighbour_weight(b, a);
}

ItemTransitions::ItemTransitions(const UserItems& past, int32_t n_items, int span)
    : counts_(n_items, n_items), totals_(static_cast<std::size_t>(n_items), 0.0f) {
  // Row by row: each item's occurrences in the histories, and the items up
  // to `span` after each, counted in a dense row that stays in cache. Eigen's
  // triplet path sorted all the pairs (3 million for ML-100K) instead.
  struct Occurrence {
    const int32_t* at;
    const int32_t* user_end;
  };
  std::vector<int64_t> first(static_cast<std::size_t>(n_items) + 1, 0);
  for (int32_t user = 0; user < past.n_users(); ++user) {
    for (const int32_t* item = past.begin(user); item != past.end(user); ++item) {
      ++first[static_cast<std::size_t>(*item) + 1];
    }
  }
  for (int32_t item = 0; item < n_items; ++item) first[item + 1] += first[item];
  std::vector<Occurrence> occurrences(static_cast<std::size_t>(first.back()));
  std::vector<int64_t> filled(first.begin(), first.end() - 1);
  for (int32_t user = 0; user < past.n_users(); ++user) {
    for (const int32_t* item = past.begin(user); item != past.end(user); ++item) {
      occurrences[filled[*item]++] = {item, past.end(user)};
    }
  }

  std::vector<int32_t> times(static_cast<std::size_t>(n_items), 0);
  std::vector<int32_t> followers;
  for (int32_t from = 0; from < n_items; ++from) {
    followers.clear();
    for (int64_t i = first[from]; i < first[from + 1]; ++i) {
      const Occurrence& occurrence = occurrences[i];
      const int32_t* last =
          occurrence.at +
          std::max<int64_t>(0, std::min<int64_t>(span, occurrence.user_end - occurrence.at - 1));
      for (const int32_t* to = occurrence.at + 1; to <= last; ++to) {
        if (times[*to]++ == 0) followers.push_back(*to);
      }
    }
    // A popular item is followed by much of the catalogue: reading its
    // dense row in order is then cheaper than sorting what it met.
    if (static_cast<int64_t>(followers.size()) * 16 < n_items) {
      std::sort(followers.begin(), followers.end());
    } else {
      followers.clear();
      for (int32_t to = 0; to < n_items; ++to) {
        if (times[to] != 0) followers.push_back(to);
      }
    }
    counts_.startVec(from);
    int64_t total = 0;
    for (int32_t to : followers) {
      counts_.insertBack(from, to) = static_cast<float>(times[to]);
      total += times[to];
      times[to] = 0;
    }
    totals_[static_cast<std::size_t>(from)] = static_cast<float>(total);
  }
  counts_.finalize();
}

namespace {

struct FeatureInfo {
  SlotFeature feature;
  const char* name;
};

constexpr FeatureInfo kFeatures[] = {
    {SlotFeature::kTeacherScore, "teacher_score"},
    {SlotFeature::kTeacherRank, "teacher_rank"},
    {SlotFeature::kHistorySimilarity, "history_similarity"},
    {SlotFeature::kRecentSimilarity, "recent_similarity"},
    {SlotFeature::kPopularity, "popularity"},
    {SlotFeature::kTransitions, "transitions"},
    {SlotFeature::kTransitionShare, "transition_share"},
    {SlotFeature::kReverseTransitions, "reverse_transitions"},
    {SlotFeature::kPosition, "position"},
};

int columns_of(SlotFeature feature, int history_length) {
  return feature == SlotFeature::kRecentSimilarity ? history_length : 1;
}

bool needs_transitions(SlotFeature feature) {
  return feature == SlotFeature::kTransitions || feature == SlotFeature::kTransitionShare ||
         feature == SlotFeature::kReverseTransitions;
}

bool reads_similarity(SlotFeature feature) {
  return feature == SlotFeature::kHistorySimilarity || feature == SlotFeature::kRecentSimilarity;
}

}  // namespace

std::string slot_feature_name(SlotFeature feature) {
  for (const FeatureInfo& info : kFeatures) {
    if (info.feature == feature) return info.name;
  }
  throw std::logic_error("slot_feature_name: unnamed feature");
}

int slot_features_width(const std::vector<SlotFeature>& features, int history_length) {
  int width = 0;
  for (SlotFeature feature : features) width += columns_of(feature, history_length);
  return width;
}

std::vector<SlotFeature> default_slot_features() {
  std::vector<SlotFeature> all;
  for (const FeatureInfo& info : kFeatures) all.push_back(info.feature);
  return all;
}

std::vector<SlotFeature> parse_slot_features(const std::string& names, const std::string& flag) {
  if (names == "default") return default_slot_features();
  std::vector<SlotFeature> features;
  if (names == "none") return features;
  std::string known;
  for (const FeatureInfo& info : kFeatures)
    known += (known.empty() ? "" : ", ") + std::string(info.name);
  std::size_t start = 0;
  while (start <= names.size()) {
    const std::size_t comma = std::min(names.find(',', start), names.size());
    const std::string name = names.substr(start, comma - start);
    const FeatureInfo* found =
        std::find_if(std::begin(kFeatures), std::end(kFeatures),
                     [&name](const FeatureInfo& info) { return name == info.name; });
    if (found == std::end(kFeatures)) {
      throw InputError(flag + " '" + names + "': unknown feature '" + name + "' (expected " +
                       known + ", default or none)");
    }
    if (std::find(features.begin(), features.end(), found->feature) != features.end()) {
      throw InputError(flag + " '" + names + "': '" + name + "' is named twice");
    }
    features.push_back(found->feature);
    start = comma + 1;
  }
  return features;
}

std::string slot_features_text(const std::vector<SlotFeature>& features) {
  if (features.empty()) return "none";
  std::string text;
  for (SlotFeature feature : features)
    text += (text.empty() ? "" : ",") + slot_feature_name(feature);
  return text;
}

SlotFeatures::SlotFeatures(std::vector<SlotFeature> features, int history_length, int n_actions,
                           int episode_length, const ItemSimilarity& similarity,
                           const ItemTransitions& transitions, const UserItems& past,
                           int32_t n_items)
    : features_(std::move(features)),
      history_length_(history_length),
      n_actions_(n_actions),
      episode_length_(episode_length),
      similarity_(similarity),
      transitions_(&transitions),
      pad_item_(n_items) {
  width_ = slot_features_width(features_, history_length);
  reads_transitions_ = std::any_of(features_.begin(), features_.end(), needs_transitions);
  reads_reverse_ = std::find(features_.begin(), features_.end(),
                             SlotFeature::kReverseTransitions) != features_.end();
  reads_similarity_ =
      similarity_.available() && std::any_of(features_.begin(), features_.end(), reads_similarity);
  for (SlotFeature feature : features_) {
    if (feature == SlotFeature::kPosition)
      position_column_ = static_cast<int>(standardised_.size());
    const bool standardise =
        feature != SlotFeature::kTeacherRank && feature != SlotFeature::kPosition;
    standardised_.insert(standardised_.end(), columns_of(feature, history_length_), standardise);
  }
  column_sum_.resize(static_cast<std::size_t>(width_));
  column_mean_.resize(static_cast<std::size_t>(width_));
  column_scale_.resize(static_cast<std::size_t>(width_));
  if (reads_transitions_ && transitions.n_items() != n_items) {
    own_transitions_ = std::make_shared<ItemTransitions>(past, n_items);
    transitions_ = own_transitions_.get();
  }
  std::vector<float> counts(static_cast<std::size_t>(n_items), 0.0f);
  for (int32_t user = 0; user < past.n_users(); ++user) {
    for (const int32_t* item = past.begin(user); item != past.end(user); ++item) {
      counts[static_cast<std::size_t>(*item)] += 1.0f;
    }
  }
  log_popularity_.resize(counts.size());
  std::transform(counts.begin(), counts.end(), log_popularity_.begin(),
                 [](float count) { return std::log1p(count); });
}

std::vector<std::string> SlotFeatures::column_names() const {
  std::vector<std::string> names;
  for (SlotFeature feature : features_) {
    if (feature == SlotFeature::kRecentSimilarity) {
      for (int j = 1; j <= history_length_; ++j) {
        names.push_back(slot_feature_name(feature) + "_" + std::to_string(j));
      }
    } else {
      names.push_back(slot_feature_name(feature));
    }
  }
  return names;
}

int SlotFeatures::recent_items(const int32_t* history, int32_t* recent) const {
  int n = 0;
  for (int j = history_length_ - 1; j >= 0; --j) {
    if (history[j] != pad_item_) recent[n++] = history[j];
  }
  return n;
}

PairTerms SlotFeatures::pair_terms(int32_t history_item, int32_t item) const {
  // Each sparse lookup is a binary search: the forward count serves two
  // groups, so it is looked up once.
  PairTerms terms;
  if (reads_transitions_) {
    terms.following = transitions_->count(history_item, item);
    terms.share = terms.following / (1.0f + transitions_->total(history_item));
    if (reads_reverse_) terms.preceding = transitions_->count(item, history_item);
  }
  if (reads_similarity_) terms.similarity = similarity_(item, history_item);
  return terms;
}

void SlotFeatures::slot_values(const PairTerms* terms, int n_recent, int32_t item, float score,
                               int32_t rank, float* out) const {
  std::fill_n(out, width_, 0.0f);
  float following = 0, share = 0, preceding = 0, similarity = 0;
  for (int j = 0; j < n_recent; ++j) {
    following += terms[j].following;
    share += terms[j].share;
    preceding += terms[j].preceding;
    similarity += terms[j].similarity;
  }
  float* value = out;
  for (SlotFeature feature : features_) {
    switch (feature) {
      case SlotFeature::kTeacherScore:
        *value = score;
        break;
      case SlotFeature::kTeacherRank:
        *value = static_cast<float>(1.0 / std::log2(std::max(rank, 0) + 2.0));
        break;
      case SlotFeature::kHistorySimilarity:
        if (n_recent > 0 && reads_similarity_) *value = similarity / static_cast<float>(n_recent);
        break;
      case SlotFeature::kRecentSimilarity:
        for (int j = 0; j < n_recent; ++j) value[j] = terms[j].similarity;
        break;
      case SlotFeature::kPopularity:
        *value = log_popularity_[static_cast<std::size_t>(item)];
        break;
      case SlotFeature::kTransitions:
        *value = std::log1p(following);
        break;
      case SlotFeature::kTransitionShare:
        *value = share;
        break;
      case SlotFeature::kReverseTransitions:
        *value = std::log1p(preceding);
        break;
      case SlotFeature::kPosition:
        break;  // the same in every slot: set by finish()
    }
    value += columns_of(feature, history_length_);
  }
}

void SlotFeatures::finish(int t, const int8_t* mask, const float* raw, float* out) const {
  // Each column is standardised over the valid slots (mean 0, variance 1
  // there; a constant column becomes 0). The passes run slot by slot over
  // all columns at once, in the same order of sums per column as one column
  // at a time.
  const int width = width_;
  double* sum = column_sum_.data();
  double* mean = column_mean_.data();
  double* scale = column_scale_.data();
  std::fill_n(sum, width, 0.0);
  int count = 0;
  for (int slot = 0; slot < n_actions_; ++slot) {
    if (!mask[slot]) continue;
    const float* values = raw + static_cast<std::ptrdiff_t>(slot) * width;
    for (int c = 0; c < width; ++c) sum[c] += values[c];
    ++count;
  }
  const std::size_t size = static_cast<std::size_t>(n_actions_) * width;
  if (count == 0) {
    std::fill_n(out, size, 0.0f);
    return;
  }
  for (int c = 0; c < width; ++c) mean[c] = sum[c] / count;
  std::fill_n(scale, width, 0.0);  // the sums of squares first
  for (int slot = 0; slot < n_actions_; ++slot) {
    if (!mask[slot]) continue;
    const float* values = raw + static_cast<std::ptrdiff_t>(slot) * width;
    for (int c = 0; c < width; ++c) {
      const double centred = values[c] - mean[c];
      scale[c] += centred * centred;
    }
  }
  // A multiply by the inverse (not a divide per value) keeps this loop
  // vectorised; a constant column gets scale 0.
  for (int c = 0; c < width; ++c) {
    const double deviation = std::sqrt(scale[c] / count);
    scale[c] = deviation > 1e-6 ? 1.0 / deviation : 0.0;
  }
  const float position = static_cast<float>(t - 1) / static_cast<float>(episode_length_);
  for (int slot = 0; slot < n_actions_; ++slot) {
    const float* values = raw + static_cast<std::ptrdiff_t>(slot) * width;
    float* finished = out + static_cast<std::ptrdiff_t>(slot) * width;
    if (!mask[slot]) {
      std::fill_n(finished, width, 0.0f);
      continue;
    }
    for (int c = 0; c < width; ++c) {
      finished[c] = static_cast<float>((values[c] - mean[c]) * scale[c]);
    }
    for (int c = 0; c < width; ++c) {
      if (!standardised_[static_cast<std::size_t>(c)]) finished[c] = values[c];
    }
    if (position_column_ >= 0) finished[position_column_] = position;
  }
}

void SlotFeatures::fill(int t, const int32_t* history, const int32_t* window, const int8_t* mask,
                        const float* score, const int32_t* rank, float* raw, float* out) const {
  std::vector<int32_t> recent(static_cast<std::size_t>(history_length_));
  const int n_recent = recent_items(history, recent.data());
  std::vector<PairTerms> terms(recent.size());
  for (int slot = 0; slot < n_actions_; ++slot) {
    float* values = raw + static_cast<std::ptrdiff_t>(slot) * width_;
    if (mask[slot]) {
      for (int j = 0; j < n_recent; ++j) {
        terms[static_cast<std::size_t>(j)] =
            pair_terms(recent[static_cast<std::size_t>(j)], window[slot]);
      }
      slot_values(terms.data(), n_recent, window[slot], score[slot], rank[slot], values);
    } else {
      std::fill_n(values, width_, 0.0f);
    }
  }
  finish(t, mask, raw, out);
}

}  // namespace trd
