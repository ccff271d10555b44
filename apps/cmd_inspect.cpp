#include <algorithm>
#include <iostream>
#include <numeric>

#include "apps/cli.hpp"
#include "apps/commands.hpp"
#include "data/dataset.hpp"
#include "data/error.hpp"

namespace trd::cli {
namespace {

// min, max and sum of a column: enough for a second client (h5py) to check
// that it reads the same arrays.
template <typename T>
nlohmann::json column_summary(const std::vector<T>& values) {
  using Sum = std::conditional_t<std::is_integral_v<T>, int64_t, double>;
  if (values.empty()) return {{"min", nullptr}, {"max", nullptr}, {"sum", 0}};
  const auto [min, max] = std::minmax_element(values.begin(), values.end());
  return {
      {"min", *min}, {"max", *max}, {"sum", std::accumulate(values.begin(), values.end(), Sum{0})}};
}

nlohmann::json raw_id_summary(const RawIds& ids) {
  nlohmann::json summary = {{"kind", ids.is_integer() ? "int64" : "string"}, {"count", ids.size()}};
  if (ids.size() > 0) {
    summary["first"] = ids.is_integer() ? nlohmann::json(ids.integers.front())
                                        : nlohmann::json(ids.strings.front());
    summary["last"] =
        ids.is_integer() ? nlohmann::json(ids.integers.back()) : nlohmann::json(ids.strings.back());
  }
  return summary;
}

int inspect_dataset(const std::string& path, bool json) {
  const Dataset dataset = read_dataset(path);
  const DatasetProvenance& p = dataset.provenance;
  nlohmann::json summary = {{"file", path},
                            {"format", kDatasetFormat},
                            {"version", kDatasetVersion},
                            {"dataset", p.name},
                            {"source", p.source},
                            {"source_crc32", p.source_crc32},
                            {"filter", p.filter},
                            {"min_rating", p.min_rating},
                            {"split_rule", split_rule_name(p.split_rule)},
                            {"split_ratios", p.ratios},
                            {"seed", p.seed},
                            {"n_users", dataset.n_users()},
                            {"n_items", dataset.n_items()},
                            {"n_interactions", dataset.n_interactions()},
                            {"users_raw_id", raw_id_summary(dataset.users)},
                            {"items_raw_id", raw_id_summary(dataset.items)}};
  std::cout << path << ": " << kDatasetFormat << " v" << kDatasetVersion << ", " << p.name
            << " from " << p.source << "\n"
            << "  " << dataset.n_users() << " users, " << dataset.n_items() << " items, "
            << dataset.n_interactions() << " interactions; filter " << p.filter << ", min rating "
            << p.min_rating << ", " << split_rule_name(p.split_rule) << " split\n";
  for (int s = 0; s < kNumSplits; ++s) {
    const InteractionTable& split = dataset.splits[s];
    std::vector<char> has_rows(static_cast<std::size_t>(dataset.n_users()), 0);
    for (int32_t u : split.user) has_rows[u] = 1;
    const auto users_with_rows = std::count(has_rows.begin(), has_rows.end(), 1);
    summary["splits"][kSplitNames[s]] = {{"n", split.size()},
                                         {"users_with_rows", users_with_rows},
                                         {"user", column_summary(split.user)},
                                         {"item", column_summary(split.item)},
                                         {"rating", column_summary(split.rating)},
                                         {"timestamp", column_summary(split.timestamp)}};
    std::cout << "  " << kSplitNames[s] << ": " << split.size() << " interactions, "
              << users_with_rows << " users";
    if (split.size() > 0) {
      const auto [first, last] =
          std::minmax_element(split.timestamp.begin(), split.timestamp.end());
      std::cout << ", time " << *first << " .. " << *last;
    }
    std::cout << "\n";
  }
  if (json) print_json(summary);
  return kExitOk;
}

}  // namespace

int run_inspect(const std::vector<std::string>& args) {
  po::options_description options("Inspect options");
  options.add_options()("file", po::value<std::string>()->required(), "a trd HDF5 file");
  po::positional_options_description positional;
  positional.add("file", 1);
  const auto values = parse("inspect", "FILE [options]", options, args, positional);
  if (!values) return kExitOk;
  const std::string path = (*values)["file"].as<std::string>();
  const std::string format = read_file_format(path);
  if (format == kDatasetFormat) return inspect_dataset(path, (*values)["json"].as<bool>());
  throw InputError(path + ": unknown trd file format '" + format + "'");
}

}  // namespace trd::cli
