#include "data/loaders.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "data/error.hpp"

namespace trd {
namespace {

// Reads the whole file through zlib, which passes plain files through
// unchanged, so every format may be gzip-compressed.
std::string read_file_content(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw InputError(path + ": no such file");
  if (std::filesystem::is_directory(path, error)) {
    throw InputError(path + ": is a directory, expected an interactions file");
  }
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw InputError(path + ": cannot be opened for reading");
  gzbuffer(file, 1 << 20);
  std::string content;
  std::vector<char> chunk(1 << 20);
  while (true) {
    const int n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      throw InputError(path + ": cannot be read: " + message);
    }
    if (n == 0) break;
    content.append(chunk.data(), static_cast<std::size_t>(n));
  }
  const bool truncated_gzip = gzclose(file) == Z_BUF_ERROR;
  if (truncated_gzip) throw InputError(path + ": gzip stream is truncated");
  return content;
}

// A raw id as written, less surrounding whitespace and one pair of quotes:
// `1 ` and `"1"` are the id 1 (ml-latest quotes, trailing spaces in u.data).
std::string_view clean_id(std::string_view raw) {
  auto trim = [](std::string_view text) {
    const std::size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return std::string_view();
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  };
  raw = trim(raw);
  if (raw.size() >= 2 && (raw.front() == '"' || raw.front() == '\'') && raw.back() == raw.front()) {
    raw = trim(raw.substr(1, raw.size() - 2));
  }
  return raw;
}

// Assigns dense ids to raw ids in first-seen order; finish() renumbers them in
// sorted raw-id order so the dense ids do not depend on the file's row order.
class IdIndex {
 public:
  int32_t intern(std::string_view raw) {
    auto [it, inserted] =
        index_.try_emplace(std::string(clean_id(raw)), static_cast<int32_t>(raw_.size()));
    if (inserted) raw_.push_back(&it->first);
    return it->second;
  }

  /// Returns the raw-id table and fills `remap` (first-seen id -> final id).
  /// When every id is an integer they are compared as integers, so `01` and
  /// `1` are one id (written back as 1); otherwise ids stay text as written.
  RawIds finish(std::vector<int32_t>& remap) const {
    const std::size_t n = raw_.size();
    std::vector<int64_t> integers(n);
    bool all_integers = true;
    for (std::size_t i = 0; i < n && all_integers; ++i) {
      const std::string& s = *raw_[i];
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), integers[i]);
      all_integers = ec == std::errc() && end == s.data() + s.size();
    }
    std::vector<int32_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>(i);
    RawIds ids;
    remap.assign(n, 0);
    if (all_integers) {
      std::sort(order.begin(), order.end(),
                [&](int32_t a, int32_t b) { return integers[a] < integers[b]; });
      for (int32_t first_seen : order) {
        if (ids.integers.empty() || ids.integers.back() != integers[first_seen]) {
          ids.integers.push_back(integers[first_seen]);
        }
        remap[first_seen] = static_cast<int32_t>(ids.integers.size() - 1);
      }
      return ids;
    }
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return *raw_[a] < *raw_[b]; });
    for (std::size_t rank = 0; rank < n; ++rank) {
      remap[order[rank]] = static_cast<int32_t>(rank);
      ids.strings.push_back(*raw_[order[rank]]);
    }
    return ids;
  }

 private:
  std::unordered_map<std::string, int32_t> index_;
  std::vector<const std::string*> raw_;  // keys of index_, by first-seen id
};

// Collects rows with raw ids and produces dense Interactions.
class InteractionsBuilder {
 public:
  void add(std::string_view user, std::string_view item, float rating, int64_t timestamp) {
    table_.push_back(users_.intern(user), items_.intern(item), rating, timestamp);
  }

  Interactions finish() {
    Interactions out;
    std::vector<int32_t> user_remap;
    std::vector<int32_t> item_remap;
    out.users = users_.finish(user_remap);
    out.items = items_.finish(item_remap);
    for (int32_t& u : table_.user) u = user_remap[u];
    for (int32_t& i : table_.item) i = item_remap[i];
    out.table = std::move(table_);
    return out;
  }

 private:
  IdIndex users_;
  IdIndex items_;
  InteractionTable table_;
};

// Error prefix "path:line N:" for a malformed line.
std::string where(const std::string& path, std::size_t line_number) {
  return path + ":" + std::to_string(line_number) + ": ";
}

std::string printable(const std::string& delimiter) {
  return delimiter == "\t" ? "\\t" : delimiter;
}

float parse_rating(std::string_view text, const std::string& location) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // Checked after narrowing: 1e300 is a finite double but an infinite float.
  const float rating = static_cast<float>(value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(rating)) {
    throw InputError(location + "rating '" + std::string(text) + "' is not a finite number");
  }
  return rating;
}

int64_t parse_timestamp(std::string_view text, const std::string& location) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw InputError(location + "timestamp '" + std::string(text) + "' is not an integer");
  }
  return value;
}

// Calls fn(line, line_number) for every non-empty line, without the line end.
template <typename Fn>
void for_each_line(std::string_view content, Fn&& fn) {
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_number;
    if (!line.empty()) fn(line, line_number);
    start = end + 1;
  }
}

void split_fields(std::string_view line, std::string_view delimiter,
                  std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t end = line.find(delimiter, start);
    if (end == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return;
    }
    fields.push_back(line.substr(start, end - start));
    start = end + delimiter.size();
  }
}

// Column positions of user, item, rating and time (-1: absent).
std::array<int, 4> resolve_columns(const std::vector<std::string_view>& header,
                                   const DelimitedLayout& layout, const std::string& location) {
  const std::array<const std::string*, 4> names = {&layout.user_column, &layout.item_column,
                                                   &layout.rating_column, &layout.time_column};
  std::array<int, 4> positions{};
  for (std::size_t c = 0; c < names.size(); ++c) {
    positions[c] = -1;
    if (names[c]->empty()) continue;
    auto found = std::find(header.begin(), header.end(), *names[c]);
    if (found == header.end()) {
      std::string columns;
      for (std::string_view h : header) columns += (columns.empty() ? "" : ", ") + std::string(h);
      throw InputError(location + "header has no column '" + *names[c] + "' (columns: " + columns +
                       ")");
    }
    positions[c] = static_cast<int>(found - header.begin());
  }
  return positions;
}

Interactions parse_delimited(const std::string& content, const DelimitedLayout& layout,
                             const std::string& path) {
  if (layout.delimiter.empty()) throw InputError(path + ": the column delimiter is empty");
  const bool ids_named = layout.has_header
                             ? !layout.user_column.empty() && !layout.item_column.empty()
                             : layout.positions[0] >= 0 && layout.positions[1] >= 0;
  if (!ids_named) throw InputError(path + ": the layout must name the user and the item column");
  InteractionsBuilder builder;
  std::vector<std::string_view> fields;
  std::array<int, 4> columns = layout.positions;
  if (!layout.has_header) {
    if (layout.rating_column.empty()) columns[2] = -1;
    if (layout.time_column.empty()) columns[3] = -1;
  }
  auto fields_needed = [&] {
    return static_cast<std::size_t>(*std::max_element(columns.begin(), columns.end())) + 1;
  };
  bool header_pending = layout.has_header;
  std::size_t needed = fields_needed();
  int64_t row = 0;
  for_each_line(content, [&](std::string_view line, std::size_t line_number) {
    split_fields(line, layout.delimiter, fields);
    if (header_pending) {
      columns = resolve_columns(fields, layout, where(path, line_number));
      needed = fields_needed();
      header_pending = false;
      return;
    }
    if (fields.size() < needed) {
      throw InputError(where(path, line_number) + "expected at least " + std::to_string(needed) +
                       " fields separated by '" + printable(layout.delimiter) + "', found " +
                       std::to_string(fields.size()) + " (truncated line?)");
    }
    const float rating =
        columns[2] < 0 ? 1.0f : parse_rating(fields[columns[2]], where(path, line_number));
    const int64_t timestamp =
        columns[3] < 0 ? row : parse_timestamp(fields[columns[3]], where(path, line_number));
    if (fields[columns[0]].empty() || fields[columns[1]].empty()) {
      throw InputError(where(path, line_number) + "empty user or item id");
    }
    builder.add(fields[columns[0]], fields[columns[1]], rating, timestamp);
    ++row;
  });
  if (header_pending) throw InputError(path + ": file is empty, expected a header line");
  return builder.finish();
}

Interactions parse_amazon(const std::string& content, const std::string& path) {
  InteractionsBuilder builder;
  for_each_line(content, [&](std::string_view line, std::size_t line_number) {
    const nlohmann::json review = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (review.is_discarded() || !review.is_object()) {
      throw InputError(where(path, line_number) + "not a JSON object (truncated line?)");
    }
    auto field = [&](const char* key) -> const nlohmann::json& {
      auto it = review.find(key);
      if (it == review.end()) throw InputError(where(path, line_number) + "missing '" + key + "'");
      return *it;
    };
    const nlohmann::json& user = field("reviewerID");
    const nlohmann::json& item = field("asin");
    const nlohmann::json& overall = field("overall");
    const nlohmann::json& time = field("unixReviewTime");
    if (!user.is_string() || !item.is_string() || user.get_ref<const std::string&>().empty() ||
        item.get_ref<const std::string&>().empty()) {
      throw InputError(where(path, line_number) +
                       "'reviewerID' and 'asin' must be non-empty strings");
    }
    if (!overall.is_number() || !std::isfinite(overall.get<float>())) {
      throw InputError(where(path, line_number) + "rating 'overall' is not a finite number");
    }
    const bool beyond_int64 =
        time.is_number_unsigned() && time.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX);
    if (!time.is_number_integer() || beyond_int64) {
      throw InputError(where(path, line_number) + "'unixReviewTime' is not an integer");
    }
    builder.add(user.get_ref<const std::string&>(), item.get_ref<const std::string&>(),
                overall.get<float>(), time.get<int64_t>());
  });
  return builder.finish();
}

// Whitespace-separated fields of `line` (spaces or tabs, runs count once).
void split_whitespace(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t start = line.find_first_not_of(" \t");
  while (start != std::string_view::npos) {
    const std::size_t end = std::min(line.find_first_of(" \t", start), line.size());
    fields.push_back(line.substr(start, end - start));
    start = line.find_first_not_of(" \t", end);
  }
}

// Every interaction is a positive (rating 1); an item's position in its
// user's line is its timestamp, so the user-time split keeps the line order.
Interactions parse_sequences(const std::string& content, const std::string& path) {
  InteractionsBuilder builder;
  std::vector<std::string_view> fields;
  std::unordered_map<std::string, std::size_t> line_of_user;
  for_each_line(content, [&](std::string_view line, std::size_t line_number) {
    split_whitespace(line, fields);
    if (fields.empty()) return;
    if (fields.size() < 2) {
      throw InputError(where(path, line_number) + "user '" + std::string(fields[0]) +
                       "' has no items (expected: user item item ...)");
    }
    const auto [seen, fresh] = line_of_user.emplace(std::string(fields[0]), line_number);
    if (!fresh) {
      throw InputError(where(path, line_number) + "user '" + std::string(fields[0]) +
                       "' already has line " + std::to_string(seen->second) +
                       " (one line per user)");
    }
    for (std::size_t i = 1; i < fields.size(); ++i) {
      builder.add(fields[0], fields[i], 1.0f, static_cast<int64_t>(i - 1));
    }
  });
  return builder.finish();
}

DelimitedLayout movielens_layout(std::string delimiter) {
  DelimitedLayout layout;
  layout.delimiter = std::move(delimiter);
  layout.has_header = false;
  layout.rating_column = "rating";
  layout.time_column = "timestamp";
  return layout;
}

}  // namespace

std::string crc32_hex(const std::string& bytes) {
  const uLong crc = crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()),
                            bytes.size());
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08lx", static_cast<unsigned long>(crc));
  return hex;
}

std::string file_crc32(const std::string& path) { return crc32_hex(read_file_content(path)); }

LoadedSource load_interactions(const std::string& path, SourceFormat format,
                               const DelimitedLayout& layout) {
  std::string content = read_file_content(path);
  LoadedSource source;
  source.content_crc32 = crc32_hex(content);
  // Spreadsheet exports start with a byte-order mark that would glue onto the first column name.
  if (content.compare(0, 3, "\xEF\xBB\xBF") == 0) content.erase(0, 3);
  switch (format) {
    case SourceFormat::kMovieLens100K:
      source.interactions = parse_delimited(content, movielens_layout("\t"), path);
      break;
    case SourceFormat::kMovieLens1M:
      source.interactions = parse_delimited(content, movielens_layout("::"), path);
      break;
    case SourceFormat::kMovieLensLatest: {
      DelimitedLayout latest;
      latest.user_column = "userId";
      latest.item_column = "movieId";
      latest.rating_column = "rating";
      latest.time_column = "timestamp";
      source.interactions = parse_delimited(content, latest, path);
      break;
    }
    case SourceFormat::kAmazon:
      source.interactions = parse_amazon(content, path);
      break;
    case SourceFormat::kDelimited:
      source.interactions = parse_delimited(content, layout, path);
      break;
    case SourceFormat::kSequences:
      source.interactions = parse_sequences(content, path);
      break;
  }
  if (source.interactions.table.size() == 0) throw InputError(path + ": no interactions in file");
  return source;
}

std::string default_file_name(SourceFormat format) {
  switch (format) {
    case SourceFormat::kMovieLens100K:
      return "u.data";
    case SourceFormat::kMovieLens1M:
      return "ratings.dat";
    case SourceFormat::kMovieLensLatest:
      return "ratings.csv";
    case SourceFormat::kAmazon:
      return "reviews.json.gz";
    case SourceFormat::kDelimited:
      return "interactions.csv";
    case SourceFormat::kSequences:
      return "sequences.txt";
  }
  return "";
}

}  // namespace trd
