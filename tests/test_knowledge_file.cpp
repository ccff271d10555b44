#include <H5Cpp.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "data/error.hpp"
#include "data/hdf5_io.hpp"
#include "data/knowledge.hpp"

namespace trd {
namespace {

namespace fs = std::filesystem;

std::string scratch_file(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trd-knowledge-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

// 3 users, 5 items, lists of length 3 (user 2's list is one item short).
Knowledge small_knowledge(bool with_embeddings) {
  Knowledge k;
  k.teacher = with_embeddings ? "bprmf" : "mostpop";
  k.dataset = "tiny";
  k.dataset_fingerprint = "01234567";
  k.stage = "rl";
  k.n_users = 3;
  k.n_items = 5;
  k.ranking_items.resize(3, 3);
  k.ranking_items << 4, 1, 0,  //
      2, 3, 4,                 //
      0, 2, -1;
  k.ranking_scores.resize(3, 3);
  const float pad = -std::numeric_limits<float>::infinity();
  k.ranking_scores << 0.9f, 0.5f, 0.5f,  //
      2.0f, 1.0f, -3.0f,                 //
      7.0f, 6.0f, pad;
  if (with_embeddings) {
    k.user_embeddings = RowMatrixXf::Random(3, 2);
    k.item_embeddings = RowMatrixXf::Random(5, 2);
    k.teacher_state["net/layer.0/weight"] = RowMatrixXf::Random(2, 4);
    k.teacher_state["bias"] = RowMatrixXf::Random(1, 4);
  }
  return k;
}

TEST_CASE("knowledge files round-trip, with and without embeddings", "[knowledge]") {
  for (bool with_embeddings : {true, false}) {
    const Knowledge original = small_knowledge(with_embeddings);
    const std::string path = scratch_file("k.h5");
    write_knowledge(original, path);
    const Knowledge read = read_knowledge(path);
    CHECK(read.teacher == original.teacher);
    CHECK(read.dataset == original.dataset);
    CHECK(read.dataset_fingerprint == original.dataset_fingerprint);
    CHECK(read.stage == original.stage);
    CHECK(read.n_users == 3);
    CHECK(read.n_items == 5);
    CHECK(read.dim() == (with_embeddings ? 2 : 0));
    CHECK(read.ranking_items == original.ranking_items);
    CHECK(read.ranking_scores == original.ranking_scores);
    CHECK(read.user_embeddings == original.user_embeddings);
    CHECK(read.item_embeddings == original.item_embeddings);
    REQUIRE(read.teacher_state.size() == original.teacher_state.size());
    for (const auto& [name, value] : original.teacher_state)
      CHECK(read.teacher_state.at(name) == value);
  }
}

// Writes a valid file, lets `damage` edit it, returns read_knowledge's message.
std::string read_error_after(const std::function<void(H5::H5File&)>& damage) {
  const std::string path = scratch_file("damaged.h5");
  write_knowledge(small_knowledge(true), path);
  {
    H5::H5File file(path, H5F_ACC_RDWR);
    damage(file);
  }
  try {
    read_knowledge(path);
  } catch (const InputError& error) {
    CHECK_THAT(error.what(), Catch::Contains(path));
    return error.what();
  }
  FAIL("read_knowledge accepted a damaged file");
  return "";
}

template <typename T>
void overwrite(H5::H5File& file, const std::string& name, const std::vector<T>& values) {
  file.openDataSet(name).write(values.data(), hdf5::Types<T>::memory());
}

TEST_CASE("the writer refuses what the reader would refuse, and writes no file", "[knowledge]") {
  const std::string path = scratch_file("refused.h5");
  fs::remove(path);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::pair<std::function<void(Knowledge&)>, std::string>> damages = {
      {[&](Knowledge& k) { k.user_embeddings(1, 1) = nan; }, "/user_embeddings[1, 1] is nan"},
      {[&](Knowledge& k) {
         k.item_embeddings(4, 0) = std::numeric_limits<float>::infinity();
       },
       "/item_embeddings[4, 0] is inf"},
      {[&](Knowledge& k) { k.ranking_scores(0, 1) = nan; }, "/ranking/scores[0, 1] is nan"},
      {[&](Knowledge& k) { k.ranking_scores(1, 2) = 5.0f; }, "not sorted best first"},
      {[&](Knowledge& k) { k.teacher_state["bias"](0, 3) = nan; }, "/teacher_state/bias"},
  };
  for (const auto& [damage, message] : damages) {
    Knowledge k = small_knowledge(true);
    damage(k);
    CHECK_THROWS_WITH(write_knowledge(k, path),
                      Catch::Contains(path + " (not written)") && Catch::Contains(message));
    CHECK_FALSE(fs::exists(path));
  }
}

TEST_CASE("knowledge reading validates every promise of the format", "[knowledge]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THAT(read_error_after([&](H5::H5File& f) {
               overwrite<float>(f, "/item_embeddings", {0, 0, 0, nan, 0, 0, 0, 0, 0, 0});
             }),
             Catch::Contains("/item_embeddings[1, 1] is nan"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               overwrite<int32_t>(f, "/ranking/items", {4, 1, 0, 2, 3, 4, 0, 5, -1});
             }),
             Catch::Contains("/ranking/items[2, 1] = 5 is outside [0, n_items = 5)"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               overwrite<int32_t>(f, "/ranking/items", {4, 1, 4, 2, 3, 4, 0, 2, -1});
             }),
             Catch::Contains("repeats item 4"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               overwrite<int32_t>(f, "/ranking/items", {4, 1, 0, 2, -1, 4, 0, 2, -1});
             }),
             Catch::Contains("/ranking/items[1, 2] follows -1 padding"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               overwrite<float>(f, "/ranking/scores", {0.9f, 0.95f, 0.5f, 2, 1, -3, 7, 6, 0});
             }),
             Catch::Contains("row 0 is not sorted best first"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               f.unlink("/user_embeddings");
               hdf5::write_array(f, "user_embeddings", std::vector<float>(4 * 2), /*cols=*/2);
             }),
             Catch::Contains("/user_embeddings has shape [4, 2], expected [3, 2]"));
  CHECK_THAT(read_error_after([](H5::H5File& f) { f.unlink("/user_embeddings"); }),
             Catch::Contains("only one of /user_embeddings and /item_embeddings"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               f.unlink("/ranking/scores");
               H5::Group ranking = f.openGroup("/ranking");
               hdf5::write_array(ranking, "scores", std::vector<float>(3 * 2), /*cols=*/2);
             }),
             Catch::Contains("/ranking/scores has shape [3, 2], expected [3, 3]"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               f.removeAttr("dim");
               hdf5::write_attribute(f, "dim", int64_t{3});
             }),
             Catch::Contains("expected [3, 3] (n_users x dim)"));
  CHECK_THAT(read_error_after([](H5::H5File& f) { f.unlink("/ranking"); }),
             Catch::Contains("missing group '/ranking'"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               f.removeAttr("format");
               hdf5::write_attribute(f, "format", std::string("trd-dataset"));
             }),
             Catch::Contains("format is 'trd-dataset', expected 'trd-knowledge'"));
}

}  // namespace
}  // namespace trd
