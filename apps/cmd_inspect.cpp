#include <algorithm>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "apps/cli.hpp"
#include "apps/commands.hpp"
#include "apps/libtorch_commands.hpp"
#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/knowledge.hpp"
#include "data/report.hpp"

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

int inspect_knowledge(const std::string& path, bool json) {
  const Knowledge k = read_knowledge(path);
  int64_t padding = 0;
  int64_t item_sum = 0;
  for (Eigen::Index r = 0; r < k.ranking_items.rows(); ++r) {
    for (Eigen::Index c = 0; c < k.ranking_items.cols(); ++c) {
      const int32_t item = k.ranking_items(r, c);
      if (item < 0) {
        ++padding;
      } else {
        item_sum += item;
      }
    }
  }
  // Real scores only: padding holds -inf.
  const RowMatrixXf real_scores = (k.ranking_items.array() >= 0).select(k.ranking_scores, 0.0f);
  nlohmann::json summary = {{"file", path},
                            {"format", kKnowledgeFormat},
                            {"version", kKnowledgeVersion},
                            {"teacher", k.teacher},
                            {"dataset", k.dataset},
                            {"dataset_fingerprint", k.dataset_fingerprint},
                            {"stage", k.stage},
                            {"n_users", k.n_users},
                            {"n_items", k.n_items},
                            {"dim", k.dim()},
                            {"embeddings", k.has_embeddings()},
                            {"list_length", k.list_length()},
                            {"ranking",
                             {{"padding", padding},
                              {"item_sum", item_sum},
                              {"score_sum", real_scores.cast<double>().sum()}}}};
  if (k.has_embeddings()) {
    summary["user_embeddings_sum"] = k.user_embeddings.cast<double>().sum();
    summary["item_embeddings_sum"] = k.item_embeddings.cast<double>().sum();
  }
  std::vector<std::string> state;
  for (const auto& entry : k.teacher_state) state.push_back(entry.first);
  summary["teacher_state"] = state;
  summary["item_neighbours"] = k.neighbour_items.cols();
  const KnowledgeProtocol& protocol = k.protocol;
  summary["protocol"] = nullptr;
  std::string ranked = "no protocol attributes (taken as a full ranking)";
  if (protocol.recorded) {
    summary["protocol"] = {{"candidates", protocol.candidates},
                           {"candidate_seed", protocol.candidate_seed},
                           {"fit_on", protocol.fit_on},
                           {"warm_start_crc32", protocol.warm_start_crc32}};
    ranked = (protocol.candidates > 0
                  ? "ranked within " + std::to_string(protocol.candidates) +
                        " candidates (seed " + std::to_string(protocol.candidate_seed) + ")"
                  : std::string("full ranking")) +
             ", fit on " + protocol.fit_on +
             (protocol.warm_start_crc32.empty() ? ""
                                                : ", warm-started from CRC-32 " +
                                                      protocol.warm_start_crc32);
  }
  std::cout << path << ": " << kKnowledgeFormat << " v" << kKnowledgeVersion << ", " << k.teacher
            << " on " << k.dataset << ", stage " << k.stage << "\n"
            << "  " << k.n_users << " users x " << k.list_length() << " ranked items (" << padding
            << " padding slots), " << k.n_items << " items; "
            << (k.has_embeddings() ? "embeddings of dim " + std::to_string(k.dim())
                                   : std::string("no embeddings"))
            << (state.empty() ? "" : "; " + std::to_string(state.size()) + " teacher-state arrays")
            << (k.has_neighbours()
                    ? "; " + std::to_string(k.neighbour_items.cols()) + " neighbours per item"
                    : std::string())
            << "\n  " << ranked << "\n";
  if (json) print_json(summary);
  return kExitOk;
}

}  // namespace

int run_inspect(const std::vector<std::string>& args) {
  po::options_description options("Inspect options");
  // clang-format off
  options.add_options()
      ("file", po::value<std::string>()->required(),
       "a trd HDF5 file (dataset or knowledge), or a trd train folder or its agent.json");
  // clang-format on
  po::positional_options_description positional;
  positional.add("file", 1);
  const auto values = parse("inspect", "FILE [options]", options, args, positional);
  if (!values) return kExitOk;
  const std::string path = (*values)["file"].as<std::string>();
  std::error_code error;
  (void)std::filesystem::status(path, error);
  if (error && error != std::errc::no_such_file_or_directory) {
    throw InputError(path + ": " + error.message());
  }
  if (std::filesystem::is_directory(path, error)) {
    return inspect_agent(path + "/agent.json", (*values)["json"].as<bool>());
  }
  if (std::filesystem::path(path).extension() == ".json") {
    return inspect_agent(path, (*values)["json"].as<bool>());
  }
  const std::string format = read_file_format(path);
  if (format == kDatasetFormat) return inspect_dataset(path, (*values)["json"].as<bool>());
  if (format == kKnowledgeFormat) return inspect_knowledge(path, (*values)["json"].as<bool>());
  throw InputError(path + ": unknown trd file format '" + format + "'");
}

}  // namespace trd::cli
