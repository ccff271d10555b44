#include "data/knowledge.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/hdf5_io.hpp"

namespace trd {
namespace {

constexpr const char* kStateGroup = "teacher_state";
constexpr const char* kNeighbourGroup = "item_neighbours";

template <typename Matrix>
void write_matrix(H5::Group& group, const std::string& name, const Matrix& matrix) {
  using Scalar = typename Matrix::Scalar;
  const hsize_t dims[2] = {static_cast<hsize_t>(matrix.rows()),
                           static_cast<hsize_t>(matrix.cols())};
  H5::DataSet dataset =
      hdf5::create_dataset(group, name, hdf5::Types<Scalar>::file(), H5::DataSpace(2, dims));
  if (matrix.size() > 0) dataset.write(matrix.data(), hdf5::Types<Scalar>::memory());
}

template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> read_matrix(
    const H5::Group& group, const std::string& name, const std::string& where,
    const std::string& path) {
  const std::vector<hsize_t> dims = hdf5::array_shape<Scalar>(group, name, path);
  if (dims.size() != 2) {
    throw InputError(path + ": " + where + " has " + std::to_string(dims.size()) +
                     " dimensions, expected 2");
  }
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> matrix(dims[0], dims[1]);
  if (matrix.size() > 0) group.openDataSet(name).read(matrix.data(), hdf5::Types<Scalar>::memory());
  return matrix;
}

std::string shape_text(int64_t rows, int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

void require_shape(const std::string& path, const std::string& where, int64_t rows, int64_t cols,
                   int64_t expected_rows, int64_t expected_cols, const std::string& why) {
  if (rows != expected_rows || cols != expected_cols) {
    throw InputError(path + ": " + where + " has shape " + shape_text(rows, cols) + ", expected " +
                     shape_text(expected_rows, expected_cols) + " (" + why + ")");
  }
}

void require_finite(const std::string& path, const std::string& where, const RowMatrixXf& m) {
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) {
      if (!std::isfinite(m(r, c))) {
        throw InputError(path + ": " + where + shape_text(r, c) + " is " + std::to_string(m(r, c)) +
                         " (expected finite values)");
      }
    }
  }
}

// Each row: items as check_ranked_items() says, scores finite and
// non-increasing over the real items.
void validate_ranking(const std::string& path, const RowMatrixXi& items, const RowMatrixXf& scores,
                      int32_t n_items) {
  check_ranked_items(items, n_items, path, "/ranking/items");
  for (Eigen::Index r = 0; r < items.rows(); ++r) {
    for (Eigen::Index c = 0; c < items.cols() && items(r, c) != -1; ++c) {
      if (!std::isfinite(scores(r, c))) {
        throw InputError(path + ": /ranking/scores" + shape_text(r, c) + " is " +
                         std::to_string(scores(r, c)) + " (expected finite values)");
      }
      if (c > 0 && scores(r, c) > scores(r, c - 1)) {
        throw InputError(path + ": /ranking/scores row " + std::to_string(r) +
                         " is not sorted best first (column " + std::to_string(c) + ")");
      }
    }
  }
}

// Each row: neighbours in [0, n_items) other than the row's own item, then
// only -1 padding with weight 0; no neighbour twice; weights finite.
void validate_neighbours(const std::string& path, const RowMatrixXi& items,
                         const RowMatrixXf& weights) {
  const int64_t n_items = items.rows();
  std::vector<int64_t> last_row_with(static_cast<std::size_t>(n_items), -1);
  for (Eigen::Index r = 0; r < items.rows(); ++r) {
    bool padding = false;
    for (Eigen::Index c = 0; c < items.cols(); ++c) {
      const int32_t item = items(r, c);
      const std::string at = "/item_neighbours/items" + shape_text(r, c);
      if (!std::isfinite(weights(r, c))) {
        throw InputError(path + ": /item_neighbours/weights" + shape_text(r, c) + " is " +
                         std::to_string(weights(r, c)) + " (expected finite values)");
      }
      if (item == -1) {
        if (weights(r, c) != 0.0f) {
          throw InputError(path + ": /item_neighbours/weights" + shape_text(r, c) + " is " +
                           std::to_string(weights(r, c)) + " at -1 padding (expected 0)");
        }
        padding = true;
        continue;
      }
      if (item < -1 || item >= n_items || item == r) {
        throw InputError(path + ": " + at + " = " + std::to_string(item) +
                         " is not another item in [0, n_items = " + std::to_string(n_items) +
                         ") (-1 pads short rows)");
      }
      if (padding) throw InputError(path + ": " + at + " follows -1 padding (pad only at the end)");
      if (last_row_with[item] == r) {
        throw InputError(path + ": " + at + " repeats item " + std::to_string(item));
      }
      last_row_with[item] = r;
    }
  }
}

// Writes name "a/b/c" as dataset c in group a/b, creating the groups.
void write_state_entry(H5::Group& group, const std::string& name, const RowMatrixXf& value) {
  const std::size_t slash = name.find('/');
  if (slash == std::string::npos) {
    write_matrix(group, name, value);
    return;
  }
  const std::string part = name.substr(0, slash);
  H5::Group child =
      group.nameExists(part) ? group.openGroup(part) : hdf5::create_group(group, part);
  write_state_entry(child, name.substr(slash + 1), value);
}

void read_state_group(const H5::Group& group, const std::string& prefix, const std::string& path,
                      std::map<std::string, RowMatrixXf>& state) {
  for (hsize_t i = 0; i < group.getNumObjs(); ++i) {
    const std::string name = group.getObjnameByIdx(i);
    const std::string full = prefix.empty() ? name : prefix + "/" + name;
    if (group.childObjType(name) == H5O_TYPE_GROUP) {
      read_state_group(group.openGroup(name), full, path, state);
    } else {
      const std::string where = std::string("/") + kStateGroup + "/" + full;
      state[full] = read_matrix<float>(group, name, where, path);
      require_finite(path, where, state[full]);
    }
  }
}

}  // namespace

void check_ranked_items(const RowMatrixXi& items, int32_t n_items, const std::string& source,
                        const std::string& where) {
  std::vector<int64_t> last_row_with(static_cast<std::size_t>(n_items), -1);
  for (Eigen::Index r = 0; r < items.rows(); ++r) {
    bool padding = false;
    for (Eigen::Index c = 0; c < items.cols(); ++c) {
      const int32_t item = items(r, c);
      const std::string at = where + shape_text(r, c);
      if (item == -1) {
        padding = true;
        continue;
      }
      if (item < -1 || item >= n_items) {
        throw InputError(source + ": " + at + " = " + std::to_string(item) +
                         " is outside [0, n_items = " + std::to_string(n_items) +
                         ") (-1 pads short lists)");
      }
      if (padding) {
        throw InputError(source + ": " + at + " follows -1 padding (pad only at the end)");
      }
      if (last_row_with[item] == r) {
        throw InputError(source + ": " + at + " repeats item " + std::to_string(item));
      }
      last_row_with[item] = r;
    }
  }
}

void check_knowledge(const Knowledge& k, const std::string& source) {
  if (k.n_users < 1 || k.n_items < 1) {
    throw InputError(source + ": n_users = " + std::to_string(k.n_users) + ", n_items = " +
                     std::to_string(k.n_items) + " (expected both >= 1)");
  }
  const int64_t dim = k.item_embeddings.cols();
  if (k.has_embeddings() || k.user_embeddings.size() > 0) {
    require_shape(source, "/user_embeddings", k.user_embeddings.rows(), k.user_embeddings.cols(),
                  k.n_users, dim, "n_users x dim");
    require_shape(source, "/item_embeddings", k.item_embeddings.rows(), k.item_embeddings.cols(),
                  k.n_items, dim, "n_items x dim");
    require_finite(source, "/user_embeddings", k.user_embeddings);
    require_finite(source, "/item_embeddings", k.item_embeddings);
  }
  if (k.ranking_items.cols() < 1) {
    throw InputError(source + ": /ranking/items has no columns (expected lists of length L >= 1)");
  }
  require_shape(source, "/ranking/items", k.ranking_items.rows(), k.ranking_items.cols(),
                k.n_users, k.ranking_items.cols(), "n_users x L");
  require_shape(source, "/ranking/scores", k.ranking_scores.rows(), k.ranking_scores.cols(),
                k.n_users, k.ranking_items.cols(), "same as /ranking/items");
  validate_ranking(source, k.ranking_items, k.ranking_scores, k.n_items);
  if (k.has_neighbours() || k.neighbour_weights.size() > 0) {
    require_shape(source, "/item_neighbours/items", k.neighbour_items.rows(),
                  k.neighbour_items.cols(), k.n_items, k.neighbour_items.cols(), "n_items x k");
    require_shape(source, "/item_neighbours/weights", k.neighbour_weights.rows(),
                  k.neighbour_weights.cols(), k.n_items, k.neighbour_items.cols(),
                  "same as /item_neighbours/items");
    validate_neighbours(source, k.neighbour_items, k.neighbour_weights);
  }
  for (const auto& [name, value] : k.teacher_state) {
    require_finite(source, std::string("/") + kStateGroup + "/" + name, value);
  }
  if (k.protocol.candidates < 0) {
    throw InputError(source + ": attribute candidates = " + std::to_string(k.protocol.candidates) +
                     " (expected 0 for a full ranking, or the candidate set size)");
  }
}

void write_knowledge(const Knowledge& knowledge, const std::string& path) {
  // The readers' checks, so a diverged teacher's NaN never becomes a file.
  check_knowledge(knowledge, path + " (not written)");
  hdf5::write_atomically(path, [&](H5::H5File& file) {
    hdf5::write_attribute(file, "format", std::string(kKnowledgeFormat));
    hdf5::write_attribute(file, "version", kKnowledgeVersion);
    hdf5::write_attribute(file, "teacher", knowledge.teacher);
    hdf5::write_attribute(file, "dataset", knowledge.dataset);
    hdf5::write_attribute(file, "dataset_fingerprint", knowledge.dataset_fingerprint);
    hdf5::write_attribute(file, "stage", knowledge.stage);
    hdf5::write_attribute(file, "n_users", static_cast<int64_t>(knowledge.n_users));
    hdf5::write_attribute(file, "n_items", static_cast<int64_t>(knowledge.n_items));
    hdf5::write_attribute(file, "dim", static_cast<int64_t>(knowledge.dim()));
    hdf5::write_attribute(file, "embeddings",
                          std::string(knowledge.has_embeddings() ? "present" : "none"));
    if (knowledge.has_embeddings()) {
      write_matrix(file, "user_embeddings", knowledge.user_embeddings);
      write_matrix(file, "item_embeddings", knowledge.item_embeddings);
    }
    H5::Group ranking = hdf5::create_group(file, "ranking");
    write_matrix(ranking, "items", knowledge.ranking_items);
    write_matrix(ranking, "scores", knowledge.ranking_scores);
    if (knowledge.has_neighbours()) {
      H5::Group neighbours = hdf5::create_group(file, kNeighbourGroup);
      write_matrix(neighbours, "items", knowledge.neighbour_items);
      write_matrix(neighbours, "weights", knowledge.neighbour_weights);
    }
    const KnowledgeProtocol& protocol = knowledge.protocol;
    if (protocol.recorded) {
      hdf5::write_attribute(file, "candidates", protocol.candidates);
      hdf5::write_attribute(file, "candidate_seed", protocol.candidate_seed);
      hdf5::write_attribute(file, "fit_on", protocol.fit_on);
      hdf5::write_attribute(file, "warm_start_crc32", protocol.warm_start_crc32);
    }
    if (!knowledge.teacher_state.empty()) {
      H5::Group state = hdf5::create_group(file, kStateGroup);
      for (const auto& [name, value] : knowledge.teacher_state)
        write_state_entry(state, name, value);
    }
  });
}

Knowledge read_knowledge(const std::string& path) {
  H5::H5File file = hdf5::open_trd_file(path, kKnowledgeFormat, kKnowledgeVersion);
  try {
    Knowledge k;
    k.teacher = hdf5::read_string_attribute(file, "teacher", path);
    k.dataset = hdf5::read_string_attribute(file, "dataset", path);
    k.stage = hdf5::read_string_attribute(file, "stage", path);
    // Tools other than trd may not know the fingerprint; it is checked when present.
    if (hdf5::has_attribute(file, "dataset_fingerprint")) {
      k.dataset_fingerprint = hdf5::read_string_attribute(file, "dataset_fingerprint", path);
    }
    const int64_t n_users = hdf5::read_int_attribute(file, "n_users", path);
    const int64_t n_items = hdf5::read_int_attribute(file, "n_items", path);
    const int64_t dim = hdf5::read_int_attribute(file, "dim", path);
    if (n_users < 1 || n_items < 1 || dim < 0) {
      throw InputError(path + ": attributes n_users = " + std::to_string(n_users) +
                       ", n_items = " + std::to_string(n_items) + ", dim = " + std::to_string(dim) +
                       " (expected n_users, n_items >= 1 and dim >= 0)");
    }
    k.n_users = static_cast<int32_t>(n_users);
    k.n_items = static_cast<int32_t>(n_items);

    const bool has_users = file.nameExists("user_embeddings");
    const bool has_items = file.nameExists("item_embeddings");
    if (has_users != has_items) {
      throw InputError(path +
                       ": has only one of /user_embeddings and /item_embeddings "
                       "(expected both or neither)");
    }
    if (has_users) {
      k.user_embeddings = read_matrix<float>(file, "user_embeddings", "/user_embeddings", path);
      k.item_embeddings = read_matrix<float>(file, "item_embeddings", "/item_embeddings", path);
      require_shape(path, "/user_embeddings", k.user_embeddings.rows(), k.user_embeddings.cols(),
                    n_users, dim, "n_users x dim");
      require_shape(path, "/item_embeddings", k.item_embeddings.rows(), k.item_embeddings.cols(),
                    n_items, dim, "n_items x dim");
      require_finite(path, "/user_embeddings", k.user_embeddings);
      require_finite(path, "/item_embeddings", k.item_embeddings);
    } else if (dim != 0) {
      throw InputError(path + ": attribute dim = " + std::to_string(dim) +
                       " but the file has no /user_embeddings and /item_embeddings");
    }

    if (!file.nameExists("ranking")) throw InputError(path + ": missing group '/ranking'");
    H5::Group ranking = file.openGroup("ranking");
    k.ranking_items = read_matrix<int32_t>(ranking, "items", "/ranking/items", path);
    k.ranking_scores = read_matrix<float>(ranking, "scores", "/ranking/scores", path);
    if (k.ranking_items.cols() < 1) {
      throw InputError(path + ": /ranking/items has no columns (expected lists of length L >= 1)");
    }
    require_shape(path, "/ranking/items", k.ranking_items.rows(), k.ranking_items.cols(), n_users,
                  k.ranking_items.cols(), "n_users x L");
    require_shape(path, "/ranking/scores", k.ranking_scores.rows(), k.ranking_scores.cols(),
                  n_users, k.ranking_items.cols(), "same as /ranking/items");
    validate_ranking(path, k.ranking_items, k.ranking_scores, k.n_items);

    if (file.nameExists(kNeighbourGroup)) {
      H5::Group neighbours = file.openGroup(kNeighbourGroup);
      k.neighbour_items =
          read_matrix<int32_t>(neighbours, "items", "/item_neighbours/items", path);
      k.neighbour_weights =
          read_matrix<float>(neighbours, "weights", "/item_neighbours/weights", path);
      require_shape(path, "/item_neighbours/items", k.neighbour_items.rows(),
                    k.neighbour_items.cols(), n_items, k.neighbour_items.cols(), "n_items x k");
      require_shape(path, "/item_neighbours/weights", k.neighbour_weights.rows(),
                    k.neighbour_weights.cols(), n_items, k.neighbour_items.cols(),
                    "same as /item_neighbours/items");
      validate_neighbours(path, k.neighbour_items, k.neighbour_weights);
    }

    // Written by trd; another tool's file without it is taken as a full ranking.
    KnowledgeProtocol& protocol = k.protocol;
    protocol.recorded = hdf5::has_attribute(file, "candidates");
    if (protocol.recorded) {
      protocol.candidates = hdf5::read_int_attribute(file, "candidates", path);
      if (protocol.candidates < 0) {
        throw InputError(path + ": attribute candidates = " +
                         std::to_string(protocol.candidates) +
                         " (expected 0 for a full ranking, or the candidate set size)");
      }
      if (hdf5::has_attribute(file, "candidate_seed")) {
        protocol.candidate_seed = hdf5::read_int_attribute(file, "candidate_seed", path);
      }
      if (hdf5::has_attribute(file, "fit_on")) {
        protocol.fit_on = hdf5::read_string_attribute(file, "fit_on", path);
      }
      if (hdf5::has_attribute(file, "warm_start_crc32")) {
        protocol.warm_start_crc32 = hdf5::read_string_attribute(file, "warm_start_crc32", path);
      }
    }

    if (file.nameExists(kStateGroup))
      read_state_group(file.openGroup(kStateGroup), "", path, k.teacher_state);
    return k;
  } catch (const H5::Exception& error) {
    throw InputError(path + ": unreadable HDF5 content (corrupted?): " + error.getDetailMsg());
  }
}

}  // namespace trd
