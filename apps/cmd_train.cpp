#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>

#include "agents/training.hpp"
#include "apps/agent_options.hpp"
#include "apps/commands.hpp"
#include "data/atomic_file.hpp"
#include "data/error.hpp"
#include "data/loaders.hpp"
#include "data/ranking.hpp"
#include "torch_support/thread_scope.hpp"

namespace trd::cli {
namespace {

std::string percent_change(double value, double reference) {
  char text[32];
  std::snprintf(text, sizeof text, "%+.1f%%", 100.0 * (value / reference - 1.0));
  return reference > 0 ? text : "n/a";
}

// The valid stage's knowledge and the split judged with it, read and
// checked when first asked for: up front for trd train, after the first
// epoch's steps when trd run is still fitting the valid stage's teacher.
class ValidStage {
 public:
  ValidStage(std::string path, const Dataset& dataset, std::string dataset_path,
             const Knowledge& train_knowledge, std::string train_knowledge_path,
             std::function<void()> wait_until_written)
      : path_(std::move(path)),
        dataset_(dataset),
        dataset_path_(std::move(dataset_path)),
        train_knowledge_(train_knowledge),
        train_knowledge_path_(std::move(train_knowledge_path)),
        wait_until_written_(std::move(wait_until_written)) {}
  ValidStage(const ValidStage&) = delete;
  ValidStage& operator=(const ValidStage&) = delete;

  const JudgedSplit& split() {
    if (split_.data == nullptr) read();
    return split_;
  }
  /// Requires split() first.
  const Knowledge& knowledge() const { return *knowledge_; }

 private:
  void read() {
    if (wait_until_written_) wait_until_written_();
    knowledge_.emplace(read_knowledge(path_));
    check_knowledge_matches(*knowledge_, path_, dataset_, dataset_path_);
    check_stage(*knowledge_, path_, kValid, "trd train --valid-knowledge");
    check_warm_start_from(*knowledge_, path_, file_crc32(train_knowledge_path_),
                          train_knowledge_path_);
    if (train_knowledge_.teacher != knowledge_->teacher ||
        train_knowledge_.user_embeddings.cols() != knowledge_->user_embeddings.cols()) {
      throw InputError(path_ + ": holds " + knowledge_->teacher +
                       " knowledge, but the student trains on " + train_knowledge_.teacher +
                       " knowledge from " + train_knowledge_path_);
    }
    data_.emplace(make_env_data(dataset_, *knowledge_, kValid));
    users_.emplace(dataset_, kValid);
    // The valid lists are judged within the candidate sets they were ranked in.
    const KnowledgeProtocol& protocol = knowledge_->protocol;
    if (protocol.candidates > 0) {
      candidates_ = make_candidates(users_->seen, users_->held_out, dataset_.n_items(),
                                    static_cast<int>(protocol.candidates),
                                    static_cast<uint64_t>(protocol.candidate_seed));
    }
    split_ = {&*data_, &users_->held_out, &users_->seen, candidates_ ? &*candidates_ : nullptr};
  }

  std::string path_;
  const Dataset& dataset_;
  std::string dataset_path_;
  const Knowledge& train_knowledge_;
  std::string train_knowledge_path_;
  std::function<void()> wait_until_written_;
  std::optional<Knowledge> knowledge_;
  std::optional<EnvData> data_;
  std::optional<SplitUsers> users_;
  std::optional<UserItems> candidates_;
  JudgedSplit split_;
};

}  // namespace

nlohmann::json train_into(const po::variables_map& v, const std::string& dataset_path,
                          const std::string& train_knowledge_path,
                          const std::string& valid_knowledge_path, const std::string& out_dir,
                          const ReplicaSettings& replicas,
                          const KnowledgeInTheMaking& valid_knowledge_written) {
  check_replica_settings(replicas);
  const EnvSettings env = env_settings(v);
  const AgentConfig agent = agent_config(v);
  TrainSettings training = train_settings(v);
  const int threads = v["threads"].as<int>();
  check_thread_count(threads, "--threads");
  // Only rank 0 writes: the others may share its folder (one machine) or
  // have none (theirs).
  const bool writes_outputs = replicas.rank == 0;
  if (writes_outputs) {
    check_output_folder(out_dir, "--out", {"agent.pt", "agent.json", "train.csv"},
                        {dataset_path, train_knowledge_path, valid_knowledge_path});
  }

  const Dataset dataset = read_dataset(dataset_path);
  const Knowledge train_knowledge = read_knowledge(train_knowledge_path);
  check_window_fits(env, static_cast<int>(train_knowledge.list_length()), train_knowledge_path);
  check_knowledge_matches(train_knowledge, train_knowledge_path, dataset, dataset_path);
  check_stage(train_knowledge, train_knowledge_path, kRl, "trd train --knowledge");
  check_split_not_empty(dataset, dataset_path, kRl, "the student's rewards come from it");
  check_split_not_empty(dataset, dataset_path, kValid, "the best epoch is picked on it");
  std::optional<ProgressMeter> progress;  // from the first step on, so its estimate holds
  ValidStage valid(valid_knowledge_path, dataset, dataset_path, train_knowledge,
                   train_knowledge_path, valid_knowledge_written.wait ? [&] {
                     if (progress) progress->clear();
                     valid_knowledge_written.wait();
                   } : std::function<void()>());
  if (!valid_knowledge_written.wait) valid.split();
  const EnvData train_data = make_env_data(dataset, train_knowledge, kRl);

  const ThreadScope scope(threads);
  std::unique_ptr<Agent> student = agent_registry().make(
      agent.name, train_data, RecEnv(train_data, env).spaces(), agent.settings, agent.seed);
  const std::string checkpoint = out_dir + "/agent.pt";
  const std::string log_path = out_dir + "/train.csv";
  std::optional<FolderLock> lock;
  if (writes_outputs) {
    std::filesystem::create_directories(out_dir);
    lock.emplace(out_dir);
  }
  const nlohmann::json env_record = {{"n_actions", env.n_actions},
                                     {"history_length", env.history_length},
                                     {"episode_length", env.episode_length},
                                     {"reward", v["reward"].as<std::string>()},
                                     {"feedback", feedback_name(env.feedback)},
                                     {"features", slot_features_text(env.features)}};
  nlohmann::json training_record = {{"epochs", training.epochs},
                                    {"batch_users", training.batch_users},
                                    {"updates_per_step", training.updates_per_step},
                                    {"patience", training.patience},
                                    {"eval_feedback", feedback_name(training.eval_feedback)},
                                    {"seed", training.seed}};
  const std::string fingerprint = dataset_fingerprint(dataset);
  std::optional<ReplicaGroup> group;
  if (replicas.world_size > 1) {
    // What shapes the exchanges; the paths may differ from machine to machine.
    const nlohmann::json shared = {{"agent", agent.name},
                                   {"agent_settings", agent.settings},
                                   {"env", env_record},
                                   {"training", training_record},
                                   {"dataset", fingerprint},
                                   {"knowledge_crc32", file_crc32(train_knowledge_path)},
                                   {"valid_knowledge_crc32", file_crc32(valid_knowledge_path)}};
    group.emplace(replicas, shared);
    if (!student->join(*group)) {
      throw InputError("--agent " + agent.name + " cannot train in a data-parallel group "
                       "(--world-size > 1): it does not implement Agent::join");
    }
    training.replicas = &*group;
    std::cerr << "trd train: rank " << replicas.rank << " of " << replicas.world_size
              << " joined " << replicas.rendezvous << "; "
              << (writes_outputs ? "this rank writes the outputs" : "rank 0 writes the outputs")
              << "\n";
  }
  if (!writes_outputs) {
    const TrainResult result =
        train_agent(*student, train_data, env, valid.split(), training, "", nullptr);
    std::cerr << "trd train: rank " << replicas.rank << " done after " << result.epochs.size()
              << " epochs\n";
    return {{"rank", replicas.rank},
            {"world_size", replicas.world_size},
            {"valid_student", result.best_valid_ndcg},
            {"verified_updates", group->verified_updates()}};
  }
  std::ofstream log(log_path);
  log << "epoch,mean_return,loss,exploration,valid_ndcg@" << training.selection_k
      << ",valid_precision@1,seconds,best\n";
  progress.emplace("trd train");
  // An epoch's line comes when it is judged, which may be epochs after its
  // steps (trd run's valid split is still being made): its estimate of the
  // time left goes by the steps done, and there is none once patience stops.
  double steps_done = 0;
  const ValidSource valid_source{
      [&] { return !valid_knowledge_written.done || valid_knowledge_written.done(); },
      [&]() -> const JudgedSplit& { return valid.split(); }};
  const TrainResult result = train_agent(
      *student, train_data, env, valid_source, training, checkpoint,
      [&](const EpochRecord& r) {
        log << r.epoch << "," << r.mean_return << "," << r.loss << "," << r.exploration << ","
            << r.valid_ndcg << "," << r.valid_precision1 << "," << r.seconds << "," << r.best
            << std::endl;
        char line[200];
        std::snprintf(line, sizeof line,
                      "trd train: epoch %d/%d  return %.4f  loss %.4f  explore %.3f  valid ndcg@%d "
                      "%.4f  p@1 %.4f  %.1fs%s",
                      r.epoch, training.epochs, r.mean_return, r.loss, r.exploration,
                      training.selection_k, r.valid_ndcg, r.valid_precision1, r.seconds,
                      r.best ? "  *" : "");
        progress->line(r.last ? 1.0 : steps_done, line);
      },
      [&](double done, int epoch) {
        steps_done = done;
        progress->update(
            done, "(epoch " + std::to_string(epoch) + "/" + std::to_string(training.epochs) + ")");
      });

  if (group && replicas.verify) {
    std::cerr << "trd train: --verify-replicas: the " << replicas.world_size
              << " ranks held bit-identical weights after each of " << group->verified_updates()
              << " updates\n";
  }
  const std::string at_k = "@" + std::to_string(training.selection_k);
  if (result.stopped_early) {
    std::cerr << "trd train: stopped after epoch " << result.epochs.size() << " of "
              << training.epochs << ": no better valid NDCG" << at_k << " in "
              << training.patience << " epochs (--patience)\n";
  }
  if (result.beats_teacher()) {
    std::cerr << "trd train: best epoch " << result.best_epoch << ": valid NDCG" << at_k << " "
              << result.best_valid_ndcg << " against the teacher's " << result.teacher_valid_ndcg
              << " (" << percent_change(result.best_valid_ndcg, result.teacher_valid_ndcg) << ")\n";
  } else {
    std::cerr << "trd train: the student never beat the teacher on valid: best NDCG" << at_k << " "
              << result.best_valid_ndcg << " (epoch " << result.best_epoch
              << ") against the teacher's " << result.teacher_valid_ndcg << "\n";
  }
  training_record["threads"] = threads;
  training_record["world_size"] = replicas.world_size;
  nlohmann::json sidecar = {
      {"format", "trd-agent"},
      {"version", 1},
      {"agent", student->name()},
      {"settings", student->settings()},
      {"env", env_record},
      {"training", training_record},
      {"checkpoint", {{"file", "agent.pt"}, {"crc32", file_crc32(checkpoint)}}},
      {"dataset", {{"file", dataset_path}, {"fingerprint", fingerprint}}},
      {"train_knowledge", knowledge_summary(train_knowledge, train_knowledge_path)},
      {"valid_knowledge", knowledge_summary(valid.knowledge(), valid_knowledge_path)},
      {"best_epoch", result.best_epoch},
      {"epochs_run", static_cast<int>(result.epochs.size())},
      {"selection", "ndcg" + at_k},
      {"valid_student", result.best_valid_ndcg},
      {"valid_teacher", result.teacher_valid_ndcg},
      {"beats_teacher", result.beats_teacher()},
      {"seconds", result.epochs.empty() ? 0.0 : result.epochs.back().seconds}};
  write_text_atomically(out_dir + "/agent.json", sidecar.dump(2) + "\n");
  return sidecar;
}

int run_train(const std::vector<std::string>& args) {
  po::options_description options("Train options");
  // clang-format off
  options.add_options()
      ("dataset", po::value<std::string>()->required(), "dataset file written by trd data")
      ("knowledge", po::value<std::string>()->required(),
       "the teacher's knowledge for stage rl: the lists the student trains on")
      ("valid-knowledge", po::value<std::string>()->required(),
       "the same teacher's knowledge for stage valid: picks the best epoch")
      ("out", po::value<std::string>()->required(),
       "run folder: agent.pt, agent.json and train.csv are written there")
      ("seed", po::value<uint64_t>()->default_value(0), "seed of the agent and the user draws");
  // clang-format on
  options.add(env_options())
      .add(agent_choice_options())
      .add(training_options())
      .add(replica_options());
  const auto values =
      parse_with_agent("train", "--dataset FILE --knowledge FILE --valid-knowledge FILE --out DIR [options]",
            options, args);
  if (!values) return kExitOk;
  const auto& v = *values;
  const nlohmann::json sidecar =
      train_into(v, v["dataset"].as<std::string>(), v["knowledge"].as<std::string>(),
                 v["valid-knowledge"].as<std::string>(), v["out"].as<std::string>(),
                 replica_settings(v));
  if (v["json"].as<bool>()) print_json(sidecar);
  return kExitOk;
}

}  // namespace trd::cli
