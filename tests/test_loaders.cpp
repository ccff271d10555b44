// Tests for data/loaders: every source format on a tiny hand-written fixture
// whose dense ids, raw ids, ratings and timestamps are worked out by hand in
// the comments, plus the errors a malformed file must produce.
//
// Fixtures live in tests/fixtures/loaders/. Files that would be binary (gzip)
// or exist only to be broken are written at test time into a temporary folder.

#include <zlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "data/error.hpp"
#include "data/interactions.hpp"
#include "data/loaders.hpp"

namespace trd {
namespace {

using Catch::Contains;
using Catch::Matches;

std::string fixture(const std::string& name) {
  return std::string(TRD_FIXTURES_DIR) + "/loaders/" + name;
}

// Binary mode on both sides: the CRC and the CRLF tests depend on exact bytes.
std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

void write_gzip(const std::string& path, const std::string& content) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  const int written = gzwrite(file, content.data(), static_cast<unsigned>(content.size()));
  const int closed = gzclose(file);
  REQUIRE(written == static_cast<int>(content.size()));
  REQUIRE(closed == Z_OK);
}

std::string to_crlf(const std::string& content) {
  std::string out;
  for (char c : content) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// A fresh folder under the system temp dir, removed with everything in it when
// the test ends (also when a REQUIRE fails), so runs never see each other's files.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device random;
    const auto base = std::filesystem::temp_directory_path();
    do {
      path_ =
          base / ("trd_test_loaders_" + std::to_string(random()) + "_" + std::to_string(counter++));
    } while (!std::filesystem::create_directory(path_));
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string path(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    write_bytes(path(name), content);
    return path(name);
  }

 private:
  std::filesystem::path path_;
};

// The message of the InputError that loading `path` throws. Any other
// exception type escapes and fails the test: apps/ maps only InputError to
// "bad input" (exit 2). A load that succeeds returns a text no message check
// accepts, so the check fails and shows why, and a loop over inputs goes on.
std::string input_error_message(const std::string& path, SourceFormat format,
                                const DelimitedLayout& layout = {}) {
  try {
    load_interactions(path, format, layout);
  } catch (const InputError& error) {
    return error.what();
  }
  return "<loaded without throwing trd::InputError>";
}

// "path:N:" is how the loader names line N of a file, as compilers do.
std::string at_line(const std::string& path, int line) {
  return path + ":" + std::to_string(line) + ":";
}

DelimitedLayout shop_layout() {
  DelimitedLayout layout;
  layout.delimiter = ";";
  layout.has_header = true;
  layout.user_column = "customer";
  layout.item_column = "product";
  layout.rating_column = "stars";
  layout.time_column = "when";
  return layout;
}

// A comma-separated file with a "user,item" header, for raw-id tests.
DelimitedLayout user_item_layout() {
  DelimitedLayout layout;
  layout.delimiter = ",";
  layout.has_header = true;
  layout.user_column = "user";
  layout.item_column = "item";
  return layout;
}

// ---------------------------------------------------------------- formats --

TEST_CASE("MovieLens-100K u.data: tab-separated, dense ids follow numeric raw ids", "[loaders]") {
  const std::string path = fixture("ml100k_u.data");
  const LoadedSource source = load_interactions(path, SourceFormat::kMovieLens100K);
  const Interactions& data = source.interactions;

  // Raw users 10, 2, 7 -> sorted 2, 7, 10 -> dense 0, 1, 2.
  REQUIRE(data.users.is_integer());
  CHECK(data.users.integers == std::vector<int64_t>{2, 7, 10});
  // Raw items 242, 31, 5, 1000 sort numerically to 5, 31, 242, 1000; sorted
  // as text they would be "1000", "242", "31", "5".
  REQUIRE(data.items.is_integer());
  CHECK(data.items.integers == std::vector<int64_t>{5, 31, 242, 1000});

  // Rows stay in file order: (10,242) (2,31) (7,242) (10,5) (2,1000) (7,31)
  // (10,1000) (2,5).
  CHECK(data.table.user == std::vector<int32_t>{2, 0, 1, 2, 0, 1, 2, 0});
  CHECK(data.table.item == std::vector<int32_t>{2, 1, 2, 0, 3, 1, 3, 0});
  CHECK(data.table.rating == std::vector<float>{3, 4, 5, 1, 2, 4, 5, 3});
  CHECK(data.table.timestamp == std::vector<int64_t>{881250949, 891717742, 878887116, 880606923,
                                                     886397596, 884182806, 881251000, 881250949});
  CHECK(data.n_users() == 3);
  CHECK(data.n_items() == 4);
  CHECK(data.users.to_string(2) == "10");

  // python3 -c "import zlib;print('%08x'%zlib.crc32(open('ml100k_u.data','rb').read()))"
  CHECK(source.content_crc32 == "80c0575f");
}

TEST_CASE("MovieLens-1M ratings.dat: '::'-separated", "[loaders]") {
  const LoadedSource source =
      load_interactions(fixture("ml1m_ratings.dat"), SourceFormat::kMovieLens1M);
  const Interactions& data = source.interactions;

  // Raw users 1, 6040, 9 -> sorted 1, 9, 6040; raw items 1193, 661, 3 ->
  // sorted 3, 661, 1193.
  REQUIRE(data.users.is_integer());
  CHECK(data.users.integers == std::vector<int64_t>{1, 9, 6040});
  REQUIRE(data.items.is_integer());
  CHECK(data.items.integers == std::vector<int64_t>{3, 661, 1193});

  // Rows: (1,1193) (1,661) (6040,1193) (6040,3) (9,661) (9,3).
  CHECK(data.table.user == std::vector<int32_t>{0, 0, 2, 2, 1, 1});
  CHECK(data.table.item == std::vector<int32_t>{2, 1, 2, 0, 1, 0});
  CHECK(data.table.rating == std::vector<float>{5, 3, 4, 1, 2, 5});
  CHECK(data.table.timestamp ==
        std::vector<int64_t>{978300760, 978302109, 956703932, 956704056, 978301777, 978301968});
  // python3 zlib.crc32 of the fixture file, as for u.data.
  CHECK(source.content_crc32 == "5908d190");
}

// The expectations for ml_latest_ratings.csv, shared by the LF and CRLF tests.
void check_ml_latest(const Interactions& data) {
  // Raw users 1, 3, 12 sort numerically (as text "12" would come before "3");
  // raw items 296, 1196, 110 -> sorted 110, 296, 1196 (as text: 110, 1196, 296).
  REQUIRE(data.users.is_integer());
  CHECK(data.users.integers == std::vector<int64_t>{1, 3, 12});
  REQUIRE(data.items.is_integer());
  CHECK(data.items.integers == std::vector<int64_t>{110, 296, 1196});

  // Rows: (1,296) (1,1196) (3,296) (12,110) (3,110) (12,1196).
  CHECK(data.table.user == std::vector<int32_t>{0, 0, 1, 2, 1, 2});
  CHECK(data.table.item == std::vector<int32_t>{1, 2, 1, 0, 0, 2});
  // Half stars are exact in float, so exact comparison is right.
  CHECK(data.table.rating == std::vector<float>{5.0f, 3.5f, 0.5f, 4.0f, 2.5f, 4.5f});
  CHECK(data.table.timestamp == std::vector<int64_t>{1147880044, 1147868817, 1439474476, 1467953855,
                                                     1439474391, 1467954000});
}

TEST_CASE("MovieLens latest ratings.csv: header, half-star ratings", "[loaders]") {
  const LoadedSource source =
      load_interactions(fixture("ml_latest_ratings.csv"), SourceFormat::kMovieLensLatest);
  check_ml_latest(source.interactions);
  // python3 zlib.crc32 of the fixture file.
  CHECK(source.content_crc32 == "d9c48f83");
}

TEST_CASE("MovieLens latest ratings.csv with CRLF line ends", "[loaders]") {
  // Files saved on Windows end lines with \r\n; a \r left on the last field
  // would make every timestamp "not an integer".
  TempDir dir;
  const std::string path =
      dir.write("ratings.csv", to_crlf(read_bytes(fixture("ml_latest_ratings.csv"))));
  const LoadedSource source = load_interactions(path, SourceFormat::kMovieLensLatest);
  check_ml_latest(source.interactions);
  // The checksum covers the bytes as they are, \r included: python3
  // zlib.crc32(data.replace(b'\n', b'\r\n')) of the fixture file.
  CHECK(source.content_crc32 == "ec83171e");
}

// The expectations for amazon_reviews.json, shared by the plain and gzip tests.
void check_amazon(const Interactions& data) {
  // Reviewer ids are strings, sorted as text: "A1D87F6ZCVE5NK" < "A2SUAM1J3GNN3B"
  // < "AVP0HXC9FG790" ('1' < '2' < 'V').
  REQUIRE_FALSE(data.users.is_integer());
  CHECK(data.users.strings ==
        std::vector<std::string>{"A1D87F6ZCVE5NK", "A2SUAM1J3GNN3B", "AVP0HXC9FG790"});
  // One asin is all digits, but the others are not, so all stay strings and
  // the leading zeros survive: "0000013714" < "B00005N7P0" < "B0002KVQBA".
  REQUIRE_FALSE(data.items.is_integer());
  CHECK(data.items.strings == std::vector<std::string>{"0000013714", "B00005N7P0", "B0002KVQBA"});

  // Rows: (A2SU,0000013714) (A1D8,B00005N7P0) (AVP0,B0002KVQBA)
  // (A1D8,0000013714) (A2SU,B0002KVQBA) (AVP0,B00005N7P0). Keys come in any
  // order and extra keys (reviewText, style, image, ...) are ignored.
  CHECK(data.table.user == std::vector<int32_t>{1, 0, 2, 0, 1, 2});
  CHECK(data.table.item == std::vector<int32_t>{0, 1, 2, 0, 2, 1});
  // Row 4 has "overall": 3, a JSON integer; it is a rating all the same.
  CHECK(data.table.rating == std::vector<float>{5, 4, 1, 3, 2, 5});
  CHECK(data.table.timestamp == std::vector<int64_t>{1252800000, 1388620800, 1400000000, 1388707200,
                                                     1262304000, 1400086400});
}

TEST_CASE("Amazon JSON lines: string ids sorted as text, other keys ignored", "[loaders]") {
  const LoadedSource source =
      load_interactions(fixture("amazon_reviews.json"), SourceFormat::kAmazon);
  check_amazon(source.interactions);
  // python3 zlib.crc32 of the fixture file.
  CHECK(source.content_crc32 == "edbcaf68");
}

TEST_CASE("Amazon JSON lines, gzip-compressed", "[loaders]") {
  TempDir dir;
  const std::string path = dir.path("reviews.json.gz");
  write_gzip(path, read_bytes(fixture("amazon_reviews.json")));
  const LoadedSource source = load_interactions(path, SourceFormat::kAmazon);
  check_amazon(source.interactions);
  // The checksum is of the decompressed content, so it does not depend on the
  // compression level: the same value as the plain fixture's.
  CHECK(source.content_crc32 == "edbcaf68");
}

TEST_CASE("every format reads gzip; a truncated gzip stream is an error", "[loaders]") {
  TempDir dir;
  const std::string gz = dir.path("u.data.gz");
  const std::string plain = read_bytes(fixture("ml100k_u.data"));
  write_gzip(gz, plain);
  const LoadedSource source = load_interactions(gz, SourceFormat::kMovieLens100K);
  CHECK(source.interactions.table.size() == 8);
  CHECK(source.content_crc32 == "80c0575f");  // as the plain u.data

  // An interrupted download: half of the compressed bytes. Loading the rows
  // that happen to decompress would silently give a smaller dataset.
  const std::string compressed = read_bytes(gz);
  const std::string cut = dir.write("cut.data.gz", compressed.substr(0, compressed.size() / 2));
  CHECK_THAT(input_error_message(cut, SourceFormat::kMovieLens100K),
             Contains(cut) && Contains("truncated"));
}

TEST_CASE("generic delimited: named columns in any order, extra columns ignored", "[loaders]") {
  const LoadedSource source =
      load_interactions(fixture("delimited_shop.csv"), SourceFormat::kDelimited, shop_layout());
  const Interactions& data = source.interactions;

  // Header: when;product;channel;customer;stars;note. Users alice, bob, carol
  // -> 0, 1, 2; items sorted as text: "p-17" < "p-3" < "p-9".
  REQUIRE_FALSE(data.users.is_integer());
  CHECK(data.users.strings == std::vector<std::string>{"alice", "bob", "carol"});
  REQUIRE_FALSE(data.items.is_integer());
  CHECK(data.items.strings == std::vector<std::string>{"p-17", "p-3", "p-9"});

  // Rows: (carol,p-17) (alice,p-3) (bob,p-17) (carol,p-3) (alice,p-9). Rows
  // whose last column is empty ("...;5;") still parse.
  CHECK(data.table.user == std::vector<int32_t>{2, 0, 1, 2, 0});
  CHECK(data.table.item == std::vector<int32_t>{0, 1, 0, 1, 2});
  CHECK(data.table.rating == std::vector<float>{4, 5, 2, 3, 1});
  CHECK(data.table.timestamp ==
        std::vector<int64_t>{1700000300, 1700000100, 1700000200, 1700000400, 1700000500});
  // python3 zlib.crc32 of the fixture file.
  CHECK(source.content_crc32 == "c78a3b40");
}

TEST_CASE("generic delimited without a rating column: every rating is 1", "[loaders]") {
  DelimitedLayout layout = shop_layout();
  layout.rating_column.clear();
  const Interactions data =
      load_interactions(fixture("delimited_shop.csv"), SourceFormat::kDelimited, layout)
          .interactions;
  CHECK(data.table.rating == std::vector<float>{1, 1, 1, 1, 1});
  // The other columns are read as before.
  CHECK(data.table.user == std::vector<int32_t>{2, 0, 1, 2, 0});
  CHECK(data.table.timestamp.front() == 1700000300);
}

TEST_CASE("generic delimited without a time column: timestamps are the row order", "[loaders]") {
  DelimitedLayout layout = shop_layout();
  layout.time_column.clear();
  const Interactions data =
      load_interactions(fixture("delimited_shop.csv"), SourceFormat::kDelimited, layout)
          .interactions;
  // 0, 1, 2, ... counts data rows, not file lines (the header is line 1).
  CHECK(data.table.timestamp == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(data.table.rating == std::vector<float>{4, 5, 2, 3, 1});
}

TEST_CASE("generic delimited without a header: columns by position", "[loaders]") {
  TempDir dir;
  // Columns: item|time|user|rating. A blank line is skipped, not a row, so it
  // does not take a row-order timestamp.
  const std::string path = dir.write("log.txt",
                                     "b|500|u2|2.5\n"
                                     "a|100|u1|4\n"
                                     "\n"
                                     "b|300|u1|1\n");
  DelimitedLayout layout;
  layout.delimiter = "|";
  layout.has_header = false;
  layout.positions = {2, 0, 3, 1};  // user, item, rating, time
  layout.rating_column = "rating";  // without a header only "non-empty" matters

  SECTION("with a time column") {
    layout.time_column = "time";
    const Interactions data =
        load_interactions(path, SourceFormat::kDelimited, layout).interactions;
    CHECK(data.users.strings == std::vector<std::string>{"u1", "u2"});
    CHECK(data.items.strings == std::vector<std::string>{"a", "b"});
    CHECK(data.table.user == std::vector<int32_t>{1, 0, 0});
    CHECK(data.table.item == std::vector<int32_t>{1, 0, 1});
    CHECK(data.table.rating == std::vector<float>{2.5f, 4, 1});
    CHECK(data.table.timestamp == std::vector<int64_t>{500, 100, 300});
  }
  SECTION("without a time column") {
    layout.time_column.clear();
    const Interactions data =
        load_interactions(path, SourceFormat::kDelimited, layout).interactions;
    CHECK(data.table.timestamp == std::vector<int64_t>{0, 1, 2});
    CHECK(data.table.rating == std::vector<float>{2.5f, 4, 1});
  }
  SECTION("without a rating column the rating position is ignored") {
    layout.rating_column.clear();
    layout.time_column = "time";
    const Interactions data =
        load_interactions(path, SourceFormat::kDelimited, layout).interactions;
    CHECK(data.table.rating == std::vector<float>{1, 1, 1});
    CHECK(data.table.timestamp == std::vector<int64_t>{500, 100, 300});
  }
}

// ----------------------------------------------------------------- raw ids --

TEST_CASE("integer raw ids sort numerically, negatives first", "[loaders]") {
  TempDir dir;
  const std::string path = dir.write("ids.csv",
                                     "user,item\n"
                                     "9,20\n"
                                     "10,-5\n"
                                     "2,3\n"
                                     "10,20\n");
  const Interactions data =
      load_interactions(path, SourceFormat::kDelimited, user_item_layout()).interactions;
  // Users 9, 10, 2 -> 2, 9, 10 (text order would put "10" first and "9" last).
  REQUIRE(data.users.is_integer());
  CHECK(data.users.integers == std::vector<int64_t>{2, 9, 10});
  CHECK(data.table.user == std::vector<int32_t>{1, 2, 0, 2});
  // Items 20, -5, 3 -> -5, 3, 20.
  REQUIRE(data.items.is_integer());
  CHECK(data.items.integers == std::vector<int64_t>{-5, 3, 20});
  CHECK(data.table.item == std::vector<int32_t>{2, 0, 1, 2});
}

TEST_CASE("integer ids compare as integers; spaces and quotes around ids are not part of them",
          "[loaders]") {
  TempDir dir;
  const std::string path = dir.write("ids.csv",
                                     "user,item\n"
                                     "7,1\n"
                                     "07,2\n"
                                     "10 ,1\n"
                                     "\"10\",3\n");
  const Interactions data =
      load_interactions(path, SourceFormat::kDelimited, user_item_layout()).interactions;
  // "07" is the user 7 (written back as 7), and "10 " and "\"10\"" the user 10:
  // verbatim they were four users, two of them impostors.
  REQUIRE(data.users.is_integer());
  CHECK(data.users.integers == std::vector<int64_t>{7, 10});
  CHECK(data.table.user == std::vector<int32_t>{0, 0, 1, 1});
  REQUIRE(data.items.is_integer());
  CHECK(data.items.integers == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("text ids are kept as written, less surrounding spaces and quotes", "[loaders]") {
  TempDir dir;
  const std::string path = dir.write("ids.csv",
                                     "user,item\n"
                                     "u07,1\n"
                                     "\"u07\",2\n"
                                     "u7 ,1\n");
  const Interactions data =
      load_interactions(path, SourceFormat::kDelimited, user_item_layout()).interactions;
  REQUIRE_FALSE(data.users.is_integer());
  CHECK(data.users.strings == std::vector<std::string>{"u07", "u7"});
  CHECK(data.table.user == std::vector<int32_t>{0, 0, 1});
}

TEST_CASE("one non-integer raw id makes the whole column strings", "[loaders]") {
  TempDir dir;
  const std::string path = dir.write("ids.csv",
                                     "user,item\n"
                                     "10,1\n"
                                     "u5,1\n"
                                     "9,1\n");
  const Interactions data =
      load_interactions(path, SourceFormat::kDelimited, user_item_layout()).interactions;
  // Text order: "10" < "9" < "u5".
  REQUIRE_FALSE(data.users.is_integer());
  CHECK(data.users.strings == std::vector<std::string>{"10", "9", "u5"});
  CHECK(data.table.user == std::vector<int32_t>{0, 2, 1});
}

// ---------------------------------------------------------------- checksum --

TEST_CASE("content_crc32 is 8 lowercase hex digits, zero-padded", "[loaders]") {
  TempDir dir;
  // python3: '%08x' % zlib.crc32(b'1\t1\t1\t363\n') == '0017d521' -- found by
  // searching timestamps for a CRC below 0x01000000, so the padding shows.
  const std::string path = dir.write("u.data", "1\t1\t1\t363\n");
  const LoadedSource source = load_interactions(path, SourceFormat::kMovieLens100K);
  CHECK_THAT(source.content_crc32, Matches("[0-9a-f]{8}"));
  CHECK(source.content_crc32 == "0017d521");
}

TEST_CASE("default file names", "[loaders]") {
  CHECK(default_file_name(SourceFormat::kMovieLens100K) == "u.data");
  CHECK(default_file_name(SourceFormat::kMovieLens1M) == "ratings.dat");
  CHECK(default_file_name(SourceFormat::kMovieLensLatest) == "ratings.csv");
}

// ----------------------------------------------------------- bad input -----

TEST_CASE("truncated line: too few fields", "[loaders][errors]") {
  TempDir dir;
  SECTION("u.data") {
    const std::string path = dir.write("u.data",
                                       "10\t242\t3\t881250949\n"
                                       "2\t31\t4\t891717742\n"
                                       "7\t242\t5\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLens100K),
               Contains(at_line(path, 3)) && Contains("expected at least 4 fields") &&
                   Contains("found 3"));
  }
  SECTION("ratings.dat, where a single ':' is not a delimiter") {
    const std::string path = dir.write("ratings.dat",
                                       "1::1193::5::978300760\n"
                                       "6040::1193:4::956703932\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLens1M),
               Contains(at_line(path, 2)) && Contains("expected at least 4 fields") &&
                   Contains("found 3"));
  }
  SECTION("ratings.csv") {
    const std::string path = dir.write("ratings.csv",
                                       "userId,movieId,rating,timestamp\n"
                                       "1,296,5.0,1147880044\n"
                                       "1,1196\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLensLatest),
               Contains(at_line(path, 3)) && Contains("expected at least 4 fields") &&
                   Contains("found 2"));
  }
}

TEST_CASE("line numbers count blank lines and survive CRLF", "[loaders][errors]") {
  TempDir dir;
  // The bad row is on line 4 of the file; a count of non-empty lines would say 3.
  const std::string path = dir.write("u.data", to_crlf("10\t242\t3\t881250949\n"
                                                       "\n"
                                                       "2\t31\t4\t891717742\n"
                                                       "7\t242\tfive\t878887116\n"));
  CHECK_THAT(input_error_message(path, SourceFormat::kMovieLens100K),
             Contains(at_line(path, 4)) && Contains("rating 'five'"));
}

TEST_CASE("non-numeric rating", "[loaders][errors]") {
  TempDir dir;
  const std::string path = dir.write("u.data",
                                     "10\t242\t3\t881250949\n"
                                     "2\t31\tfour\t891717742\n");
  CHECK_THAT(
      input_error_message(path, SourceFormat::kMovieLens100K),
      Contains(at_line(path, 2)) && Contains("rating 'four'") && Contains("not a finite number"));
}

TEST_CASE("NaN and infinite ratings", "[loaders][errors]") {
  TempDir dir;
  // NaN compares false with everything, so a --min-rating filter would drop
  // such a row without a trace, and an infinite rating would swamp any graded
  // reward: both must stop the load instead.
  const std::string head = "userId,movieId,rating,timestamp\n1,296,5.0,1147880044\n";
  // 1e300 is a finite double but overflows the stored float.
  for (const std::string rating : {"nan", "NaN", "inf", "-inf", "1e300"}) {
    CAPTURE(rating);
    const std::string content = head + "1,1196," + rating + ",1147868817\n";
    const std::string path = dir.write("ratings.csv", content);
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLensLatest),
               Contains(at_line(path, 3)) && Contains("rating '" + rating + "'") &&
                   Contains("not a finite number"));
  }
}

TEST_CASE("non-integer timestamp", "[loaders][errors]") {
  TempDir dir;
  SECTION("fractional") {
    const std::string path = dir.write("ratings.dat",
                                       "1::1193::5::978300760\n"
                                       "1::661::3::978302109.5\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLens1M),
               Contains(at_line(path, 2)) && Contains("timestamp '978302109.5'") &&
                   Contains("not an integer"));
  }
  SECTION("a word") {
    const std::string path = dir.write("ratings.csv",
                                       "userId,movieId,rating,timestamp\n"
                                       "1,296,5.0,yesterday\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLensLatest),
               Contains(at_line(path, 2)) && Contains("timestamp 'yesterday'") &&
                   Contains("not an integer"));
  }
}

TEST_CASE("empty user or item id", "[loaders][errors]") {
  TempDir dir;
  const std::string path = dir.write("u.data",
                                     "10\t242\t3\t881250949\n"
                                     "\t31\t4\t891717742\n");
  CHECK_THAT(input_error_message(path, SourceFormat::kMovieLens100K),
             Contains(at_line(path, 2)) && Contains("empty user or item id"));
}

TEST_CASE("header without a required column names the column", "[loaders][errors]") {
  TempDir dir;
  SECTION("ratings.csv without 'rating'") {
    const std::string path = dir.write("ratings.csv",
                                       "userId,movieId,timestamp\n"
                                       "1,296,1147880044\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLensLatest),
               Contains(at_line(path, 1)) && Contains("no column 'rating'"));
  }
  SECTION("delimited layout naming a column the file lacks") {
    DelimitedLayout layout = shop_layout();
    layout.user_column = "client";
    const std::string path = fixture("delimited_shop.csv");
    CHECK_THAT(input_error_message(path, SourceFormat::kDelimited, layout),
               Contains(at_line(path, 1)) && Contains("no column 'client'") &&
                   Contains("customer"));  // the columns it does have, to spot typos
  }
}

TEST_CASE("header errors name the header's own line; a byte-order mark is ignored",
          "[loaders][errors]") {
  TempDir dir;
  const std::string late = dir.write("late.csv", "\n\nuserId,movieId,timestamp\n1,296,1\n");
  CHECK_THAT(input_error_message(late, SourceFormat::kMovieLensLatest),
             Contains(at_line(late, 3)) && Contains("no column 'rating'"));
  const std::string bom =
      dir.write("bom.csv", "\xEF\xBB\xBFuserId,movieId,rating,timestamp\n1,296,4.5,7\n");
  const Interactions data = load_interactions(bom, SourceFormat::kMovieLensLatest).interactions;
  CHECK(data.users.integers == std::vector<int64_t>{1});
  CHECK(data.table.rating == std::vector<float>{4.5f});
}

TEST_CASE("a layout must name the user and item columns", "[loaders][errors]") {
  DelimitedLayout layout = shop_layout();
  layout.item_column = "";
  const std::string path = fixture("delimited_shop.csv");
  CHECK_THAT(input_error_message(path, SourceFormat::kDelimited, layout),
             Contains(path) && Contains("must name the user and the item column"));
  layout = shop_layout();
  layout.has_header = false;
  layout.positions[0] = -1;
  CHECK_THAT(input_error_message(path, SourceFormat::kDelimited, layout),
             Contains("must name the user and the item column"));
}

TEST_CASE("Amazon line without a required key", "[loaders][errors]") {
  TempDir dir;
  const std::string good =
      "{\"reviewerID\": \"A1\", \"asin\": \"B1\", \"overall\": 5.0, \"unixReviewTime\": 1}\n";
  // The full review with one key left out.
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"reviewerID", "{\"asin\": \"B2\", \"overall\": 4.0, \"unixReviewTime\": 2}"},
      {"asin", "{\"reviewerID\": \"A2\", \"overall\": 4.0, \"unixReviewTime\": 2}"},
      {"overall", "{\"reviewerID\": \"A2\", \"asin\": \"B2\", \"unixReviewTime\": 2}"},
      {"unixReviewTime", "{\"reviewerID\": \"A2\", \"asin\": \"B2\", \"overall\": 4.0}"},
  };
  for (const auto& [key, line] : lines) {
    CAPTURE(key);
    const std::string path = dir.write("reviews.json", good + line + "\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kAmazon),
               Contains(at_line(path, 2)) && Contains("missing '" + key + "'"));
  }
}

TEST_CASE("Amazon line with wrongly typed values", "[loaders][errors]") {
  TempDir dir;
  SECTION("numeric reviewerID") {
    const std::string path = dir.write(
        "reviews.json",
        "{\"reviewerID\": 17, \"asin\": \"B1\", \"overall\": 5.0, \"unixReviewTime\": 1}\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kAmazon),
               Contains(at_line(path, 1)) && Contains("must be non-empty strings"));
  }
  SECTION("rating as a string") {
    const std::string path = dir.write(
        "reviews.json",
        "{\"reviewerID\": \"A1\", \"asin\": \"B1\", \"overall\": \"5\", \"unixReviewTime\": 1}\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kAmazon),
               Contains(at_line(path, 1)) && Contains("'overall'"));
  }
  SECTION("empty asin") {
    const std::string path = dir.write(
        "reviews.json",
        "{\"reviewerID\": \"A1\", \"asin\": \"\", \"overall\": 5.0, \"unixReviewTime\": 1}\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kAmazon),
               Contains(at_line(path, 1)) && Contains("must be non-empty strings"));
  }
  SECTION("unixReviewTime beyond int64") {
    const std::string path =
        dir.write("reviews.json",
                  "{\"reviewerID\": \"A1\", \"asin\": \"B1\", \"overall\": 5.0, "
                  "\"unixReviewTime\": 18446744073709551615}\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kAmazon),
               Contains(at_line(path, 1)) && Contains("'unixReviewTime' is not an integer"));
  }
  SECTION("fractional unixReviewTime") {
    const std::string path = dir.write(
        "reviews.json",
        "{\"reviewerID\": \"A1\", \"asin\": \"B1\", \"overall\": 5.0, \"unixReviewTime\": 1.5}\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kAmazon),
               Contains(at_line(path, 1)) && Contains("'unixReviewTime' is not an integer"));
  }
}

TEST_CASE("Amazon line that is not valid JSON", "[loaders][errors]") {
  TempDir dir;
  // Line 3 is cut off mid-object, as in a partial download.
  const std::string path = dir.write(
      "reviews.json",
      "{\"reviewerID\": \"A1\", \"asin\": \"B1\", \"overall\": 5.0, \"unixReviewTime\": 1}\n"
      "{\"reviewerID\": \"A2\", \"asin\": \"B1\", \"overall\": 3.0, \"unixReviewTime\": 2}\n"
      "{\"reviewerID\": \"A3\", \"asin\": \"B2\", \"overall\": 4.0, \"unixRevi\n");
  CHECK_THAT(input_error_message(path, SourceFormat::kAmazon),
             Contains(at_line(path, 3)) && Contains("not a JSON object"));

  // Valid JSON that is not an object is no review either.
  const std::string array = dir.write(
      "array.json",
      "{\"reviewerID\": \"A1\", \"asin\": \"B1\", \"overall\": 5.0, \"unixReviewTime\": 1}\n"
      "[\"A2\", \"B1\", 3.0, 2]\n");
  CHECK_THAT(input_error_message(array, SourceFormat::kAmazon),
             Contains(at_line(array, 2)) && Contains("not a JSON object"));
}

TEST_CASE("missing file", "[loaders][errors]") {
  TempDir dir;
  const std::string path = dir.path("absent_u.data");
  CHECK_THAT(input_error_message(path, SourceFormat::kMovieLens100K),
             Contains(path) && Contains("no such file"));
}

TEST_CASE("a directory instead of a file", "[loaders][errors]") {
  TempDir dir;
  CHECK_THAT(input_error_message(dir.path(), SourceFormat::kMovieLens100K),
             Contains(dir.path()) && Contains("directory"));
}

TEST_CASE("empty file", "[loaders][errors]") {
  TempDir dir;
  // Whatever the exact wording, the message names the file and says that it
  // holds nothing; an empty dataset must not flow on into splits and teachers.
  // (The matchers are written out each time: Catch2 v2 combined matchers keep
  // pointers to their parts, so a stored combination would dangle.)
  SECTION("u.data") {
    const std::string path = dir.write("u.data", "");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLens100K),
               Contains(path) && (Contains("empty") || Contains("no interactions")));
  }
  SECTION("ratings.csv") {
    const std::string path = dir.write("ratings.csv", "");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLensLatest),
               Contains(path) && (Contains("empty") || Contains("no interactions")));
  }
  SECTION("ratings.csv with only a header") {
    const std::string path = dir.write("ratings.csv", "userId,movieId,rating,timestamp\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLensLatest),
               Contains(path) && (Contains("empty") || Contains("no interactions")));
  }
  SECTION("Amazon, blank lines only") {
    const std::string path = dir.write("reviews.json", "\n\r\n\n");
    CHECK_THAT(input_error_message(path, SourceFormat::kAmazon),
               Contains(path) && (Contains("empty") || Contains("no interactions")));
  }
  SECTION("gzip of nothing") {
    const std::string path = dir.path("u.data.gz");
    write_gzip(path, "");
    CHECK_THAT(input_error_message(path, SourceFormat::kMovieLens100K),
               Contains(path) && (Contains("empty") || Contains("no interactions")));
  }
}

}  // namespace

// --------------------------------------------------------------- sequences --

TEST_CASE("sequences: one line per user, order gives the time, every item a positive",
          "[loaders]") {
  TempDir dir;
  const std::string path = dir.write("seq.txt",
                                     "1 5 3 5\n"
                                     "\n"
                                     "2\t3  7\r\n"
                                     " 10 7\n");
  const Interactions data = load_interactions(path, SourceFormat::kSequences).interactions;
  REQUIRE(data.users.is_integer());
  CHECK(data.users.integers == std::vector<int64_t>{1, 2, 10});
  CHECK(data.items.integers == std::vector<int64_t>{3, 5, 7});
  CHECK(data.table.user == std::vector<int32_t>{0, 0, 0, 1, 1, 2});
  CHECK(data.table.item == std::vector<int32_t>{1, 0, 1, 0, 2, 2});
  CHECK(data.table.timestamp == std::vector<int64_t>{0, 1, 2, 0, 1, 0});
  CHECK(data.table.rating == std::vector<float>{1, 1, 1, 1, 1, 1});
}

TEST_CASE("sequences: a user without items or on two lines names the file and line",
          "[loaders]") {
  TempDir dir;
  const std::string lonely = dir.write("lonely.txt", "1 2 3\n4\n");
  CHECK_THAT(input_error_message(lonely, SourceFormat::kSequences),
             Catch::Contains(lonely + ":2") && Catch::Contains("user '4' has no items"));
  const std::string twice = dir.write("twice.txt", "1 2 3\n2 3\n1 4\n");
  CHECK_THAT(input_error_message(twice, SourceFormat::kSequences),
             Catch::Contains(twice + ":3") && Catch::Contains("already has line 1"));
  const std::string blank = dir.write("blank.txt", "\n  \n");
  CHECK_THAT(input_error_message(blank, SourceFormat::kSequences),
             Catch::Contains("no interactions"));
}

}  // namespace trd
