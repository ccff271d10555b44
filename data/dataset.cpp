#include "data/dataset.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "data/error.hpp"
#include "data/hdf5_io.hpp"

namespace trd {
namespace {

H5::Group open_group(const H5::Group& parent, const std::string& name, const std::string& path,
                     const std::string& where) {
  if (!parent.nameExists(name)) throw InputError(path + ": missing group '" + where + "'");
  return parent.openGroup(name);
}

InteractionTable read_split(const H5::Group& splits, int split, const std::string& path) {
  const std::string where = std::string("/splits/") + kSplitNames[split];
  H5::Group group = open_group(splits, kSplitNames[split], path, where);
  InteractionTable table;
  table.user = hdf5::read_array<int32_t>(group, "user", 1, path);
  table.item = hdf5::read_array<int32_t>(group, "item", 1, path);
  table.rating = hdf5::read_array<float>(group, "rating", 1, path);
  table.timestamp = hdf5::read_array<int64_t>(group, "timestamp", 1, path);
  return table;
}

void check_split(const InteractionTable& table, int split, const std::string& path,
                 int32_t n_users, int32_t n_items) {
  const std::string where = std::string("/splits/") + kSplitNames[split];
  const std::size_t n = table.user.size();
  if (table.item.size() != n || table.rating.size() != n || table.timestamp.size() != n) {
    throw InputError(path + ": " + where + " has columns of different lengths (user " +
                     std::to_string(n) + ", item " + std::to_string(table.item.size()) +
                     ", rating " + std::to_string(table.rating.size()) + ", timestamp " +
                     std::to_string(table.timestamp.size()) + ")");
  }
  auto check_ids = [&](const std::vector<int32_t>& ids, int32_t limit, const char* column) {
    for (std::size_t row = 0; row < ids.size(); ++row) {
      if (ids[row] < 0 || ids[row] >= limit) {
        throw InputError(path + ": " + where + "/" + column + "[" + std::to_string(row) +
                         "] = " + std::to_string(ids[row]) + " is outside [0, " +
                         std::to_string(limit) + ")");
      }
    }
  };
  check_ids(table.user, n_users, "user");
  check_ids(table.item, n_items, "item");
  for (std::size_t row = 0; row < n; ++row) {
    if (!std::isfinite(table.rating[row])) {
      throw InputError(path + ": " + where + "/rating[" + std::to_string(row) + "] is not finite");
    }
  }
}

// Raw ids name users and items in every file trd writes: two rows with one
// name would make recommendations.csv ambiguous.
void check_unique_raw_ids(const RawIds& ids, const std::string& path, const char* where) {
  auto check = [&](auto values) {
    std::sort(values.begin(), values.end());
    const auto repeat = std::adjacent_find(values.begin(), values.end());
    if (repeat != values.end()) {
      std::ostringstream text;
      text << path << ": " << where << " repeats the id " << *repeat << " (ids must be unique)";
      throw InputError(text.str());
    }
  };
  if (ids.is_integer()) {
    check(ids.integers);
  } else {
    check(ids.strings);
  }
}

// A user's rows are in time order within a split, and each split comes after
// the earlier ones: histories are read in row order, and a held-out item from
// before the history would leak the future into training.
void check_time_order(const Dataset& dataset, const std::string& path) {
  const std::size_t n_users = static_cast<std::size_t>(dataset.n_users());
  std::vector<int64_t> latest_before(n_users, std::numeric_limits<int64_t>::min());
  for (int s = 0; s < kNumSplits; ++s) {
    const InteractionTable& split = dataset.splits[s];
    std::vector<int64_t> latest = latest_before;
    for (std::size_t row = 0; row < split.size(); ++row) {
      const auto user = static_cast<std::size_t>(split.user[row]);
      const int64_t time = split.timestamp[row];
      if (time < latest[user]) {
        throw InputError(path + ": /splits/" + kSplitNames[s] + "/timestamp[" +
                         std::to_string(row) + "] = " + std::to_string(time) + " is earlier than " +
                         std::to_string(latest[user]) + ", an earlier interaction of user " +
                         std::to_string(split.user[row]) +
                         " (rows must be in time order, splits after the earlier splits)");
      }
      latest[user] = time;
    }
    latest_before = std::move(latest);
  }
}

}  // namespace

void check_dataset(const Dataset& dataset, const std::string& source) {
  for (int s = 0; s < kNumSplits; ++s) {
    check_split(dataset.splits[s], s, source, dataset.n_users(), dataset.n_items());
  }
  check_unique_raw_ids(dataset.users, source, "/users/raw_id");
  check_unique_raw_ids(dataset.items, source, "/items/raw_id");
  check_time_order(dataset, source);
}

std::size_t Dataset::n_interactions() const {
  std::size_t n = 0;
  for (const InteractionTable& split : splits) n += split.size();
  return n;
}

Dataset make_dataset(Interactions interactions, DatasetProvenance provenance) {
  Dataset dataset;
  dataset.splits = split_interactions(interactions.table, interactions.n_users(),
                                      provenance.split_rule, provenance.ratios);
  dataset.users = std::move(interactions.users);
  dataset.items = std::move(interactions.items);
  dataset.provenance = std::move(provenance);
  return dataset;
}

SplitUsers::SplitUsers(const Dataset& dataset, Split split)
    : seen([&] {
        std::vector<const InteractionTable*> before;
        for (int s = 0; s < split; ++s) before.push_back(&dataset.splits[s]);
        return UserItems(before, dataset.n_users());
      }()) {
  const int32_t n_users = dataset.n_users();
  const InteractionTable& table = dataset.splits[split];
  std::vector<std::vector<std::pair<int32_t, float>>> per_user(static_cast<std::size_t>(n_users));
  for (std::size_t row = 0; row < table.size(); ++row) {
    per_user[table.user[row]].emplace_back(table.item[row], table.rating[row]);
  }
  std::vector<int32_t> met;
  std::vector<std::vector<int32_t>> items(static_cast<std::size_t>(n_users));
  for (int32_t u = 0; u < n_users; ++u) {
    auto& entries = per_user[u];
    // Ascending items, the highest rating first among repeats.
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return a.first < b.first || (a.first == b.first && a.second > b.second);
    });
    met.assign(seen.begin(u), seen.end(u));
    std::sort(met.begin(), met.end());
    for (std::size_t k = 0; k < entries.size(); ++k) {
      const int32_t item = entries[k].first;
      if (k > 0 && item == entries[k - 1].first) continue;
      if (std::binary_search(met.begin(), met.end(), item)) continue;
      items[u].push_back(item);
      held_out_rating.push_back(entries[k].second);
    }
  }
  held_out = UserItems(items);
}

std::string dataset_fingerprint(const Dataset& dataset) {
  uLong crc = crc32_z(0L, Z_NULL, 0);
  auto add = [&crc](const auto& values) {
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(values.data()),
                  values.size() * sizeof(values[0]));
  };
  for (const RawIds* ids : {&dataset.users, &dataset.items}) {
    add(ids->integers);
    for (const std::string& s : ids->strings) add(s);
  }
  for (const InteractionTable& split : dataset.splits) {
    add(split.user);
    add(split.item);
    add(split.timestamp);
    add(split.rating);
  }
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08lx", static_cast<unsigned long>(crc));
  return hex;
}

void write_dataset(const Dataset& dataset, const std::string& path) {
  hdf5::write_atomically(path, [&](H5::H5File& file) {
    const DatasetProvenance& p = dataset.provenance;
    hdf5::write_attribute(file, "format", std::string(kDatasetFormat));
    hdf5::write_attribute(file, "version", kDatasetVersion);
    hdf5::write_attribute(file, "dataset", p.name);
    hdf5::write_attribute(file, "source", p.source);
    hdf5::write_attribute(file, "source_crc32", p.source_crc32);
    hdf5::write_attribute(file, "filter", p.filter);
    hdf5::write_attribute(file, "min_rating", p.min_rating);
    hdf5::write_attribute(file, "split_rule", split_rule_name(p.split_rule));
    hdf5::write_attribute(file, "split_ratios",
                          std::vector<double>(p.ratios.begin(), p.ratios.end()));
    hdf5::write_attribute(file, "seed", p.seed);
    hdf5::write_attribute(file, "n_users", static_cast<int64_t>(dataset.n_users()));
    hdf5::write_attribute(file, "n_items", static_cast<int64_t>(dataset.n_items()));
    H5::Group users = hdf5::create_group(file, "users");
    hdf5::write_raw_ids(users, "raw_id", dataset.users);
    H5::Group items = hdf5::create_group(file, "items");
    hdf5::write_raw_ids(items, "raw_id", dataset.items);
    H5::Group splits = hdf5::create_group(file, "splits");
    for (int s = 0; s < kNumSplits; ++s) {
      H5::Group group = hdf5::create_group(splits, kSplitNames[s]);
      const InteractionTable& table = dataset.splits[s];
      hdf5::write_array(group, "user", table.user);
      hdf5::write_array(group, "item", table.item);
      hdf5::write_array(group, "rating", table.rating);
      hdf5::write_array(group, "timestamp", table.timestamp);
    }
  });
}

std::string read_file_format(const std::string& path) { return hdf5::read_format(path); }

Dataset read_dataset(const std::string& path) {
  H5::H5File file = hdf5::open_trd_file(path, kDatasetFormat, kDatasetVersion);
  try {
    Dataset dataset;
    DatasetProvenance& p = dataset.provenance;
    p.name = hdf5::read_string_attribute(file, "dataset", path);
    p.source = hdf5::read_string_attribute(file, "source", path);
    p.source_crc32 = hdf5::read_string_attribute(file, "source_crc32", path);
    p.filter = hdf5::read_string_attribute(file, "filter", path);
    p.min_rating = hdf5::read_double_attribute(file, "min_rating", path);
    if (!std::isfinite(p.min_rating)) {
      throw InputError(path + ": attribute 'min_rating' is " + std::to_string(p.min_rating) +
                       " (expected a finite number)");
    }
    try {
      p.split_rule = parse_split_rule(hdf5::read_string_attribute(file, "split_rule", path));
    } catch (const InputError& error) {
      throw InputError(path + ": attribute 'split_rule': " + error.what());
    }
    const std::vector<double> ratios =
        hdf5::read_double_array_attribute(file, "split_ratios", path);
    if (ratios.size() != kNumSplits) {
      throw InputError(path + ": attribute 'split_ratios' must hold 4 numbers");
    }
    for (double ratio : ratios) {
      if (!std::isfinite(ratio) || ratio < 0 || ratio > 1) {
        throw InputError(path + ": attribute 'split_ratios' holds " + std::to_string(ratio) +
                         " (expected fractions in [0, 1])");
      }
    }
    std::copy(ratios.begin(), ratios.end(), p.ratios.begin());
    p.seed = hdf5::read_int_attribute(file, "seed", path);

    dataset.users = hdf5::read_raw_ids(open_group(file, "users", path, "/users"), "raw_id", path);
    dataset.items = hdf5::read_raw_ids(open_group(file, "items", path, "/items"), "raw_id", path);
    const int64_t n_users = hdf5::read_int_attribute(file, "n_users", path);
    const int64_t n_items = hdf5::read_int_attribute(file, "n_items", path);
    if (n_users != dataset.n_users() || n_items != dataset.n_items()) {
      throw InputError(path + ": attributes say " + std::to_string(n_users) + " users and " +
                       std::to_string(n_items) + " items, but /users/raw_id has " +
                       std::to_string(dataset.n_users()) + " and /items/raw_id has " +
                       std::to_string(dataset.n_items()));
    }
    H5::Group splits = open_group(file, "splits", path, "/splits");
    for (int s = 0; s < kNumSplits; ++s) dataset.splits[s] = read_split(splits, s, path);
    check_dataset(dataset, path);
    return dataset;
  } catch (const H5::Exception& error) {
    throw InputError(path + ": unreadable HDF5 content (corrupted?): " + error.getDetailMsg());
  }
}

}  // namespace trd
