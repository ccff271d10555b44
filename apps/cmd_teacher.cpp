#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include "apps/cli.hpp"
#include "apps/commands.hpp"
#include "apps/teacher_options.hpp"
#include "data/atomic_file.hpp"
#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/knowledge.hpp"
#include "data/loaders.hpp"
#include "data/ranking.hpp"
#include "teachers/registry.hpp"

namespace trd::cli {
namespace {

// A warm start must come from the same teacher on the same dataset, from an
// earlier stage.
void check_warm_start(const Knowledge& init, const std::string& init_path, const Dataset& dataset,
                      const std::string& dataset_path, const std::string& teacher, Split stage) {
  const std::string fingerprint = dataset_fingerprint(dataset);
  if (init.n_users != dataset.n_users() || init.n_items != dataset.n_items() ||
      (!init.dataset_fingerprint.empty() && init.dataset_fingerprint != fingerprint)) {
    throw InputError(init_path + ": was not made from " + dataset_path + " (" +
                     std::to_string(init.n_users) + " users, " + std::to_string(init.n_items) +
                     " items, fingerprint '" + init.dataset_fingerprint + "'; the dataset has " +
                     std::to_string(dataset.n_users()) + ", " + std::to_string(dataset.n_items()) +
                     ", '" + fingerprint + "')");
  }
  if (init.teacher != teacher) {
    throw InputError(init_path + ": holds " + init.teacher + " knowledge, cannot warm-start " +
                     teacher);
  }
  if (parse_stage(init.stage, init_path + ": attribute stage") >= stage) {
    throw InputError(init_path + ": is for stage " + init.stage + "; a warm start for stage " +
                     kSplitNames[stage] + " must come from an earlier stage");
  }
}

// "base+rl": the splits a teacher for `stage` fits on.
std::string splits_before(Split stage) {
  std::string names;
  for (int s = 0; s < stage; ++s) names += (s > 0 ? "+" : "") + std::string(kSplitNames[s]);
  return names;
}

}  // namespace

int run_teacher(const std::vector<std::string>& args) {
  po::options_description options(
      "Teacher options (hyper-parameters default per teacher: see README)");
  // clang-format off
  options.add_options()
      ("dataset", po::value<std::string>()->required(), "dataset file written by trd data")
      ("teacher", po::value<std::string>()->required(), kTeacherNames)
      ("stage", po::value<std::string>()->default_value("rl"),
       "rl (fit on base), valid (base+rl) or test (base+rl+valid): the split whose lists are made")
      ("fit-on", po::value<std::string>()->default_value(""),
       "fit on everything before this stage's split instead (rl: base only), while the lists "
       "still skip what users met before --stage; DESIGN.md's fixed-teacher protocol")
      ("init", po::value<std::string>()->default_value(""),
       "knowledge of an earlier stage to continue fitting from (warm start)")
      ("out", po::value<std::string>()->required(), "knowledge file to write (HDF5, atomic)")
      ("threads", po::value<int>()->default_value(1),
       "training threads (1 gives bit-identical results for a seed)")
      ("list-length", po::value<int>()->default_value(100), "L: items per user in the ranked list")
      ("candidates", po::value<int>()->default_value(0),
       "rank only the stage's held-out items plus uniform negatives up to N (0: every unseen item)")
      ("seed", po::value<uint64_t>()->default_value(0), "seed of initialisation and sampling");
  // clang-format on
  options.add(teacher_setting_options("", "Teacher settings"));
  const auto values = parse(
      "teacher", "--dataset FILE --teacher NAME --stage STAGE --out FILE [options]", options, args);
  if (!values) return kExitOk;
  const auto& v = *values;
  const std::string dataset_path = v["dataset"].as<std::string>();
  const std::string name = v["teacher"].as<std::string>();
  const std::string out = v["out"].as<std::string>();
  const std::string init_path = v["init"].as<std::string>();
  const Split stage = parse_stage(v["stage"].as<std::string>(), "--stage");
  const TeacherSettings settings = teacher_settings(v, name, "");
  check_output_file(out, "--out", {dataset_path, init_path});
  int list_length = v["list-length"].as<int>();
  const int n_candidates = v["candidates"].as<int>();
  if (list_length < 1) throw InputError("--list-length must be at least 1");
  if (n_candidates < 0) throw InputError("--candidates must be 0 (full ranking) or positive");
  std::unique_ptr<Teacher> teacher = make_teacher(name, settings);

  const Dataset dataset = read_dataset(dataset_path);
  if (list_length > dataset.n_items()) {
    std::cerr << "trd teacher: note: --list-length " << list_length << " exceeds the "
              << dataset.n_items() << " items of " << dataset_path << "; lists hold at most "
              << dataset.n_items() << "\n";
    list_length = dataset.n_items();
  }
  std::optional<Knowledge> init;
  if (!init_path.empty()) {
    init = read_knowledge(init_path);
    check_warm_start(*init, init_path, dataset, dataset_path, name, stage);
  }
  const std::string fit_on = v["fit-on"].as<std::string>();
  const Split fit_stage = fit_on.empty() ? stage : parse_stage(fit_on, "--fit-on");
  if (fit_stage > stage) {
    throw InputError("--fit-on " + fit_on + " comes after --stage " + kSplitNames[stage] +
                     ": a teacher cannot fit on the split it is judged on");
  }
  const TrainingSet data = training_set(dataset, stage);
  std::optional<TrainingSet> earlier;
  if (fit_stage != stage) earlier = training_set(dataset, fit_stage);
  const TrainingSet& fitted_on = earlier ? *earlier : data;
  if (fitted_on.interactions.size() == 0) {
    throw InputError(dataset_path + ": no interactions before the " +
                     std::string(kSplitNames[fit_stage]) + " split to fit on");
  }

  const double start = now_seconds();
  double last_loss = 0;
  const std::string progress_label = name + " " + kSplitNames[stage];
  ProgressMeter progress(progress_label);
  teacher->fit(fitted_on, init ? &*init : nullptr, [&](int epoch, int epochs, double loss) {
    last_loss = loss;
    char detail[96];
    std::snprintf(detail, sizeof detail, "epoch %d/%d, loss %.5f", epoch, epochs, loss);
    const double done = static_cast<double>(epoch) / epochs;
    if (epoch == epochs) {
      progress.line(done, progress_label + ": " + detail + ", " +
                              duration_text(now_seconds() - start));
    } else {
      progress.update(done, detail);
    }
  });
  const double fitted = now_seconds();
  if (!std::isfinite(last_loss)) {
    throw InputError(name + " diverged: training loss " + std::to_string(last_loss) +
                     "; lower --lr or --l2 (nothing written to " + out + ")");
  }
  std::optional<UserItems> candidates;
  if (n_candidates > 0) {
    candidates = make_candidates(data.seen, SplitUsers(dataset, stage).held_out,
                                 dataset.n_items(), n_candidates, settings.seed);
  }
  Knowledge knowledge = distill(*teacher, name, dataset, stage, data, list_length,
                                candidates ? &*candidates : nullptr);
  knowledge.protocol.recorded = true;
  knowledge.protocol.candidates = n_candidates;
  knowledge.protocol.candidate_seed = static_cast<int64_t>(settings.seed);
  knowledge.protocol.fit_on = splits_before(fit_stage);
  knowledge.protocol.warm_start_crc32 = init_path.empty() ? "" : file_crc32(init_path);
  const double ranked = now_seconds();
  write_knowledge(knowledge, out);

  std::cout << "wrote " << out << ": " << name << " knowledge for stage " << kSplitNames[stage]
            << " (" << knowledge.n_users << " users x " << list_length << " items"
            << (knowledge.has_embeddings()
                    ? ", embeddings of dim " + std::to_string(knowledge.dim())
                    : std::string(", no embeddings"))
            << "); fit " << fitted - start << " s, ranking " << ranked - fitted << " s\n";
  if (v["json"].as<bool>()) {
    print_json({{"command", "teacher"},
                {"teacher", name},
                {"stage", kSplitNames[stage]},
                {"out", out},
                {"warm_start", !init_path.empty()},
                {"fit_on", kSplitNames[fit_stage]},
                {"epochs", settings.epochs},
                {"final_loss", last_loss},
                {"list_length", list_length},
                {"candidates", n_candidates},
                {"dim", knowledge.dim()},
                {"seconds", {{"fit", fitted - start}, {"rank", ranked - fitted}}}});
  }
  return kExitOk;
}

}  // namespace trd::cli
