#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/hdf5_io.hpp"

namespace trd {
namespace {

namespace fs = std::filesystem;

// A fresh empty folder per test, removed afterwards.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    path = fs::temp_directory_path() /
           ("trd-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~ScratchDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

Dataset small_dataset(bool string_ids) {
  Dataset dataset;
  if (string_ids) {
    dataset.users.strings = {"alice", "bob", "ünïcode"};
    dataset.items.strings = {"B0001", "B0002"};
  } else {
    dataset.users.integers = {1, 2, 943};
    dataset.items.integers = {10, 1682};
  }
  dataset.splits[kBase].push_back(0, 1, 4.5f, 100);
  dataset.splits[kBase].push_back(2, 0, 1.0f, 101);
  dataset.splits[kRl].push_back(1, 1, 3.0f, 200);
  dataset.splits[kTest].push_back(2, 1, 5.0f, 300);
  dataset.provenance.name = "csv";
  dataset.provenance.source = "somewhere/ratings.csv";
  dataset.provenance.source_crc32 = "0badcafe";
  dataset.provenance.filter = "5core";
  dataset.provenance.min_rating = 3.5;
  dataset.provenance.split_rule = SplitRule::kGlobalTime;
  dataset.provenance.ratios = {0.5, 0.2, 0.1, 0.2};
  dataset.provenance.seed = 42;
  return dataset;
}

void check_same(const Dataset& a, const Dataset& b) {
  CHECK(a.users.integers == b.users.integers);
  CHECK(a.users.strings == b.users.strings);
  CHECK(a.items.integers == b.items.integers);
  CHECK(a.items.strings == b.items.strings);
  for (int s = 0; s < kNumSplits; ++s) {
    CHECK(a.splits[s].user == b.splits[s].user);
    CHECK(a.splits[s].item == b.splits[s].item);
    CHECK(a.splits[s].rating == b.splits[s].rating);
    CHECK(a.splits[s].timestamp == b.splits[s].timestamp);
  }
  CHECK(a.provenance.name == b.provenance.name);
  CHECK(a.provenance.source == b.provenance.source);
  CHECK(a.provenance.source_crc32 == b.provenance.source_crc32);
  CHECK(a.provenance.filter == b.provenance.filter);
  CHECK(a.provenance.min_rating == b.provenance.min_rating);
  CHECK(a.provenance.split_rule == b.provenance.split_rule);
  CHECK(a.provenance.ratios == b.provenance.ratios);
  CHECK(a.provenance.seed == b.provenance.seed);
}

TEST_CASE("dataset files round-trip with integer and string raw ids", "[dataset_file]") {
  ScratchDir dir;
  for (bool string_ids : {false, true}) {
    const Dataset original = small_dataset(string_ids);
    write_dataset(original, dir.file("d.h5"));
    check_same(read_dataset(dir.file("d.h5")), original);
    CHECK(read_file_format(dir.file("d.h5")) == kDatasetFormat);
  }
}

TEST_CASE("a failed write leaves neither the file nor a temporary", "[dataset_file]") {
  ScratchDir dir;
  const std::string path = dir.file("out.h5");
  CHECK_THROWS_WITH(hdf5::write_atomically(path,
                                           [](H5::H5File& file) {
                                             hdf5::write_attribute(file, "format",
                                                                   std::string("x"));
                                             throw std::runtime_error("crash mid-write");
                                           }),
                    "crash mid-write");
  CHECK(fs::is_empty(dir.path));
  CHECK_THROWS_WITH(write_dataset(small_dataset(false), dir.file("missing/out.h5")),
                    Catch::Contains("does not exist"));
}

TEST_CASE("a rewrite replaces the old file whole", "[dataset_file]") {
  ScratchDir dir;
  const std::string path = dir.file("d.h5");
  write_dataset(small_dataset(true), path);
  write_dataset(small_dataset(false), path);
  CHECK(read_dataset(path).users.integers == std::vector<int64_t>{1, 2, 943});
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

// Writes a valid dataset, lets `damage` edit it in place, and returns the
// message read_dataset fails with.
std::string read_error_after(const std::function<void(H5::H5File&)>& damage) {
  ScratchDir dir;
  const std::string path = dir.file("d.h5");
  write_dataset(small_dataset(false), path);
  {
    H5::H5File file(path, H5F_ACC_RDWR);
    damage(file);
  }
  try {
    read_dataset(path);
  } catch (const InputError& error) {
    const std::string message = error.what();
    CHECK_THAT(message, Catch::Contains(path));
    return message;
  }
  FAIL("read_dataset accepted a damaged file");
  return "";
}

TEST_CASE("reading validates format, version, shapes and id ranges", "[dataset_file]") {
  CHECK_THAT(read_error_after([](H5::H5File& f) { f.removeAttr("format"); }),
             Catch::Contains("without a 'format' attribute"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               f.removeAttr("format");
               hdf5::write_attribute(f, "format", std::string("trd-knowledge"));
             }),
             Catch::Contains("format is 'trd-knowledge', expected 'trd-dataset'"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               f.removeAttr("version");
               hdf5::write_attribute(f, "version", int64_t{2});
             }),
             Catch::Contains("version 2 is not supported"));
  CHECK_THAT(read_error_after([](H5::H5File& f) { f.unlink("/splits/valid"); }),
             Catch::Contains("missing group '/splits/valid'"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               const int32_t too_big = 2;  // n_items is 2
               f.openDataSet("/splits/test/item").write(&too_big, H5::PredType::NATIVE_INT32);
             }),
             Catch::Contains("/splits/test/item[0] = 2 is outside [0, 2)"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               f.unlink("/splits/rl/rating");
               H5::Group rl = f.openGroup("/splits/rl");
               hdf5::write_array(rl, "rating", std::vector<float>{1, 2});
             }),
             Catch::Contains("columns of different lengths"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               f.unlink("/splits/base/user");
               H5::Group base = f.openGroup("/splits/base");
               hdf5::write_array(base, "user", std::vector<float>{0, 2});
             }),
             Catch::Contains("'user' has elements of the wrong type"));
  CHECK_THAT(read_error_after([](H5::H5File& f) {
               f.unlink("/items/raw_id");
               H5::Group items = f.openGroup("/items");
               hdf5::write_array(items, "raw_id", std::vector<int64_t>{10, 11, 12});
             }),
             Catch::Contains("/items/raw_id has 3"));
}

TEST_CASE("non-HDF5 and missing files are input errors", "[dataset_file]") {
  ScratchDir dir;
  CHECK_THROWS_WITH(read_dataset(dir.file("absent.h5")), Catch::Contains("no such file"));
  const std::string text = dir.file("text.h5");
  std::ofstream(text) << "user\titem\n";
  CHECK_THROWS_WITH(read_dataset(text), Catch::Contains("not an HDF5 file"));
  // A valid file cut short: the superblock is there, the objects are not.
  const std::string whole = dir.file("whole.h5");
  write_dataset(small_dataset(false), whole);
  const std::string cut = dir.file("cut.h5");
  fs::copy_file(whole, cut);
  fs::resize_file(cut, fs::file_size(whole) / 2);
  CHECK_THROWS_AS(read_dataset(cut), InputError);
}

}  // namespace
}  // namespace trd
