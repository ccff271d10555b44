#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "data/interactions.hpp"

namespace trd {

/// How to read a delimited text file. With a header, columns are found by
/// name; without one, by position.
struct DelimitedLayout {
  std::string delimiter = ",";
  bool has_header = true;
  std::string user_column = "user";
  std::string item_column = "item";
  std::string rating_column;                    ///< empty: every row has rating 1
  std::string time_column;                      ///< empty: row order is time order
  std::array<int, 4> positions = {0, 1, 2, 3};  ///< user, item, rating, time without a header
};

/// The source formats trd reads; every one may also be gzip-compressed.
enum class SourceFormat {
  kMovieLens100K,    ///< u.data: user \t item \t rating \t timestamp
  kMovieLens1M,      ///< ratings.dat: user::item::rating::timestamp
  kMovieLensLatest,  ///< ratings.csv with header userId,movieId,rating,timestamp
  kAmazon,           ///< JSON lines with reviewerID, asin, overall, unixReviewTime
  kDelimited,        ///< any delimited file described by a DelimitedLayout
  kSequences,        ///< one line per user: user item item ... in time order (SASRec's files)
};

struct LoadedSource {
  Interactions interactions;  ///< rows in file order; dense ids follow sorted raw ids
  std::string content_crc32;  ///< CRC-32 of the decompressed content, 8 hex digits
};

/// CRC-32 of `bytes` as 8 hex digits.
std::string crc32_hex(const std::string& bytes);
/// CRC-32 of a file's raw bytes (gzip files are decompressed first); InputError
/// naming the file when it cannot be read.
std::string file_crc32(const std::string& path);

/// Reads `path`; a malformed line throws InputError naming the file, the line
/// number and what was wrong. `layout` is used only for kDelimited.
LoadedSource load_interactions(const std::string& path, SourceFormat format,
                               const DelimitedLayout& layout = {});

/// The file name a dataset keeps its interactions in (u.data, ratings.dat, ...).
std::string default_file_name(SourceFormat format);

}  // namespace trd
