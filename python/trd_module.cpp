// trd._trd: the C++ core under the Python package (python/trd/__init__.py
// adds Gymnasium's calling conventions). Arrays an env hands out are numpy
// views of its own buffers, owned by the env object: the values change at
// the next step() or reset(), the memory lives as long as the env.
// No LibTorch here: data/ and env/ only.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/knowledge.hpp"
#include "data/metrics.hpp"
#include "data/protocol.hpp"
#include "data/ranking.hpp"
#include "env/features.hpp"
#include "env/policies.hpp"
#include "env/rec_env.hpp"

namespace py = pybind11;

namespace trd::python {
namespace {

// ---------------------------------------------------------------------------
// Arrays in and out.

template <typename T>
py::array_t<T> view(const T* data, std::vector<py::ssize_t> shape, py::handle owner) {
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = sizeof(T);
  for (std::size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= shape[d];
  }
  py::array_t<T> array(shape, strides, data, owner);
  // Read-only: the state changes through step(), not through its views.
  array.attr("setflags")(py::arg("write") = false);
  return array;
}

// int8 storage of 0/1 flags shown as numpy bool, same memory.
py::array bool_view(const std::vector<int8_t>& flags, std::vector<py::ssize_t> shape,
                    py::handle owner) {
  return view(flags.data(), std::move(shape), owner).attr("view")(py::dtype("bool"));
}

template <typename Matrix>
py::array matrix_view(const Matrix& m, py::handle owner) {
  using Scalar = typename Matrix::Scalar;
  return view<Scalar>(
      m.data(), {static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())}, owner);
}

template <typename T>
py::array vector_view(const std::vector<T>& v, py::handle owner) {
  return view<T>(v.data(), {static_cast<py::ssize_t>(v.size())}, owner);
}

std::string text(py::handle value) { return py::str(value).cast<std::string>(); }

// `values` as a C-contiguous array of T with `ndim` dimensions. numpy would
// truncate floats to ids and wrap large integers without a word, so integer
// T takes only integer input whose values fit T.
template <typename T>
py::array_t<T, py::array::c_style> checked_array(const py::object& values, const std::string& what,
                                                 int ndim) {
  py::array any;
  try {
    any = py::array::ensure(values);
  } catch (const py::error_already_set&) {
  }
  if (!any || any.ndim() != ndim) {
    throw InputError(what + ": expected a " + std::to_string(ndim) +
                     "-dimensional array of numbers");
  }
  const char kind = any.dtype().kind();
  const std::string dtype = text(any.dtype());
  if (any.size() > 0) {
    if constexpr (std::is_integral_v<T>) {
      if (kind != 'i' && kind != 'u') {
        throw InputError(what + ": expected integers, got dtype " + dtype);
      }
      if (!any.dtype().is(py::dtype::of<T>())) {
        const auto low = any.attr("min")().cast<py::int_>();
        const auto high = any.attr("max")().cast<py::int_>();
        if (low < py::int_(std::numeric_limits<T>::min()) ||
            high > py::int_(std::numeric_limits<T>::max())) {
          throw InputError(what + ": values from " + text(low) + " to " + text(high) +
                           " do not fit " + text(py::dtype::of<T>()));
        }
      }
    } else {
      if (kind != 'f' && kind != 'i' && kind != 'u') {
        throw InputError(what + ": expected numbers, got dtype " + dtype);
      }
    }
  }
  return py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(any);
}

template <typename T>
std::vector<T> to_vector(const py::object& values, const std::string& what) {
  const auto array = checked_array<T>(values, what, 1);
  return std::vector<T>(array.data(), array.data() + array.size());
}

template <typename Matrix>
Matrix to_matrix(const py::object& values, const std::string& what) {
  using Scalar = typename Matrix::Scalar;
  const auto array = checked_array<Scalar>(values, what, 2);
  Matrix m(array.shape(0), array.shape(1));
  std::copy(array.data(), array.data() + array.size(), m.data());
  return m;
}

// A count given from Python: an integer in [0, limit].
int32_t count_argument(const py::object& value, const std::string& what, int64_t limit) {
  if (!PyIndex_Check(value.ptr()) || py::isinstance<py::bool_>(value)) {
    throw InputError(what + ": expected an integer");
  }
  const py::int_ number(value);
  if (number < py::int_(0) || number > py::int_(limit)) {
    throw InputError(what + " = " + text(number) + ": expected 0 to " + std::to_string(limit));
  }
  return number.cast<int32_t>();
}

RawIds raw_ids(const py::object& ids, std::size_t count, const char* what) {
  RawIds result;
  if (ids.is_none()) {
    for (std::size_t i = 0; i < count; ++i) result.integers.push_back(static_cast<int64_t>(i));
    return result;
  }
  // Integers when every id is one, else strings, as the loaders read ids.
  bool integers = true;
  auto is_integer = [](py::handle id) {
    return PyIndex_Check(id.ptr()) && !py::isinstance<py::bool_>(id);
  };
  for (const py::handle id : ids) integers = integers && is_integer(id);
  for (const py::handle id : ids) {
    if (integers) {
      result.integers.push_back(py::int_(py::reinterpret_borrow<py::object>(id)).cast<int64_t>());
    } else {
      result.strings.push_back(py::str(id).cast<std::string>());
    }
  }
  if (result.size() != count) {
    throw InputError(std::string(what) + ": " + std::to_string(result.size()) + " ids for " +
                     std::to_string(count) + " dense ids");
  }
  return result;
}

py::list raw_id_list(const RawIds& ids) {
  py::list out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids.is_integer()) {
      out.append(ids.integers[i]);
    } else {
      out.append(ids.strings[i]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Dataset and knowledge.

// Any of the four saved splits (parse_stage takes only those with lists).
int split_named(const std::string& name, const std::string& what) {
  for (int s = 0; s < kNumSplits; ++s) {
    if (name == kSplitNames[s]) return s;
  }
  throw InputError(what + " '" + name + "': expected base, rl, valid or test");
}

// The splits of a dict {name: {"user", "item", "rating"?, "timestamp"?}};
// missing ratings are 1, missing timestamps count rows in split order, so a
// later split comes after the earlier ones.
Dataset dataset_from_splits(const py::dict& splits, const py::object& user_ids,
                            const py::object& item_ids, const py::object& n_users_given,
                            const py::object& n_items_given, const std::string& name) {
  Dataset dataset;
  dataset.provenance.name = name;
  dataset.provenance.source = "python";
  int64_t clock = 0;
  int32_t max_user = -1, max_item = -1;
  for (const auto& entry : splits) split_named(py::str(entry.first).cast<std::string>(), "splits");
  for (int s = 0; s < kNumSplits; ++s) {
    InteractionTable& table = dataset.splits[s];
    if (!splits.contains(kSplitNames[s])) continue;
    const std::string where = std::string("splits['") + kSplitNames[s] + "']";
    const py::object entry = splits[kSplitNames[s]];
    if (!py::isinstance<py::dict>(entry)) {
      throw InputError(where + ": expected a dict of columns ('user', 'item', ...)");
    }
    const py::dict columns = entry.cast<py::dict>();
    if (!columns.contains("user") || !columns.contains("item")) {
      throw InputError(where + ": needs 'user' and 'item' columns");
    }
    table.user = to_vector<int32_t>(columns["user"], where + "['user']");
    table.item = to_vector<int32_t>(columns["item"], where + "['item']");
    const std::size_t n = table.user.size();
    table.rating = columns.contains("rating")
                       ? to_vector<float>(columns["rating"], where + "['rating']")
                       : std::vector<float>(n, 1.0f);
    if (columns.contains("timestamp")) {
      table.timestamp = to_vector<int64_t>(columns["timestamp"], where + "['timestamp']");
      // A later split without timestamps still comes after this one.
      for (int64_t time : table.timestamp) clock = std::max(clock, time + 1);
    } else {
      for (std::size_t row = 0; row < n; ++row) table.timestamp.push_back(clock++);
    }
    for (int32_t u : table.user) max_user = std::max(max_user, u);
    for (int32_t i : table.item) max_item = std::max(max_item, i);
  }
  // Dense ids are int32, and the pad item is one past the last item.
  constexpr int64_t kMaxCount = std::numeric_limits<int32_t>::max() - 1;
  const auto count = [](const py::object& given, const py::object& ids, int32_t max_id,
                        const char* what) -> std::size_t {
    if (!given.is_none()) return static_cast<std::size_t>(count_argument(given, what, kMaxCount));
    if (!ids.is_none()) return static_cast<std::size_t>(py::len(ids));
    return static_cast<std::size_t>(max_id + 1);
  };
  dataset.users =
      raw_ids(user_ids, count(n_users_given, user_ids, max_user, "n_users"), "user_ids");
  dataset.items =
      raw_ids(item_ids, count(n_items_given, item_ids, max_item, "n_items"), "item_ids");
  check_dataset(dataset, "trd.Dataset.from_splits");
  return dataset;
}

py::dict split_columns(const Dataset& dataset, const std::string& name, py::handle owner) {
  const InteractionTable& table = dataset.splits[split_named(name, "split")];
  py::dict columns;
  columns["user"] = vector_view(table.user, owner);
  columns["item"] = vector_view(table.item, owner);
  columns["rating"] = vector_view(table.rating, owner);
  columns["timestamp"] = vector_view(table.timestamp, owner);
  return columns;
}

Knowledge make_knowledge(const std::string& teacher, const std::string& stage,
                         const py::object& ranking_items, const py::object& ranking_scores,
                         const py::object& dataset, const py::object& n_users,
                         const py::object& n_items, const py::object& user_embeddings,
                         const py::object& item_embeddings, const py::object& neighbour_items,
                         const py::object& neighbour_weights, int64_t candidates,
                         int64_t candidate_seed, const std::string& fit_on) {
  Knowledge k;
  k.teacher = teacher;
  k.stage = kSplitNames[parse_stage(stage, "stage")];
  if (!dataset.is_none()) {
    if (!py::isinstance<Dataset>(dataset)) {
      throw py::type_error("trd.Knowledge: dataset must be a trd.Dataset (trd.read_dataset)");
    }
    if (!n_users.is_none() || !n_items.is_none()) {
      throw InputError("trd.Knowledge: give the dataset or n_users and n_items, not both");
    }
    const Dataset& from = dataset.cast<const Dataset&>();
    k.dataset = from.provenance.name;
    k.dataset_fingerprint = dataset_fingerprint(from);
    k.n_users = from.n_users();
    k.n_items = from.n_items();
  } else if (n_users.is_none() || n_items.is_none()) {
    throw InputError("trd.Knowledge: give the dataset, or n_users and n_items");
  } else {
    constexpr int64_t kMaxCount = std::numeric_limits<int32_t>::max() - 1;
    k.n_users = count_argument(n_users, "trd.Knowledge: n_users", kMaxCount);
    k.n_items = count_argument(n_items, "trd.Knowledge: n_items", kMaxCount);
  }
  k.ranking_items = to_matrix<RowMatrixXi>(ranking_items, "ranking_items");
  k.ranking_scores = to_matrix<RowMatrixXf>(ranking_scores, "ranking_scores");
  if (user_embeddings.is_none() != item_embeddings.is_none()) {
    throw InputError("trd.Knowledge: give both user_embeddings and item_embeddings, or neither");
  }
  if (!user_embeddings.is_none()) {
    k.user_embeddings = to_matrix<RowMatrixXf>(user_embeddings, "user_embeddings");
    k.item_embeddings = to_matrix<RowMatrixXf>(item_embeddings, "item_embeddings");
  }
  if (neighbour_items.is_none() != neighbour_weights.is_none()) {
    throw InputError("trd.Knowledge: give both neighbour_items and neighbour_weights, or neither");
  }
  if (!neighbour_items.is_none()) {
    k.neighbour_items = to_matrix<RowMatrixXi>(neighbour_items, "neighbour_items");
    k.neighbour_weights = to_matrix<RowMatrixXf>(neighbour_weights, "neighbour_weights");
  }
  k.protocol.recorded = true;
  k.protocol.candidates = candidates;
  k.protocol.candidate_seed = candidate_seed;
  k.protocol.fit_on = fit_on;
  check_knowledge(k, "trd.Knowledge");
  return k;
}

// ---------------------------------------------------------------------------
// Environments.

EnvSettings env_settings(int n_actions, int history_length, int episode_length,
                         const std::string& reward, const std::string& feedback,
                         const py::object& features) {
  EnvSettings settings;
  settings.n_actions = n_actions;
  settings.history_length = history_length;
  settings.episode_length = episode_length;
  settings.reward = parse_reward_kind(reward);
  settings.feedback = parse_feedback(feedback, "feedback");
  if (py::isinstance<py::str>(features)) {
    settings.features = parse_slot_features(features.cast<std::string>(), "features");
  } else {
    std::string names;
    if (!py::isinstance<py::iterable>(features)) {
      throw py::type_error("features: expected a comma-separated string or a list of names");
    }
    for (const py::handle name : features) {
      names += (names.empty() ? "" : ",") + py::str(name).cast<std::string>();
    }
    settings.features = parse_slot_features(names.empty() ? "none" : names, "features");
  }
  check_env_settings(settings);
  return settings;
}

py::dict settings_dict(const EnvSettings& s) {
  static const char* kRewardNames[] = {"dcg", "binary", "graded"};
  py::dict out;
  out["n_actions"] = s.n_actions;
  out["history_length"] = s.history_length;
  out["episode_length"] = s.episode_length;
  out["reward"] = kRewardNames[static_cast<int>(s.reward)];
  out["feedback"] = feedback_name(s.feedback);
  out["features"] = slot_features_text(s.features);
  return out;
}

py::dict spaces_dict(const Spaces& s) {
  py::dict out;
  out["n_actions"] = s.n_actions;
  out["history_length"] = s.history_length;
  out["episode_length"] = s.episode_length;
  out["n_users"] = s.n_users;
  out["n_items"] = s.n_items;
  out["pad_item"] = s.pad_item;
  out["embedding_dim"] = s.embedding_dim;
  out["n_features"] = s.n_features;
  return out;
}

// Views of a batch's rows; `single` drops the batch axis (RecEnv).
py::dict observation_views(const ObservationBatch& obs, py::handle owner, bool single) {
  const py::ssize_t b = obs.batch, h = obs.history_length, a = obs.n_actions, f = obs.n_features;
  auto shape = [&](std::vector<py::ssize_t> rest) {
    if (!single) rest.insert(rest.begin(), b);
    return rest;
  };
  py::dict out;
  out["user"] = single ? py::object(view(obs.user.data(), {}, owner))
                       : py::object(vector_view(obs.user, owner));
  out["t"] =
      single ? py::object(view(obs.t.data(), {}, owner)) : py::object(vector_view(obs.t, owner));
  out["history"] = view(obs.history.data(), shape({h}), owner);
  out["window"] = view(obs.window.data(), shape({a}), owner);
  out["action_mask"] = view(obs.mask.data(), shape({a}), owner);
  out["teacher_score"] = view(obs.teacher_score.data(), shape({a}), owner);
  out["teacher_rank"] = view(obs.teacher_rank.data(), shape({a}), owner);
  out["features"] = view(obs.features.data(), shape({a, f}), owner);
  return out;
}

// What both envs own: the env data, built once from the dataset and knowledge.
std::shared_ptr<const EnvData> env_data(const Dataset& dataset, const Knowledge& knowledge,
                                        const std::string& split) {
  check_knowledge_matches(knowledge, "knowledge", dataset, "dataset");
  return std::make_shared<const EnvData>(
      make_env_data(dataset, knowledge, parse_stage(split, "split")));
}

class FeatureTables {
 public:
  explicit FeatureTables(std::shared_ptr<const EnvData> data) : data_(std::move(data)) {}
  const EnvData& data() const { return *data_; }

 private:
  std::shared_ptr<const EnvData> data_;
};

class SingleEnv {
 public:
  SingleEnv(const Dataset& dataset, const Knowledge& knowledge, const std::string& split,
            const EnvSettings& settings)
      : data_(env_data(dataset, knowledge, split)), settings_(settings), env_(*data_, settings) {}

  py::dict reset(uint64_t seed, int32_t user) {
    const ResetResult result = env_.reset(seed, user);
    py::dict info;
    info["list_length"] = result.info.list_length;
    info["rewarded_items"] = result.info.rewarded_items;
    return info;
  }
  py::tuple step(int action) {
    const StepResult result = env_.step(action);
    py::dict info;
    info["item"] = result.info.item;
    info["hit"] = result.info.hit;
    return py::make_tuple(result.reward, result.terminated, result.truncated, info);
  }
  const RecEnv& env() const { return env_; }
  const EnvSettings& settings() const { return settings_; }
  const std::shared_ptr<const EnvData>& data() const { return data_; }

 private:
  std::shared_ptr<const EnvData> data_;
  EnvSettings settings_;
  RecEnv env_;
};

class BatchEnv {
 public:
  BatchEnv(const Dataset& dataset, const Knowledge& knowledge, const std::string& split,
           const EnvSettings& settings, int num_envs, const py::object& users,
           const std::string& order)
      : data_(env_data(dataset, knowledge, split)),
        settings_(settings),
        env_(*data_, settings, vec_settings(num_envs, users, order)) {}

  void reset(uint64_t seed) { env_.reset(seed); }
  void step(const py::object& actions) {
    const auto array = checked_array<int32_t>(actions, "step: actions", 1);
    if (array.shape(0) != env_.batch()) {
      throw InputError("step: actions must be an integer array of shape (" +
                       std::to_string(env_.batch()) + ",)");
    }
    env_.step(array.data());
    // Python keeps views of the observations across steps, so the features
    // the env computes on read are computed here.
    env_.observations();
    env_.final_observations();
  }
  const VecRecEnv& env() const { return env_; }
  const EnvSettings& settings() const { return settings_; }
  const std::shared_ptr<const EnvData>& data() const { return data_; }

  /// Seconds `steps` steps of C++'s uniform random policy take on this env,
  /// reading the observations with their features as the Python views do
  /// (trd bench env's random+read loop), for bench/python_env.py's same-run
  /// comparison.
  double time_cpp_random_policy(int64_t steps, uint64_t seed) {
    std::mt19937_64 engine(seed);
    std::vector<int32_t> actions;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t step = 0; step < steps; ++step) {
      random_policy(env_.observations(), engine, actions);
      env_.step(actions.data());
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  static VecSettings vec_settings(int num_envs, const py::object& users, const std::string& order) {
    VecSettings vec;
    vec.batch = num_envs;
    if (!users.is_none()) {
      vec.users = to_vector<int32_t>(users, "users");
      if (vec.users.empty()) throw InputError("users: empty (None plays every user)");
    }
    if (order == "random") {
      vec.order = UserOrder::kRandom;
    } else if (order == "sequential") {
      vec.order = UserOrder::kSequential;
    } else {
      throw InputError("order '" + order + "': expected random or sequential");
    }
    return vec;
  }

  std::shared_ptr<const EnvData> data_;
  EnvSettings settings_;
  VecRecEnv env_;
};

// ---------------------------------------------------------------------------
// Metrics.

py::object evaluate_lists(const py::object& lists, const Dataset& dataset, const std::string& split,
                        const std::vector<int>& ks, int n_candidates, uint64_t candidate_seed) {
  const RowMatrixXi items = to_matrix<RowMatrixXi>(lists, "lists");
  if (items.rows() != dataset.n_users()) {
    throw InputError("lists: " + std::to_string(items.rows()) + " rows, but the dataset has " +
                     std::to_string(dataset.n_users()) + " users");
  }
  if (n_candidates < 0) throw InputError("candidates must be 0 (full ranking) or positive");
  check_ranked_items(items, dataset.n_items(), "trd.evaluate", "lists");
  const Split stage = parse_stage(split, "split");
  const SplitUsers users(dataset, stage);
  std::optional<UserItems> candidates;
  if (n_candidates > 0) {
    candidates = make_candidates(users.seen, users.held_out, dataset.n_items(), n_candidates,
                                 candidate_seed);
  }
  const Evaluation evaluation =
      evaluate(items, users.held_out, users.seen, candidates ? &*candidates : nullptr, ks);
  nlohmann::json figures = evaluation_figures(evaluation);
  figures.update({{"split", kSplitNames[stage]}, {"candidates", n_candidates}});
  return py::module_::import("json").attr("loads")(figures.dump());
}

}  // namespace
}  // namespace trd::python

PYBIND11_MODULE(_trd, m) {
  using namespace trd;
  using namespace trd::python;
  m.doc() = "The C++ core of the trd package (see trd.__doc__).";
  py::register_exception<InputError>(m, "InputError", PyExc_ValueError);

  py::class_<Dataset>(m, "Dataset")
      .def_static("from_splits", &dataset_from_splits, py::arg("splits"), py::kw_only(),
                  py::arg("user_ids") = py::none(), py::arg("item_ids") = py::none(),
                  py::arg("n_users") = py::none(), py::arg("n_items") = py::none(),
                  py::arg("name") = "python")
      .def_property_readonly("n_users", &Dataset::n_users)
      .def_property_readonly("n_items", &Dataset::n_items)
      .def_property_readonly("n_interactions", &Dataset::n_interactions)
      .def_property_readonly("name", [](const Dataset& d) { return d.provenance.name; })
      .def_property_readonly("fingerprint", [](const Dataset& d) { return dataset_fingerprint(d); })
      .def_property_readonly("user_ids", [](const Dataset& d) { return raw_id_list(d.users); })
      .def_property_readonly("item_ids", [](const Dataset& d) { return raw_id_list(d.items); })
      .def(
          "split",
          [](py::object self, const std::string& name) {
            return split_columns(self.cast<const Dataset&>(), name, self);
          },
          py::arg("name"))
      .def("__repr__", [](const Dataset& d) {
        return "<trd.Dataset " + d.provenance.name + ": " + std::to_string(d.n_users()) +
               " users, " + std::to_string(d.n_items()) + " items, " +
               std::to_string(d.n_interactions()) + " interactions>";
      });
  m.def("read_dataset", &read_dataset, py::arg("path"));
  m.def(
      "write_dataset", [](const std::string& path, const Dataset& d) { write_dataset(d, path); },
      py::arg("path"), py::arg("dataset"));

  py::class_<Knowledge>(m, "Knowledge")
      .def(py::init(&make_knowledge), py::kw_only(), py::arg("teacher"), py::arg("stage"),
           py::arg("ranking_items"), py::arg("ranking_scores"), py::arg("dataset") = py::none(),
           py::arg("n_users") = py::none(), py::arg("n_items") = py::none(),
           py::arg("user_embeddings") = py::none(), py::arg("item_embeddings") = py::none(),
           py::arg("neighbour_items") = py::none(), py::arg("neighbour_weights") = py::none(),
           py::arg("candidates") = 0, py::arg("candidate_seed") = 0, py::arg("fit_on") = "")
      .def_readonly("teacher", &Knowledge::teacher)
      .def_readonly("dataset", &Knowledge::dataset)
      .def_readonly("dataset_fingerprint", &Knowledge::dataset_fingerprint)
      .def_readonly("stage", &Knowledge::stage)
      .def_readonly("n_users", &Knowledge::n_users)
      .def_readonly("n_items", &Knowledge::n_items)
      .def_property_readonly("dim", &Knowledge::dim)
      .def_property_readonly("candidates", [](const Knowledge& k) { return k.protocol.candidates; })
      .def_property_readonly("candidate_seed",
                             [](const Knowledge& k) { return k.protocol.candidate_seed; })
      .def_property_readonly("fit_on", [](const Knowledge& k) { return k.protocol.fit_on; })
      .def_property_readonly("ranking_items",
                             [](py::object self) {
                               return matrix_view(self.cast<const Knowledge&>().ranking_items,
                                                  self);
                             })
      .def_property_readonly("ranking_scores",
                             [](py::object self) {
                               return matrix_view(self.cast<const Knowledge&>().ranking_scores,
                                                  self);
                             })
      .def_property_readonly("user_embeddings",
                             [](py::object self) -> py::object {
                               const Knowledge& k = self.cast<const Knowledge&>();
                               if (!k.has_embeddings()) return py::none();
                               return matrix_view(k.user_embeddings, self);
                             })
      .def_property_readonly("item_embeddings",
                             [](py::object self) -> py::object {
                               const Knowledge& k = self.cast<const Knowledge&>();
                               if (!k.has_embeddings()) return py::none();
                               return matrix_view(k.item_embeddings, self);
                             })
      .def_property_readonly("neighbour_items",
                             [](py::object self) -> py::object {
                               const Knowledge& k = self.cast<const Knowledge&>();
                               if (!k.has_neighbours()) return py::none();
                               return matrix_view(k.neighbour_items, self);
                             })
      .def_property_readonly("neighbour_weights",
                             [](py::object self) -> py::object {
                               const Knowledge& k = self.cast<const Knowledge&>();
                               if (!k.has_neighbours()) return py::none();
                               return matrix_view(k.neighbour_weights, self);
                             })
      .def("__repr__", [](const Knowledge& k) {
        return "<trd.Knowledge " + k.teacher + " for stage " + k.stage + ": " +
               std::to_string(k.n_users) + " users x " + std::to_string(k.list_length()) +
               " items, dim " + std::to_string(k.dim()) + ">";
      });
  m.def("read_knowledge", &read_knowledge, py::arg("path"));
  m.def(
      "write_knowledge",
      [](const std::string& path, const Knowledge& k) { write_knowledge(k, path); },
      py::arg("path"), py::arg("knowledge"));

  m.def("env_settings", &env_settings, py::arg("n_actions"), py::arg("history_length"),
        py::arg("episode_length"), py::arg("reward"), py::arg("feedback"), py::arg("features"));
  py::class_<EnvSettings>(m, "EnvSettings").def("as_dict", &settings_dict);

  py::class_<FeatureTables>(m, "FeatureTables")
      .def_property_readonly("user_embeddings",
                             [](py::object self) {
                               return matrix_view(
                                   self.cast<const FeatureTables&>().data().user_embeddings, self);
                             })
      .def_property_readonly("item_embeddings", [](py::object self) {
        return matrix_view(self.cast<const FeatureTables&>().data().item_embeddings, self);
      });

  py::class_<SingleEnv>(m, "SingleEnv")
      .def(py::init<const Dataset&, const Knowledge&, const std::string&, const EnvSettings&>())
      .def("reset", &SingleEnv::reset, py::arg("seed"), py::arg("user"))
      .def("step", &SingleEnv::step, py::arg("action"))
      .def_property_readonly("done", [](const SingleEnv& e) { return e.env().done(); })
      .def_property_readonly("spaces",
                             [](const SingleEnv& e) { return spaces_dict(e.env().spaces()); })
      .def_property_readonly("settings",
                             [](const SingleEnv& e) { return settings_dict(e.settings()); })
      .def("observation_views",
           [](py::object self) {
             return observation_views(self.cast<const SingleEnv&>().env().observations(), self,
                                      true);
           })
      .def("playable_users", [](const SingleEnv& e) { return playable_users(*e.data()); })
      .def("feature_tables", [](const SingleEnv& e) { return FeatureTables(e.data()); });

  py::class_<BatchEnv>(m, "BatchEnv")
      .def(py::init<const Dataset&, const Knowledge&, const std::string&, const EnvSettings&, int,
                    const py::object&, const std::string&>())
      .def("reset", &BatchEnv::reset, py::arg("seed"))
      .def("step", &BatchEnv::step, py::arg("actions"))
      .def("time_cpp_random_policy", &BatchEnv::time_cpp_random_policy, py::arg("steps"),
           py::arg("seed"))
      .def_property_readonly("num_envs", [](const BatchEnv& e) { return e.env().batch(); })
      .def_property_readonly("all_done", [](const BatchEnv& e) { return e.env().all_done(); })
      .def_property_readonly("spaces",
                             [](const BatchEnv& e) { return spaces_dict(e.env().spaces()); })
      .def_property_readonly("settings",
                             [](const BatchEnv& e) { return settings_dict(e.settings()); })
      .def_property_readonly("users", [](const BatchEnv& e) { return e.env().users(); })
      .def("observation_views",
           [](py::object self) {
             return observation_views(self.cast<const BatchEnv&>().env().observations(), self,
                                      false);
           })
      .def("final_observation_views",
           [](py::object self) {
             return observation_views(self.cast<const BatchEnv&>().env().final_observations(), self,
                                      false);
           })
      .def("step_views",
           [](py::object self) {
             const VecRecEnv& env = self.cast<const BatchEnv&>().env();
             const StepBatch& step = env.step_batch();
             const py::ssize_t b = env.batch();
             py::dict out;
             out["reward"] = vector_view(step.reward, self);
             out["terminated"] = bool_view(step.terminated, {b}, self);
             out["truncated"] = bool_view(step.truncated, {b}, self);
             out["item"] = vector_view(step.item, self);
             out["hit"] = bool_view(step.hit, {b}, self);
             out["active"] = bool_view(env.observations_without_features().active, {b}, self);
             return out;
           })
      .def("feature_tables", [](const BatchEnv& e) { return FeatureTables(e.data()); });

  m.def(
      "check_knowledge_use",
      [](const Knowledge& knowledge, const Dataset& dataset, int candidates, uint64_t seed) {
        check_knowledge_matches(knowledge, "knowledge", dataset, "dataset");
        check_candidates(knowledge, "knowledge", candidates, seed);
      },
      py::arg("knowledge"), py::arg("dataset"), py::arg("candidates"), py::arg("candidate_seed"));
  m.def("evaluate", &evaluate_lists, py::arg("lists"), py::arg("dataset"), py::arg("split"),
        py::arg("ks"), py::arg("candidates"), py::arg("candidate_seed"));
}
