#include <iostream>

#include "apps/commands.hpp"
#include "apps/data_options.hpp"

namespace trd::cli {

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
  if ((*values)["json"].as<bool>()) print_json(figures);
  return kExitOk;
}

}  // namespace trd::cli
