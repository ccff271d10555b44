#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "apps/cli.hpp"
#include "apps/commands.hpp"
#include "data/error.hpp"
#include "data/prepare.hpp"

namespace trd::cli {
namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Times prepare (load or generate, filter, split) and write, `repeat` times.
nlohmann::json time_pipeline(const PrepareSettings& settings, int repeat,
                             const std::filesystem::path& scratch) {
  std::map<std::string, std::vector<double>> seconds;
  std::size_t interactions = 0;
  for (int run = 0; run < repeat; ++run) {
    const double start = now_seconds();
    const Dataset dataset = prepare_dataset(settings);
    const double prepared = now_seconds();
    write_dataset(dataset, (scratch / "dataset.h5").string());
    const double written = now_seconds();
    seconds["prepare"].push_back(prepared - start);
    seconds["write"].push_back(written - prepared);
    seconds["total"].push_back(written - start);
    interactions = dataset.n_interactions();
  }
  nlohmann::json figures = {{"interactions", interactions}};
  for (const auto& [phase, values] : seconds) figures[phase + "_median_s"] = median(values);
  figures["total_min_s"] = *std::min_element(seconds["total"].begin(), seconds["total"].end());
  return figures;
}

void write_u_data(const Interactions& interactions, const std::string& path) {
  std::ofstream out(path);
  const InteractionTable& table = interactions.table;
  for (std::size_t row = 0; row < table.size(); ++row) {
    out << interactions.users.to_string(table.user[row]) << '\t'
        << interactions.items.to_string(table.item[row]) << '\t' << table.rating[row] << '\t'
        << table.timestamp[row] << '\n';
  }
  if (!out.flush()) throw std::runtime_error(path + ": cannot write the benchmark's text file");
}

int bench_data(const po::variables_map& values) {
  const int repeat = values["repeat"].as<int>();
  if (repeat < 1) throw InputError("--repeat must be at least 1");
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / ("trd-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(scratch);
  nlohmann::json report = {
      {"suite", "data"}, {"machine", machine_description()}, {"threads", 1}, {"repeat", repeat}};
  std::cout << "trd bench data: median of " << repeat << " runs, one thread, on "
            << machine_description() << "\n";
  auto show = [&](const std::string& name, const nlohmann::json& figures) {
    report[name] = figures;
    std::cout << "  " << name << " (" << figures["interactions"].get<std::size_t>()
              << " interactions): load+split " << figures["prepare_median_s"].get<double>()
              << " s, write " << figures["write_median_s"].get<double>() << " s, total "
              << figures["total_median_s"].get<double>() << " s\n";
  };
  try {
    const std::string data_dir = values["data-dir"].as<std::string>();
    if (auto ml100k = find_in_data_dirs("ml-100k/u.data", data_dir)) {
      PrepareSettings settings;
      settings.dataset = "ml-100k";
      settings.input = *ml100k;
      show("ml-100k", time_pipeline(settings, repeat, scratch));
    } else {
      std::cout << "  ml-100k: skipped, ml-100k/u.data not found in the data folders\n";
      report["ml-100k"] = nullptr;
    }
    PrepareSettings synthetic;
    synthetic.synthetic.n_interactions = values["synthetic-interactions"].as<int64_t>();
    show("synthetic", time_pipeline(synthetic, repeat, scratch));
    // The same interactions as a u.data text file: parsing cost at that scale.
    PrepareSettings text;
    text.dataset = "ml-100k";
    text.input = (scratch / "u.data").string();
    write_u_data(generate_synthetic(synthetic.synthetic), text.input);
    show("synthetic-u.data", time_pipeline(text, repeat, scratch));
  } catch (...) {
    std::filesystem::remove_all(scratch);
    throw;
  }
  std::filesystem::remove_all(scratch);
  if (values["json"].as<bool>()) print_json(report);
  return kExitOk;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  po::options_description options("Bench options");
  options.add_options()("suite", po::value<std::string>()->required(), "what to measure: data")(
      "repeat", po::value<int>()->default_value(5), "runs per figure (the median is reported)")(
      "data-dir", po::value<std::string>()->default_value(""),
      "folder searched first for ml-100k/u.data")("synthetic-interactions",
                                                  po::value<int64_t>()->default_value(1000000),
                                                  "size of the synthetic dataset");
  po::positional_options_description positional;
  positional.add("suite", 1);
  const auto values = parse("bench", "SUITE [options]", options, args, positional);
  if (!values) return kExitOk;
  const std::string suite = (*values)["suite"].as<std::string>();
  if (suite == "data") return bench_data(*values);
  throw InputError("unknown bench suite '" + suite + "' (expected: data)");
}

}  // namespace trd::cli
