#pragma once

#include <string>

#include "data/dataset.hpp"
#include "data/loaders.hpp"
#include "data/synthetic.hpp"

namespace trd {

/// Everything `trd data` needs to turn a source into a split dataset.
struct PrepareSettings {
  std::string dataset = "synthetic";  ///< ml-100k, ml-1m, ml-latest, amazon, csv or synthetic
  std::string input;                  ///< the interactions file (unused for synthetic)
  DelimitedLayout layout;             ///< columns of a csv source
  float min_rating = 0;               ///< drop rows rated below this (0 keeps all)
  std::string filter = "origin";      ///< "origin" or "<N>core"
  SplitRule split_rule = SplitRule::kUserTime;
  SplitRatios ratios = kDefaultRatios;
  SyntheticSettings synthetic;  ///< used when dataset == "synthetic"
};

/// The dataset names trd knows, for help texts and error messages.
inline constexpr const char* kDatasetNames = "ml-100k, ml-1m, ml-latest, amazon, csv, sequences, synthetic";

/// The file format behind a dataset name other than synthetic; InputError for
/// an unknown name.
SourceFormat source_format(const std::string& dataset);

/// Loads (or generates), filters, re-indexes and splits. Throws InputError
/// naming the input when it is malformed or nothing is left after filtering.
Dataset prepare_dataset(const PrepareSettings& settings);

}  // namespace trd
