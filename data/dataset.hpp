#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "data/interactions.hpp"
#include "data/splits.hpp"
#include "data/user_items.hpp"

namespace trd {

/// Where a dataset came from and how it was prepared; stored as attributes.
struct DatasetProvenance {
  std::string name;          ///< ml-100k, ml-1m, ml-latest, amazon, csv or synthetic
  std::string source;        ///< the input file, or the synthetic generator's settings
  std::string source_crc32;  ///< 8 hex digits of the input content's CRC-32; empty for synthetic
  std::string filter = "origin";
  double min_rating = 0;  ///< rows below it were dropped (0: kept every rating)
  SplitRule split_rule = SplitRule::kUserTime;
  SplitRatios ratios = kDefaultRatios;
  int64_t seed = 0;
};

/// A prepared dataset: raw ids and the four saved splits (DESIGN.md, "Files").
struct Dataset {
  RawIds users;
  RawIds items;
  std::array<InteractionTable, kNumSplits> splits;
  DatasetProvenance provenance;

  int32_t n_users() const { return static_cast<int32_t>(users.size()); }
  int32_t n_items() const { return static_cast<int32_t>(items.size()); }
  std::size_t n_interactions() const;
};

inline constexpr const char* kDatasetFormat = "trd-dataset";
inline constexpr int64_t kDatasetVersion = 1;

/// Splits `interactions` (already filtered, with dense ids) into a Dataset.
Dataset make_dataset(Interactions interactions, DatasetProvenance provenance);

/// One split as the protocol judges it: what each user met before it, and the
/// split's items the user had not met before it. An item met before can never
/// be in a list (lists hold unseen items only), so counting it would only
/// lower recall, MAP and NDCG for every method alike.
struct SplitUsers {
  SplitUsers(const Dataset& dataset, Split split);
  UserItems seen;      ///< items before the split, oldest first (repeats kept)
  UserItems held_out;  ///< unseen items of the split, ascending per user, each once
  std::vector<float> held_out_rating;  ///< the highest rating of each held_out entry, same order
};

/// 8 hex digits identifying the dataset's content (raw ids, splits and
/// ratings, which the graded reward reads):
/// knowledge files carry it so a file fit on another dataset is caught.
std::string dataset_fingerprint(const Dataset& dataset);

/// Writes `dataset` to `path` atomically (no partial file on failure).
void write_dataset(const Dataset& dataset, const std::string& path);

/// The 'format' attribute of any trd HDF5 file ("trd-dataset", "trd-knowledge");
/// InputError if the file is missing, not HDF5, or has no such attribute.
std::string read_file_format(const std::string& path);

/// What read_dataset checks of the content: column lengths, ids in range,
/// finite ratings, unique raw ids, rows in time order; InputError naming
/// `source` (a path, or what built the dataset) and the problem.
void check_dataset(const Dataset& dataset, const std::string& source);

/// Reads and validates a dataset file: format, version, shapes, id ranges.
/// Throws InputError naming the file and what was wrong.
Dataset read_dataset(const std::string& path);

}  // namespace trd
