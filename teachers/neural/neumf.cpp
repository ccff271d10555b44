#include "teachers/neural/neumf.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "data/error.hpp"
#include "torch_support/thread_scope.hpp"

namespace trd {
namespace {

constexpr int64_t kBatchSize = 1024;
// score() handles at most this many (user, item) pairs at once, which bounds
// its activations (about 2 * dim floats a pair) whatever the batch.
constexpr int64_t kScorePairs = int64_t{1} << 16;
constexpr const char* kStatePrefix = "neumf/";
constexpr const char* kAdamPrefix = "neumf/adam/";
// Adam's step count, stored as a float: exact up to 2^24 steps, and beyond
// that Adam's bias correction no longer depends on it.
constexpr const char* kAdamStep = "neumf/adam/step";

class NeuMfNetImpl : public torch::nn::Module {
 public:
  NeuMfNetImpl(int64_t n_users, int64_t n_items, int64_t dim)
      : gmf_user_(register_module("gmf_user", torch::nn::Embedding(n_users, dim))),
        gmf_item_(register_module("gmf_item", torch::nn::Embedding(n_items, dim))),
        mlp_user_(register_module("mlp_user", torch::nn::Embedding(n_users, dim))),
        mlp_item_(register_module("mlp_item", torch::nn::Embedding(n_items, dim))),
        mlp0_(register_module("mlp0", torch::nn::Linear(2 * dim, dim))),
        mlp1_(register_module("mlp1", torch::nn::Linear(dim, dim / 2))),
        out_(register_module("out", torch::nn::Linear(dim + dim / 2, 1))) {
    // As the widely used PyTorch port of He et al.'s code (guoyang9/NCF):
    // N(0, 0.01) embeddings as in the paper, Glorot hidden layers, a
    // LeCun-uniform output layer (Kaiming with gain 1), zero biases.
    torch::NoGradGuard no_grad;
    for (torch::nn::Embedding& table :
         {std::ref(gmf_user_), std::ref(gmf_item_), std::ref(mlp_user_), std::ref(mlp_item_)}) {
      torch::nn::init::normal_(table->weight, /*mean=*/0.0, /*std=*/0.01);
    }
    for (torch::nn::Linear& layer : {std::ref(mlp0_), std::ref(mlp1_)}) {
      torch::nn::init::xavier_uniform_(layer->weight);
      torch::nn::init::zeros_(layer->bias);
    }
    torch::nn::init::kaiming_uniform_(out_->weight, /*a=*/1.0);
    torch::nn::init::zeros_(out_->bias);
  }

  /// Logits of the pairs (users[k], items[k]).
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) {
    const torch::Tensor gmf = gmf_user_(users) * gmf_item_(items);
    torch::Tensor mlp = torch::cat({mlp_user_(users), mlp_item_(items)}, /*dim=*/1);
    mlp = torch::relu(mlp0_(mlp));
    mlp = torch::relu(mlp1_(mlp));
    return out_(torch::cat({gmf, mlp}, /*dim=*/1)).squeeze(1);
  }

  /// Logits of every item for each of `users`, [users, n_items]: forward() on
  /// all pairs, but with mlp0 split into its user and item halves
  /// (W [u; i] = W_u u + W_i i) and the output layer folded into the GMF
  /// product, so the first layer costs users + items rows, not users * items.
  /// `item_half` is item_half(), computed once for many calls.
  torch::Tensor score_all(const torch::Tensor& users, const torch::Tensor& item_half) {
    const int64_t dim = this->dim();
    const torch::Tensor user_half = torch::nn::functional::linear(
        mlp_user_(users), mlp0_->weight.slice(1, 0, dim), mlp0_->bias);
    torch::Tensor hidden = torch::relu(user_half.unsqueeze(1) + item_half.unsqueeze(0));
    hidden = torch::relu(mlp1_(hidden));
    const torch::Tensor w_out = out_->weight.squeeze(0);
    const torch::Tensor gmf =
        torch::matmul(gmf_user_(users) * w_out.slice(0, 0, dim), gmf_item_->weight.t());
    return gmf + torch::matmul(hidden, w_out.slice(0, dim)) + out_->bias;
  }

  /// Every item's share of mlp0's pre-activation, [n_items, dim].
  torch::Tensor item_half() {
    const int64_t dim = this->dim();
    return torch::nn::functional::linear(mlp_item_->weight, mlp0_->weight.slice(1, dim, 2 * dim));
  }

  /// Sum of squares of the embedding rows the pairs use (the L2 penalty).
  torch::Tensor embedding_norm(const torch::Tensor& users, const torch::Tensor& items) {
    return gmf_user_(users).square().sum() + gmf_item_(items).square().sum() +
           mlp_user_(users).square().sum() + mlp_item_(items).square().sum();
  }

  /// [rows, 2 * dim]: each user's (or item's) GMF and MLP embeddings side by side.
  torch::Tensor user_embeddings() const {
    return torch::cat({gmf_user_->weight, mlp_user_->weight}, /*dim=*/1);
  }
  torch::Tensor item_embeddings() const {
    return torch::cat({gmf_item_->weight, mlp_item_->weight}, /*dim=*/1);
  }

  int64_t n_users() const { return gmf_user_->weight.size(0); }
  int64_t n_items() const { return gmf_item_->weight.size(0); }
  int64_t dim() const { return gmf_item_->weight.size(1); }

 private:
  torch::nn::Embedding gmf_user_, gmf_item_, mlp_user_, mlp_item_;
  torch::nn::Linear mlp0_, mlp1_, out_;
};
TORCH_MODULE(NeuMfNet);

// Uniform in [0, n) from the engine's raw bits by rejection: std's
// distributions differ between standard libraries, which would change the
// samples (and so the model) from one platform to the next.
uint64_t uniform_below(std::mt19937_64& engine, uint64_t n) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = kMax - kMax % n;  // a multiple of n
  uint64_t bits = engine();
  while (bits >= limit) bits = engine();
  return bits % n;
}

std::string shape_text(int64_t rows, int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

// Parameters are stored 2-D; biases (1-D) as one row.
std::pair<int64_t, int64_t> stored_shape(const torch::Tensor& parameter) {
  return parameter.dim() == 1 ? std::make_pair(int64_t{1}, parameter.size(0))
                              : std::make_pair(parameter.size(0), parameter.size(1));
}

RowMatrixXf to_matrix(const torch::Tensor& tensor) {
  const torch::Tensor dense = tensor.detach().to(torch::kFloat32).contiguous();
  const auto [rows, cols] = stored_shape(dense);
  RowMatrixXf matrix(rows, cols);
  std::memcpy(matrix.data(), dense.data_ptr<float>(), sizeof(float) * dense.numel());
  return matrix;
}

// Adam with an explicit zero state for every parameter (what Adam creates at
// its first step anyway), so that the moments can be exported and restored
// before any step has run.
std::unique_ptr<torch::optim::Adam> make_adam(NeuMfNetImpl& net, float lr) {
  auto adam = std::make_unique<torch::optim::Adam>(net.parameters(), torch::optim::AdamOptions(lr));
  for (const torch::Tensor& parameter : net.parameters()) {
    auto state = std::make_unique<torch::optim::AdamParamState>();
    state->exp_avg(torch::zeros_like(parameter));
    state->exp_avg_sq(torch::zeros_like(parameter));
    adam->state()[c10::guts::to_string(parameter.unsafeGetTensorImpl())] = std::move(state);
  }
  return adam;
}

torch::optim::AdamParamState& adam_state(torch::optim::Adam& adam, const torch::Tensor& parameter) {
  return static_cast<torch::optim::AdamParamState&>(
      *adam.state().at(c10::guts::to_string(parameter.unsafeGetTensorImpl())));
}

// Every tensor a warm start restores, under its teacher_state name: the
// parameters and Adam's two moment estimates of each. Without the moments a
// warm start would begin with a fresh Adam, whose first steps move every
// weight by about lr whatever its gradient's noise, jolting the embedding
// space the student learned on. Adam's step count goes separately (kAdamStep).
std::vector<std::pair<std::string, torch::Tensor>> state_tensors(NeuMfNetImpl& net,
                                                                 torch::optim::Adam& adam) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : net.named_parameters()) {
    tensors.emplace_back(kStatePrefix + item.key(), item.value());
  }
  for (const auto& item : net.named_parameters()) {
    torch::optim::AdamParamState& state = adam_state(adam, item.value());
    tensors.emplace_back(kAdamPrefix + item.key() + ".exp_avg", state.exp_avg());
    tensors.emplace_back(kAdamPrefix + item.key() + ".exp_avg_sq", state.exp_avg_sq());
  }
  return tensors;
}

// Copies the whole training state from `knowledge.teacher_state`, checking
// that it holds exactly this network's tensors with this network's shapes.
void restore(NeuMfNetImpl& net, torch::optim::Adam& adam, const Knowledge& knowledge) {
  const std::string context = "--init knowledge (" + knowledge.teacher +
                              ") cannot warm-start neumf on " + std::to_string(net.n_users()) +
                              " users, " + std::to_string(net.n_items()) + " items, --dim " +
                              std::to_string(net.dim());
  auto stored_matrix = [&](const std::string& name, int64_t rows,
                           int64_t cols) -> const RowMatrixXf& {
    const auto found = knowledge.teacher_state.find(name);
    if (found == knowledge.teacher_state.end()) {
      throw InputError(context + ": teacher_state has no \"" + name + "\" (expected " +
                       shape_text(rows, cols) + "); was the knowledge exported by NeuMF?");
    }
    const RowMatrixXf& stored = found->second;
    if (stored.rows() != rows || stored.cols() != cols) {
      throw InputError(context + ": teacher_state \"" + name + "\" is " +
                       shape_text(stored.rows(), stored.cols()) + ", expected " +
                       shape_text(rows, cols));
    }
    if (!stored.allFinite()) {
      throw InputError(context + ": teacher_state \"" + name + "\" has non-finite values");
    }
    return stored;
  };
  torch::NoGradGuard no_grad;
  std::set<std::string> expected = {kAdamStep};
  for (auto& [name, tensor] : state_tensors(net, adam)) {
    const auto [rows, cols] = stored_shape(tensor);
    const RowMatrixXf& stored = stored_matrix(name, rows, cols);
    tensor.copy_(
        torch::from_blob(const_cast<float*>(stored.data()), tensor.sizes(), torch::kFloat32));
    expected.insert(name);
  }
  const float step = stored_matrix(kAdamStep, 1, 1)(0, 0);
  if (step < 0 || step != std::floor(step)) {
    throw InputError(context + ": teacher_state \"" + kAdamStep + "\" is " + std::to_string(step) +
                     ", expected a count >= 0");
  }
  for (const torch::Tensor& parameter : net.parameters()) {
    adam_state(adam, parameter).step(static_cast<int64_t>(step));
  }
  // A tensor this network lacks means another architecture (or dim) wrote the
  // state; using part of it would silently train a different model.
  for (const auto& [name, stored] : knowledge.teacher_state) {
    if (name.rfind(kStatePrefix, 0) == 0 && expected.count(name) == 0) {
      throw InputError(context + ": teacher_state \"" + name + "\" " +
                       shape_text(stored.rows(), stored.cols()) +
                       " is not part of this network's state");
    }
  }
}

// Each user's distinct seen items, sorted, for O(log n) membership tests.
std::vector<std::vector<int32_t>> sorted_seen(const UserItems& seen) {
  std::vector<std::vector<int32_t>> sets(static_cast<std::size_t>(seen.n_users()));
  for (int32_t user = 0; user < seen.n_users(); ++user) {
    std::vector<int32_t>& items = sets[user];
    items.assign(seen.begin(user), seen.end(user));
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
  }
  return sets;
}

// One epoch's training pairs: every positive followed by its negatives.
struct Samples {
  std::vector<int64_t> users;
  std::vector<int64_t> items;
  std::vector<float> labels;

  void push_back(int64_t user, int64_t item, float label) {
    users.push_back(user);
    items.push_back(item);
    labels.push_back(label);
  }
  int64_t size() const { return static_cast<int64_t>(users.size()); }
};

void draw_samples(const UserItems& seen, const std::vector<std::vector<int32_t>>& seen_sets,
                  int32_t n_items, int negatives, std::mt19937_64& engine, Samples& samples) {
  samples.users.clear();
  samples.items.clear();
  samples.labels.clear();
  for (int32_t user = 0; user < seen.n_users(); ++user) {
    const std::vector<int32_t>& user_seen = seen_sets[user];
    // A user who has met every item has no negatives to draw.
    const int user_negatives = static_cast<int64_t>(user_seen.size()) < n_items ? negatives : 0;
    for (const int32_t* positive = seen.begin(user); positive != seen.end(user); ++positive) {
      samples.push_back(user, *positive, 1.0f);
      for (int k = 0; k < user_negatives; ++k) {
        int32_t item = 0;
        do {
          item = static_cast<int32_t>(uniform_below(engine, static_cast<uint64_t>(n_items)));
        } while (std::binary_search(user_seen.begin(), user_seen.end(), item));
        samples.push_back(user, item, 0.0f);
      }
    }
  }
  // Fisher-Yates on the three columns together.
  for (int64_t i = samples.size() - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(uniform_below(engine, static_cast<uint64_t>(i) + 1));
    std::swap(samples.users[i], samples.users[j]);
    std::swap(samples.items[i], samples.items[j]);
    std::swap(samples.labels[i], samples.labels[j]);
  }
}

}  // namespace

struct NeuMf::Net {
  NeuMfNet module;
  std::unique_ptr<torch::optim::Adam> adam;
};

NeuMf::NeuMf(const TeacherSettings& settings) : settings_(settings) {
  auto require = [](bool ok, const std::string& rule, const std::string& got) {
    if (!ok) throw InputError("neumf needs " + rule + ", got " + got);
  };
  require(settings.dim >= 2, "--dim >= 2 (the MLP's last layer has dim / 2 units)",
          std::to_string(settings.dim));
  require(settings.epochs >= 0, "--epochs >= 0", std::to_string(settings.epochs));
  require(settings.lr > 0, "--lr > 0", std::to_string(settings.lr));
  require(settings.negatives >= 0, "--negatives >= 0", std::to_string(settings.negatives));
  require(settings.l2 >= 0, "--l2 >= 0", std::to_string(settings.l2));
  require(settings.threads >= 1 && settings.threads <= kMaxThreads, "--threads in [1, 256]",
          std::to_string(settings.threads));
}

NeuMf::~NeuMf() = default;

void NeuMf::fit(const TrainingSet& data, const Knowledge* warm_start,
                const EpochCallback& on_epoch) {
  if (data.n_users < 1 || data.n_items < 1) {
    throw InputError("neumf needs at least one user and one item, got " +
                     std::to_string(data.n_users) + " users and " + std::to_string(data.n_items) +
                     " items");
  }
  if (data.seen.n_users() != data.n_users) {
    throw std::invalid_argument("NeuMf::fit: seen lists cover " +
                                std::to_string(data.seen.n_users()) + " users, data has " +
                                std::to_string(data.n_users));
  }
  const ThreadScope threads(settings_.threads);
  torch::manual_seed(settings_.seed);
  NeuMfNet module(data.n_users, data.n_items, settings_.dim);
  std::unique_ptr<torch::optim::Adam> adam = make_adam(*module, settings_.lr);
  if (warm_start != nullptr) restore(*module, *adam, *warm_start);

  const std::vector<std::vector<int32_t>> seen_sets = sorted_seen(data.seen);
  std::mt19937_64 engine(settings_.seed);
  Samples samples;
  for (int epoch = 1; epoch <= settings_.epochs; ++epoch) {
    draw_samples(data.seen, seen_sets, data.n_items, settings_.negatives, engine, samples);
    double loss_sum = 0;
    for (int64_t first = 0; first < samples.size(); first += kBatchSize) {
      const int64_t count = std::min(kBatchSize, samples.size() - first);
      const torch::Tensor users =
          torch::from_blob(samples.users.data() + first, {count}, torch::kInt64);
      const torch::Tensor items =
          torch::from_blob(samples.items.data() + first, {count}, torch::kInt64);
      const torch::Tensor labels =
          torch::from_blob(samples.labels.data() + first, {count}, torch::kFloat32);
      const torch::Tensor loss = torch::nn::functional::binary_cross_entropy_with_logits(
          module->forward(users, items), labels);
      torch::Tensor objective = loss;
      if (settings_.l2 > 0) {
        objective = objective + settings_.l2 * module->embedding_norm(users, items) /
                                    static_cast<double>(count);
      }
      adam->zero_grad();
      objective.backward();
      adam->step();
      loss_sum += loss.item<double>() * static_cast<double>(count);
    }
    if (on_epoch) {
      on_epoch(epoch, settings_.epochs,
               samples.size() > 0 ? loss_sum / static_cast<double>(samples.size()) : 0.0);
    }
  }
  net_ = std::make_unique<Net>(Net{module, std::move(adam)});
}

void NeuMf::score(const std::vector<int32_t>& users, RowMatrixXf& out) const {
  if (!net_) throw std::logic_error("NeuMf::score called before fit()");
  NeuMfNetImpl& net = *net_->module.ptr();
  const int64_t n_users = net.n_users();
  const int64_t n_items = net.n_items();
  for (const int32_t user : users) {
    if (user < 0 || user >= n_users) {
      throw std::out_of_range("NeuMf::score: user " + std::to_string(user) + " not in [0, " +
                              std::to_string(n_users) + ")");
    }
  }
  const ThreadScope threads(settings_.threads);
  const torch::InferenceMode inference;
  out.resize(static_cast<Eigen::Index>(users.size()), n_items);
  const torch::Tensor item_half = net.item_half();
  const int64_t users_per_pass = std::max<int64_t>(1, kScorePairs / n_items);
  const auto n_rows = static_cast<int64_t>(users.size());
  for (int64_t first = 0; first < n_rows; first += users_per_pass) {
    const int64_t count = std::min(users_per_pass, n_rows - first);
    const torch::Tensor batch = torch::tensor(
        std::vector<int64_t>(users.begin() + first, users.begin() + first + count), torch::kInt64);
    const torch::Tensor logits = net.score_all(batch, item_half).contiguous();
    std::memcpy(out.data() + first * n_items, logits.data_ptr<float>(),
                sizeof(float) * count * n_items);
  }
}

void NeuMf::export_state(Knowledge& knowledge) const {
  if (!net_) throw std::logic_error("NeuMf::export_state called before fit()");
  NeuMfNetImpl& net = *net_->module.ptr();
  knowledge.user_embeddings = to_matrix(net.user_embeddings());
  knowledge.item_embeddings = to_matrix(net.item_embeddings());
  for (const auto& [name, tensor] : state_tensors(net, *net_->adam)) {
    knowledge.teacher_state[name] = to_matrix(tensor);
  }
  const int64_t step = adam_state(*net_->adam, net.parameters().front()).step();
  knowledge.teacher_state[kAdamStep] = RowMatrixXf::Constant(1, 1, static_cast<float>(step));
}

}  // namespace trd
