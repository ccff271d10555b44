#include "apps/data_options.hpp"

#include <filesystem>
#include <iostream>

#include "data/error.hpp"

namespace trd::cli {
namespace {

constexpr const char* kAuto = "auto";

std::string joined_data_dirs(const std::string& data_dir_flag) {
  std::string text;
  for (const std::string& dir : data_dirs(data_dir_flag)) text += (text.empty() ? "" : ", ") + dir;
  return text;
}

// The interactions file for a named dataset: --input (a file, or a folder
// holding the usual file name), else <data dir>/<dataset>/<usual file name>.
std::string locate_input(const std::string& dataset, const std::string& input,
                         const std::string& data_dir_flag) {
  const std::string file_name = default_file_name(source_format(dataset));
  if (!input.empty()) {
    std::error_code error;
    if (std::filesystem::is_directory(input, error)) {
      return (std::filesystem::path(input) / file_name).string();
    }
    return input;
  }
  if (dataset == "amazon" || dataset == "csv" || dataset == "sequences") {
    throw InputError("--dataset " + dataset + " needs --input PATH (the interactions file)");
  }
  if (auto found = find_in_data_dirs(dataset + "/" + file_name, data_dir_flag)) return *found;
  throw InputError(dataset + "/" + file_name + " not found in the data folders (" +
                   joined_data_dirs(data_dir_flag) +
                   "); give --input PATH, --data-dir DIR or set TRD_DATA_DIR");
}

}  // namespace

po::options_description dataset_options(const char* seed_help) {
  po::options_description options("Dataset options");
  // clang-format off
  options.add_options()
      ("dataset", po::value<std::string>()->default_value(kAuto),
       "ml-100k, ml-1m, ml-latest, amazon, csv, sequences (one line per user: user item item "
       "..., whitespace-separated, in time order; every interaction a positive), synthetic, or "
       "auto (ml-100k when its u.data is found in the data folders, else synthetic)")
      ("input", po::value<std::string>()->default_value(""),
       "interactions file, or the folder holding it (u.data, ratings.dat, ratings.csv); any of "
       "them may be gzip-compressed")
      ("data-dir", po::value<std::string>()->default_value(""),
       "folder searched first for <dataset>/<file>; then $TRD_DATA_DIR, ./datasets, "
       "../shared/datasets")
      ("split", po::value<std::string>()->default_value("user-time"),
       "user-time (each user's history cut in time order) or global-time (the original TRD split)")
      ("ratios", po::value<std::string>()->default_value("0.6,0.1,0.1,0.2"),
       "fractions of base,rl,valid,test")
      ("filter", po::value<std::string>()->default_value("origin"),
       "origin (none) or <N>core: keep users and items with at least N interactions")
      ("min-rating", po::value<float>()->default_value(0),
       "drop interactions rated below this (0 keeps all)")
      ("seed", po::value<uint64_t>()->default_value(0), seed_help)
      ("synthetic-interactions", po::value<int64_t>()->default_value(100000),
       "size of the synthetic dataset")
      ("synthetic-users", po::value<int32_t>()->default_value(0), "synthetic users (0: derived)")
      ("synthetic-items", po::value<int32_t>()->default_value(0), "synthetic items (0: derived)")
      ("delimiter", po::value<std::string>()->default_value(","),
       "csv: column delimiter ('tab' or '\\t' for a tab); fields are not quoted")
      ("user-column", po::value<std::string>()->default_value("user"), "csv: user id column")
      ("item-column", po::value<std::string>()->default_value("item"), "csv: item id column")
      ("rating-column", po::value<std::string>()->default_value(""),
       "csv: rating column (empty: every rating is 1)")
      ("time-column", po::value<std::string>()->default_value(""),
       "csv: timestamp column (empty: row order is time order)");
  // clang-format on
  return options;
}

PrepareSettings prepare_settings(const po::variables_map& values) {
  PrepareSettings settings;
  const std::string data_dir = values["data-dir"].as<std::string>();
  settings.dataset = values["dataset"].as<std::string>();
  std::string input = values["input"].as<std::string>();
  if (settings.dataset == kAuto) {
    const std::optional<std::string> ml100k =
        input.empty() ? find_in_data_dirs("ml-100k/u.data", data_dir) : std::optional(input);
    settings.dataset = ml100k ? "ml-100k" : "synthetic";
    if (ml100k) input = *ml100k;
    std::cerr << (ml100k ? "using ML-100K from " + *ml100k
                         : "ML-100K not found in " + joined_data_dirs(data_dir) +
                               "; using the built-in synthetic dataset")
              << "\n";
  }
  if (settings.dataset != "synthetic")
    settings.input = locate_input(settings.dataset, input, data_dir);
  settings.split_rule = parse_split_rule(values["split"].as<std::string>());
  settings.ratios = parse_ratios(values["ratios"].as<std::string>());
  settings.filter = values["filter"].as<std::string>();
  settings.min_rating = values["min-rating"].as<float>();
  settings.synthetic.seed = values["seed"].as<uint64_t>();
  settings.synthetic.n_interactions = values["synthetic-interactions"].as<int64_t>();
  settings.synthetic.n_users = values["synthetic-users"].as<int32_t>();
  settings.synthetic.n_items = values["synthetic-items"].as<int32_t>();
  DelimitedLayout& layout = settings.layout;
  layout.delimiter = values["delimiter"].as<std::string>();
  if (layout.delimiter == "\\t" || layout.delimiter == "tab") layout.delimiter = "\t";
  layout.user_column = values["user-column"].as<std::string>();
  layout.item_column = values["item-column"].as<std::string>();
  layout.rating_column = values["rating-column"].as<std::string>();
  layout.time_column = values["time-column"].as<std::string>();
  return settings;
}

}  // namespace trd::cli
