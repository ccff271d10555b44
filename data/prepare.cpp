#include "data/prepare.hpp"

#include <cmath>
#include <sstream>

#include "data/error.hpp"
#include "data/preprocess.hpp"

namespace trd {

SourceFormat source_format(const std::string& dataset) {
  if (dataset == "ml-100k") return SourceFormat::kMovieLens100K;
  if (dataset == "ml-1m") return SourceFormat::kMovieLens1M;
  if (dataset == "ml-latest") return SourceFormat::kMovieLensLatest;
  if (dataset == "amazon") return SourceFormat::kAmazon;
  if (dataset == "csv") return SourceFormat::kDelimited;
  if (dataset == "sequences") return SourceFormat::kSequences;
  throw InputError("--dataset '" + dataset + "': unknown dataset (expected one of " +
                   kDatasetNames + ")");
}

Dataset prepare_dataset(const PrepareSettings& settings) {
  if (!std::isfinite(settings.min_rating)) {
    throw InputError("--min-rating " + std::to_string(settings.min_rating) +
                     ": must be a finite number (0 keeps every rating)");
  }
  const int core = parse_core_filter(settings.filter);
  DatasetProvenance provenance;
  provenance.name = settings.dataset;
  provenance.filter = settings.filter;
  provenance.min_rating = settings.min_rating;
  provenance.split_rule = settings.split_rule;
  provenance.ratios = settings.ratios;

  Interactions interactions;
  if (settings.dataset == "synthetic") {
    interactions = generate_synthetic(settings.synthetic);
    const SyntheticSettings& s = settings.synthetic;
    std::ostringstream source;
    source << "synthetic(interactions=" << s.n_interactions << ", users=" << s.n_users
           << ", items=" << s.n_items << ", dim=" << s.dim << ", skew=" << s.popularity_skew
           << ", seed=" << s.seed << ")";
    provenance.source = source.str();
    provenance.seed = static_cast<int64_t>(s.seed);
  } else {
    LoadedSource loaded =
        load_interactions(settings.input, source_format(settings.dataset), settings.layout);
    interactions = std::move(loaded.interactions);
    provenance.source = settings.input;
    provenance.source_crc32 = loaded.content_crc32;
  }
  const std::size_t loaded_rows = interactions.table.size();
  if (settings.min_rating > 0) interactions = filter_min_rating(interactions, settings.min_rating);
  if (core > 1) interactions = filter_ncore(interactions, core);
  if (interactions.table.size() == 0) {
    std::ostringstream why;
    why << provenance.source << ": no interactions left after filtering (" << loaded_rows
        << " loaded; --min-rating " << settings.min_rating << ", --filter " << settings.filter
        << ")";
    throw InputError(why.str());
  }
  if (settings.min_rating > 0 || core > 1) interactions = compact_ids(interactions);
  return make_dataset(std::move(interactions), std::move(provenance));
}

}  // namespace trd
