#include "teachers/registry.hpp"

#include "data/error.hpp"
#include "teachers/bprmf.hpp"
#include "teachers/item2vec.hpp"
#include "teachers/itemknn.hpp"
#include "teachers/mostpop.hpp"
#include "teachers/neural/neumf.hpp"
#include "teachers/puresvd.hpp"

namespace trd {

namespace {

[[noreturn]] void unknown_teacher(const std::string& name) {
  throw InputError("--teacher '" + name + "': unknown teacher (expected one of " + kTeacherNames +
                   ")");
}

}  // namespace

TeacherSettings default_settings(const std::string& name) {
  TeacherSettings
      settings;  // BPRMF's defaults are TRD's: 32 factors, lr 0.01, 50 epochs, 4 negatives.
  if (name == "mostpop" || name == "itemknn" || name == "bprmf") return settings;
  if (name == "item2vec") {
    // word2vec's lr and negatives; the window spans a user's whole recent
    // history, as Item2Vec's set context does: MovieLens users rate in
    // bursts, and a 5-item window scored near random (NDCG@10 0.016).
    settings.lr = 0.025f;
    settings.epochs = 10;
    settings.negatives = 5;
    settings.window = 50;
    return settings;
  }
  if (name == "puresvd") {
    settings.epochs = 5;  // power iterations
    return settings;
  }
  if (name == "neumf") {
    // Adam: TRD's lr 0.01 over 50 epochs overfits to MostPop's level on
    // ML-100K; 0.001 for 15 epochs gives the best NDCG@10 we measured.
    settings.lr = 0.001f;
    settings.epochs = 15;
    return settings;
  }
  unknown_teacher(name);
}

std::unique_ptr<Teacher> make_teacher(const std::string& name, const TeacherSettings& settings) {
  if (name == "mostpop") return std::make_unique<MostPop>();
  if (name == "itemknn") return std::make_unique<ItemKnn>(settings);
  if (name == "bprmf") return std::make_unique<BprMf>(settings);
  if (name == "item2vec") return std::make_unique<Item2Vec>(settings);
  if (name == "puresvd") return std::make_unique<PureSvd>(settings);
  if (name == "neumf") return std::make_unique<NeuMf>(settings);
  unknown_teacher(name);
}

}  // namespace trd
