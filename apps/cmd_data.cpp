#include <iostream>

#include "apps/commands.hpp"
#include "apps/data_options.hpp"
#include "data/atomic_file.hpp"

namespace trd::cli {
namespace {

// A split with no rows still makes a valid file (an evaluation-only dataset
// may want one), but no student can train or be judged on it.
void warn_empty_splits(const Dataset& dataset, const std::string& path) {
  std::string empty;
  for (int s = 1; s < kNumSplits; ++s) {
    if (dataset.splits[s].size() == 0) empty += (empty.empty() ? "" : ", ") + std::string(kSplitNames[s]);
  }
  if (!empty.empty()) {
    std::cerr << "trd data: warning: " << path << ": empty split(s) " << empty
              << " (too few interactions per user for --ratios?); trd train and trd eval need "
                 "rows in rl, valid and test\n";
  }
}

}  // namespace

int run_data(const std::vector<std::string>& args) {
  po::options_description options = dataset_options();
  // clang-format off
  options.add_options()
      ("out", po::value<std::string>()->default_value("dataset.h5"),
       "dataset file to write (HDF5, replaced atomically)");
  // clang-format on
  const auto values = parse("data", "[options]", options, args);
  if (!values) return kExitOk;
  const PrepareSettings settings = prepare_settings(*values);
  const std::string out = (*values)["out"].as<std::string>();
  check_output_file(out, "--out", {settings.input});

  const double start = now_seconds();
  const Dataset dataset = prepare_dataset(settings);
  const double prepared = now_seconds();
  write_dataset(dataset, out);
  const double written = now_seconds();

  nlohmann::json figures = {
      {"command", "data"},
      {"dataset", dataset.provenance.name},
      {"source", dataset.provenance.source},
      {"out", out},
      {"split_rule", split_rule_name(dataset.provenance.split_rule)},
      {"filter", dataset.provenance.filter},
      {"n_users", dataset.n_users()},
      {"n_items", dataset.n_items()},
      {"n_interactions", dataset.n_interactions()},
      {"seconds",
       {{"prepare", prepared - start}, {"write", written - prepared}, {"total", written - start}}}};
  std::cout << "wrote " << out << ": " << dataset.n_users() << " users, " << dataset.n_items()
            << " items, " << dataset.n_interactions() << " interactions ("
            << split_rule_name(dataset.provenance.split_rule) << " split";
  for (int s = 0; s < kNumSplits; ++s) {
    figures["splits"][kSplitNames[s]] = dataset.splits[s].size();
    std::cout << (s == 0 ? ": " : ", ") << kSplitNames[s] << " " << dataset.splits[s].size();
  }
  std::cout << ") in " << written - start << " s\n";
  warn_empty_splits(dataset, out);
  if ((*values)["json"].as<bool>()) print_json(figures);
  return kExitOk;
}

}  // namespace trd::cli
