// The conformance suite every teacher passes. Built into the LibTorch test
// binary because the registry names NeuMF.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "data/knowledge.hpp"
#include "data/synthetic.hpp"
#include "teachers/registry.hpp"

namespace trd {
namespace {

const Dataset& small_dataset() {
  static const Dataset dataset = [] {
    SyntheticSettings synthetic;
    synthetic.n_interactions = 2000;
    synthetic.n_users = 60;
    synthetic.n_items = 120;
    synthetic.seed = 11;
    DatasetProvenance provenance;
    provenance.name = "synthetic";
    return make_dataset(generate_synthetic(synthetic), provenance);
  }();
  return dataset;
}

TeacherSettings quick_settings() {
  TeacherSettings settings;
  settings.dim = 8;
  settings.epochs = 4;
  settings.lr = 0.01f;
  settings.neighbours = 20;
  settings.seed = 5;
  return settings;
}

// Fits `name` for `stage` (from `warm_start` when given) and distills lists of
// 30; `first_loss`, when given, receives the loss the first epoch reported.
Knowledge fit_and_distill(const std::string& name, Split stage, const Knowledge* warm_start,
                          int epochs = 4, double* first_loss = nullptr) {
  const Dataset& dataset = small_dataset();
  const TrainingSet data = training_set(dataset, stage);
  TeacherSettings settings = quick_settings();
  settings.epochs = epochs;
  std::unique_ptr<Teacher> teacher = make_teacher(name, settings);
  teacher->fit(data, warm_start, [first_loss](int epoch, int, double loss) {
    if (first_loss != nullptr && epoch == 1) *first_loss = loss;
  });
  return distill(*teacher, name, dataset, stage, data, /*list_length=*/30, nullptr);
}

double distance(const RowMatrixXf& a, const RowMatrixXf& b) { return (a - b).norm() / b.norm(); }

TEST_CASE("every teacher passes the conformance suite", "[teachers]") {
  const Dataset& dataset = small_dataset();
  for (const char* name : {"mostpop", "itemknn", "bprmf", "item2vec", "puresvd", "neumf"}) {
    SECTION(name) {
      const Knowledge rl = fit_and_distill(name, kRl, nullptr);
      // Shapes.
      CHECK(rl.teacher == name);
      CHECK(rl.stage == "rl");
      CHECK(rl.ranking_items.rows() == dataset.n_users());
      CHECK(rl.ranking_items.cols() == 30);
      if (rl.has_embeddings()) {
        CHECK(rl.user_embeddings.rows() == dataset.n_users());
        CHECK(rl.item_embeddings.rows() == dataset.n_items());
        CHECK(rl.user_embeddings.cols() == rl.item_embeddings.cols());
      }
      // Seen items never appear in a list.
      const TrainingSet data = training_set(dataset, kRl);
      int64_t seen_in_lists = 0;
      for (int32_t u = 0; u < dataset.n_users(); ++u) {
        for (const int32_t* it = data.seen.begin(u); it != data.seen.end(u); ++it) {
          seen_in_lists += (rl.ranking_items.row(u).array() == *it).count();
        }
      }
      CHECK(seen_in_lists == 0);
      // The file format's own checks (sorted, in range, finite, no repeats).
      const std::string path = (std::filesystem::temp_directory_path() /
                                ("trd-conformance-" + std::to_string(::getpid()) + ".h5"))
                                   .string();
      write_knowledge(rl, path);
      CHECK_NOTHROW(read_knowledge(path));
      std::filesystem::remove(path);
      // Determinism under a seed.
      const Knowledge again = fit_and_distill(name, kRl, nullptr);
      CHECK(again.ranking_items == rl.ranking_items);
      CHECK(again.ranking_scores == rl.ranking_scores);
      CHECK(again.item_embeddings == rl.item_embeddings);
      // A warm start continues: with no epochs it keeps the earlier state, and
      // its first epoch starts from a lower loss than a fresh fit's. Without
      // embeddings there is nothing to continue, and it equals a fresh fit.
      double warm_loss = 0;
      double fresh_loss = 0;
      const Knowledge warm = fit_and_distill(name, kValid, &rl, /*epochs=*/4, &warm_loss);
      const Knowledge fresh = fit_and_distill(name, kValid, nullptr, /*epochs=*/4, &fresh_loss);
      if (rl.has_embeddings()) {
        // Gradient-trained teachers keep it exactly; PureSVD re-solves within
        // the earlier subspace plus its oversampling columns, so it moves a
        // little.
        const Knowledge kept = fit_and_distill(name, kRl, &rl, /*epochs=*/0);
        CHECK(distance(kept.item_embeddings, rl.item_embeddings) < 0.05);
        CHECK(distance(kept.user_embeddings, rl.user_embeddings) < 0.05);
        CHECK(warm_loss < fresh_loss);
      } else {
        CHECK(warm.ranking_items == fresh.ranking_items);
      }
    }
  }
}

TEST_CASE("an unknown teacher is an input error naming the choices", "[teachers]") {
  CHECK_THROWS_WITH(make_teacher("svd++", {}),
                    Catch::Contains("svd++") && Catch::Contains("bprmf"));
}

}  // namespace
}  // namespace trd
