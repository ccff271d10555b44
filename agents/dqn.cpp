#include "agents/dqn.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>

#include "agents/registry.hpp"
#include "agents/replica_group.hpp"
#include "data/error.hpp"
#include "data/random.hpp"
#include "env/policies.hpp"

namespace trd {
namespace {

int64_t slot_inputs(const Spaces& spaces, int64_t dim, const DqnSettings& settings) {
  return spaces.n_features + (settings.slot_embeddings ? 3 * dim : 0);
}

torch::Tensor masked_q_values(QNetworkImpl& network, const ObservationBatch& observations,
                              int episode_length) {
  const torch::NoGradGuard no_grad;
  const ObservationTensors tensors = to_tensors(observations, episode_length, network.ids());
  return network.forward(tensors).add_(tensors.mask_offset);
}

void greedy_actions(const torch::Tensor& q_values, int batch, std::vector<int32_t>& actions) {
  const torch::Tensor best = q_values.argmax(1).to(torch::kInt32).contiguous();
  actions.assign(best.data_ptr<int32_t>(), best.data_ptr<int32_t>() + batch);
}

std::vector<CheckpointDimension> dqn_dimensions(const Spaces& spaces, const DqnSettings& settings,
                                                int64_t dim) {
  std::vector<CheckpointDimension> dimensions = env_dimensions(spaces, dim);
  dimensions.push_back({"hidden", settings.hidden});
  dimensions.push_back({"slot features", spaces.n_features});
  dimensions.push_back({"slot embeddings", settings.slot_embeddings ? 1 : 0});
  dimensions.push_back({"state embeddings", settings.state_embeddings ? 1 : 0});
  return dimensions;
}

void save_network(const std::string& path, const Spaces& spaces, const DqnSettings& settings,
                  const QNetworkImpl& network) {
  save_modules(path, "dqn", dqn_dimensions(spaces, settings, network.embedding_dim()),
               {{"online", &network}});
}

// The greedy policy of a DqnAgent at one moment: what train_agent() judges
// while the agent trains on.
class FrozenDqn : public Agent {
 public:
  FrozenDqn(const Spaces& spaces, const DqnSettings& settings,
            std::shared_ptr<QNetworkImpl> network)
      : spaces_(spaces), settings_(settings), network_(std::move(network)) {}

  std::string name() const override { return "dqn"; }
  void act(const ObservationBatch& observations, bool /*explore*/,
           std::vector<int32_t>& actions) override {
    greedy_actions(masked_q_values(*network_, observations, spaces_.episode_length),
                   observations.batch, actions);
  }
  bool score_slots(const ObservationBatch& observations, std::vector<float>& scores) override {
    copy_values(masked_q_values(*network_, observations, spaces_.episode_length), scores);
    return true;
  }
  void observe(const Transitions& /*transitions*/) override {}
  std::vector<NamedValue> update() override { return {}; }
  nlohmann::json settings() const override { return settings_; }
  void save(const std::string& path) const override {
    save_network(path, spaces_, settings_, *network_);
  }
  void load(const std::string& /*path*/) override {
    throw std::logic_error("a frozen DQN copy cannot load a checkpoint");
  }

 private:
  Spaces spaces_;
  DqnSettings settings_;
  std::shared_ptr<QNetworkImpl> network_;
};

}  // namespace

torch::Tensor best_valid_slots(const torch::Tensor& next_online,
                               const torch::Tensor& next_mask_offset) {
  // What argmax(next_online + next_mask_offset, 1) picks (the first maximum;
  // a NaN wins) in one pass: on [256, 50] ATen's argmax with the sum's
  // temporary took 12 us, this loop 8.
  const torch::Tensor values = next_online.contiguous();
  const torch::Tensor offsets = next_mask_offset.contiguous();
  const int64_t rows = values.size(0);
  const int64_t slots = values.size(1);
  TORCH_CHECK(slots > 0 && offsets.sizes() == values.sizes(),
              "best_valid_slots: values and offsets must be [N, n] alike with n >= 1");
  torch::Tensor best = torch::empty({rows, 1}, torch::kInt64);
  const float* value = values.data_ptr<float>();
  const float* offset = offsets.data_ptr<float>();
  int64_t* chosen = best.data_ptr<int64_t>();
  for (int64_t row = 0; row < rows; ++row, value += slots, offset += slots) {
    int64_t best_slot = 0;
    float best_value = value[0] + offset[0];
    for (int64_t slot = 1; slot < slots && !std::isnan(best_value); ++slot) {
      const float candidate = value[slot] + offset[slot];
      if (candidate > best_value || std::isnan(candidate)) {
        best_slot = slot;
        best_value = candidate;
      }
    }
    chosen[row] = best_slot;
  }
  return best;
}

torch::Tensor dqn_targets(const torch::Tensor& rewards, const torch::Tensor& bootstrap,
                          const torch::Tensor& next_target_at_best, double gamma) {
  // One pass, the same floats as rewards + gamma * where(bootstrap, next, 0)
  // (ATen multiplies by gamma as a float, and this file is built without
  // contracting the two into one FMA): those three operations took 4.4 us
  // on 256 rows.
  const int64_t rows = rewards.numel();
  TORCH_CHECK(bootstrap.numel() == rows && next_target_at_best.numel() == rows,
              "dqn_targets: one reward, flag and next value per row");
  const torch::Tensor reward = rewards.contiguous();
  const torch::Tensor flag = bootstrap.to(torch::kBool).contiguous();
  const torch::Tensor next = next_target_at_best.contiguous();
  torch::Tensor targets = torch::empty({rows}, reward.options());
  const float discount = static_cast<float>(gamma);
  const float* r = reward.data_ptr<float>();
  const bool* bootstraps = flag.data_ptr<bool>();
  const float* value = next.data_ptr<float>();
  float* target = targets.data_ptr<float>();
  for (int64_t row = 0; row < rows; ++row) {
    target[row] = r[row] + discount * (bootstraps[row] ? value[row] : 0.0f);
  }
  return targets;
}

QNetworkImpl::QNetworkImpl(const EnvData& data, const Spaces& spaces, const DqnSettings& settings)
    : QNetworkImpl(EmbeddingTables(data, settings.dim, settings.train_embeddings), spaces,
                   settings) {}

QNetworkImpl::QNetworkImpl(EmbeddingTables embeddings, const Spaces& spaces,
                           const DqnSettings& settings)
    : pad_item_(spaces.pad_item),
      slot_embeddings_(settings.slot_embeddings),
      state_embeddings_(settings.state_embeddings),
      train_embeddings_(settings.train_embeddings) {
  embeddings_ = register_module("embeddings", std::move(embeddings));
  const int64_t dim = embeddings_->dim();
  if (slot_inputs(spaces, dim, settings) == 0) {
    throw InputError("dqn: the slots have no inputs (--features none needs --slot-embeddings)");
  }
  state_layer_ = register_module(
      "state", torch::nn::Linear((state_embeddings_ ? dim * (spaces.history_length + 1) : 0) + 1,
                                 settings.hidden));
  slot_layer_ = register_module(
      "slot", torch::nn::Linear(
                  torch::nn::LinearOptions(slot_inputs(spaces, dim, settings), settings.hidden)
                      .bias(false)));
  hidden_layer_ = register_module("hidden", torch::nn::Linear(settings.hidden, settings.hidden));
  output_layer_ = register_module("output", torch::nn::Linear(settings.hidden, 1));
}

std::shared_ptr<QNetworkImpl> QNetworkImpl::copy(const Spaces& spaces,
                                                 const DqnSettings& settings) const {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  const torch::Tensor generator_state = generator.get_state();
  auto network =
      std::make_shared<QNetworkImpl>(EmbeddingTables(embeddings_->same_shape()), spaces, settings);
  generator.set_state(generator_state);  // the new layers' initial draws are overwritten below
  copy_parameters(*this, *network);
  return network;
}

torch::Tensor QNetworkImpl::forward(const ObservationTensors& observations) {
  if (observations.features.size(1) == 1) {
    return single_slot_pass(observations).q.view({-1, 1});
  }
  return slot_values(observations);
}

torch::Tensor QNetworkImpl::forward_at(const ObservationTensors& observations,
                                       const torch::Tensor& slots) {
  // Rows of the flattened slots: index_select copies them at two thirds of
  // gather's cost over an expanded index (and arange and add cost more than
  // this loop over B indices).
  const int64_t batch = observations.features.size(0);
  const int64_t n_slots = observations.features.size(1);
  TORCH_CHECK(slots.numel() == batch, "forward_at: one slot per observation");
  const torch::Tensor slot_of_row = slots.contiguous();
  const int64_t* slot = slot_of_row.data_ptr<int64_t>();
  torch::Tensor rows = torch::empty({batch}, torch::kInt64);
  int64_t* flat = rows.data_ptr<int64_t>();
  for (int64_t row = 0; row < batch; ++row) flat[row] = row * n_slots + slot[row];
  const torch::Tensor features =
      observations.features.reshape({batch * n_slots, -1}).index_select(0, rows).unsqueeze(1);
  const torch::Tensor window =
      slot_embeddings_
          ? observations.window.view({batch * n_slots}).index_select(0, rows).view({batch, 1})
          : torch::Tensor();
  return single_slot_pass(observations, features, window).q;
}

std::pair<torch::Tensor, torch::Tensor> QNetworkImpl::inputs(const ObservationTensors& observations,
                                                             const torch::Tensor& features,
                                                             const torch::Tensor& window) {
  // The tables are read only for the opt-in embedding inputs.
  torch::Tensor user;
  if (state_embeddings_ || slot_embeddings_) user = embeddings_->users(observations.user);
  torch::Tensor state = state_embeddings_
                            ? torch::cat({user, embeddings_->items(observations.history).flatten(1),
                                          observations.position},
                                         1)
                            : observations.position;
  // The slot part reads the env's features and, opt-in, the candidate's
  // embedding with its products with the user and with the history mean: an
  // MLP learns dot products poorly from a plain concatenation.
  torch::Tensor per_slot = features;
  if (slot_embeddings_) {
    const torch::Tensor candidates = embeddings_->items(window);  // [B, m, d]
    const torch::Tensor history_mean = embeddings_->history_mean(observations.history, pad_item_);
    per_slot = torch::cat({features, candidates, candidates * user.unsqueeze(1),
                           candidates * history_mean.unsqueeze(1)},
                          2);
  }
  return {state, per_slot};
}

QNetworkImpl::SlotPass QNetworkImpl::single_slot_pass(const ObservationTensors& observations) {
  return single_slot_pass(observations, observations.features, observations.window);
}

QNetworkImpl::SlotPass QNetworkImpl::single_slot_pass(const ObservationTensors& observations,
                                                      const torch::Tensor& features,
                                                      const torch::Tensor& window) {
  SlotPass pass;
  torch::Tensor per_slot;
  std::tie(pass.state_inputs, per_slot) = inputs(observations, features, window);
  const int64_t batch = per_slot.size(0);
  pass.slot_inputs = per_slot.reshape({batch, -1});
  // The state part is the slot product's addend as it is, and each bias
  // rides in its layer's product; the activations overwrite their layer's
  // output, which the backward does not keep.
  pass.first =
      torch::addmm(state_layer_(pass.state_inputs), pass.slot_inputs, slot_layer_->weight.t())
          .relu_();
  pass.hidden = torch::addmm(hidden_layer_->bias, pass.first, hidden_layer_->weight.t()).relu_();
  pass.q = torch::addmm(output_layer_->bias, pass.hidden, output_layer_->weight.t()).view({batch});
  return pass;
}

void QNetworkImpl::backward(const SlotPass& pass, const torch::Tensor& q_grad) {
  TORCH_CHECK(backward_by_hand(), "QNetworkImpl::backward: an embedding input trains");
  const torch::NoGradGuard no_grad;
  // Autograd's formulas for addmm(bias, input, weight.t()) with a contiguous
  // weight: the weight's gradient is grad.t().mm(input), the input's
  // grad.mm(weight), the bias's the column sums; ReLU's is
  // threshold_backward on its output.
  const torch::Tensor out_grad = q_grad.view({-1, 1});
  torch::mm_out(output_layer_->weight.mutable_grad(), out_grad.t(), pass.hidden);
  torch::sum_out(output_layer_->bias.mutable_grad(), out_grad, 0);
  const torch::Tensor hidden_grad =
      torch::threshold_backward(out_grad.mm(output_layer_->weight), pass.hidden, 0);
  torch::mm_out(hidden_layer_->weight.mutable_grad(), hidden_grad.t(), pass.first);
  torch::sum_out(hidden_layer_->bias.mutable_grad(), hidden_grad, 0);
  const torch::Tensor first_grad =
      torch::threshold_backward(hidden_grad.mm(hidden_layer_->weight), pass.first, 0);
  torch::mm_out(slot_layer_->weight.mutable_grad(), first_grad.t(), pass.slot_inputs);
  // The state part was the slot product's addend: its gradient is first_grad.
  torch::mm_out(state_layer_->weight.mutable_grad(), first_grad.t(), pass.state_inputs);
  torch::sum_out(state_layer_->bias.mutable_grad(), first_grad, 0);
}

torch::Tensor QNetworkImpl::slot_values(const ObservationTensors& observations) {
  const auto [state_inputs, per_slot] =
      inputs(observations, observations.features, observations.window);
  const torch::Tensor state = state_layer_(state_inputs);  // [B, h]
  // The next states' forward runs over every slot, so passes over [B * m, h]
  // are what it costs. The state part is written first and the slot product
  // added onto it by the same BLAS call, each bias rides in its layer's
  // product, and the activations overwrite their layer's output: a quarter
  // faster than linear() then add_(). The state part is copied to its slots
  // row by row: ATen's broadcast copy_ walks [256, 50, 16] 16 floats at a
  // time, 16 us against this loop's 9.5.
  const int64_t batch = per_slot.size(0);
  const int64_t n_slots = per_slot.size(1);
  TORCH_CHECK(!state.requires_grad(),
              "QNetworkImpl::forward over several slots records no gradients: run it under "
              "torch::NoGradGuard");
  TORCH_CHECK(state.size(0) == batch, "QNetworkImpl::forward: one state per observation");
  const int64_t width = state.size(1);
  torch::Tensor slots = torch::empty({batch * n_slots, width}, state.options());
  const torch::Tensor state_rows = state.contiguous();
  const float* state_row = state_rows.data_ptr<float>();
  float* slot_row = slots.data_ptr<float>();
  for (int64_t row = 0; row < batch; ++row, state_row += width) {
    for (int64_t slot = 0; slot < n_slots; ++slot, slot_row += width) {
      std::copy_n(state_row, width, slot_row);
    }
  }
  slots.addmm_(per_slot.reshape({batch * n_slots, -1}), slot_layer_->weight.t());
  slots.relu_();
  const torch::Tensor hidden =
      torch::addmm(hidden_layer_->bias, slots, hidden_layer_->weight.t()).relu_();
  return torch::addmm(output_layer_->bias, hidden, output_layer_->weight.t())
      .view({batch, n_slots});
}

std::vector<MatmulShape> QNetworkImpl::products(int64_t batch, int64_t n_actions,
                                                bool backward) const {
  const int64_t rows = batch * n_actions;  // every slot of every observation
  std::vector<MatmulShape> shapes;
  const auto layer = [&](const torch::nn::Linear& linear, int64_t layer_rows, bool input_grad) {
    const int64_t in = linear->weight.size(1);
    const int64_t out = linear->weight.size(0);
    shapes.push_back({layer_rows, in, out, 1});
    if (!backward) return;
    shapes.push_back({in, layer_rows, out, 1});  // the weight's gradient
    if (input_grad) shapes.push_back({layer_rows, out, in, 1});
  };
  // The first layers read inputs without gradients unless embeddings train.
  layer(state_layer_, batch, train_embeddings_ && state_embeddings_);
  layer(slot_layer_, rows, train_embeddings_ && slot_embeddings_);
  layer(hidden_layer_, rows, true);
  layer(output_layer_, rows, true);
  return shapes;
}

void check_dqn_settings(const DqnSettings& s) {
  constexpr const char* kAtLeastOne = "must be at least 1";
  require_setting(s.hidden >= 1, "hidden", s.hidden, kAtLeastOne);
  require_setting(s.dim >= 1, "dim", s.dim, kAtLeastOne);
  require_setting(s.batch_size >= 1, "batch_size", s.batch_size, kAtLeastOne);
  require_setting(s.target_update >= 1, "target_update", s.target_update, kAtLeastOne);
  require_setting(s.gamma >= 0 && s.gamma <= 1, "gamma", s.gamma, "must be in [0, 1]");
  require_setting(std::isfinite(s.lr) && s.lr > 0, "lr", s.lr, "must be finite and > 0");
  // Negative: every step is gradient ascent; 0 freezes learning.
  require_setting(std::isfinite(s.grad_clip) && s.grad_clip > 0, "grad_clip", s.grad_clip,
                  "must be finite and > 0");
  require_setting(s.learning_starts >= 0, "learning_starts", s.learning_starts, "must be >= 0");
  auto probability = [](double value) { return value >= 0 && value <= 1; };
  require_setting(probability(s.epsilon_start), "epsilon_start", s.epsilon_start,
                  "is a probability: must be in [0, 1]");
  require_setting(probability(s.epsilon_end), "epsilon_end", s.epsilon_end,
                  "is a probability: must be in [0, 1]");
  require_setting(s.epsilon_decay_steps >= 0, "epsilon_decay", s.epsilon_decay_steps,
                  "must be >= 0");
}

DqnAgent::DqnAgent(const EnvData& data, const Spaces& spaces, const DqnSettings& settings)
    : spaces_(spaces),
      settings_((check_dqn_settings(settings), settings)),
      replay_(spaces, settings.replay_capacity, derived_seed(settings.seed, SeedStream::kReplay),
              StateSlots::kActed, QNetworkImpl::arrays_read(settings)),
      engine_(derived_seed(settings.seed, SeedStream::kExploration)) {
  torch::manual_seed(settings.seed);
  online_ = QNetwork(data, spaces, settings);
  target_ = QNetwork(data, spaces, settings);
  copy_parameters(*online_, *target_);
  for (auto& parameter : target_->parameters()) parameter.set_requires_grad(false);
  make_optimizer();
}

void DqnAgent::make_optimizer() {
  std::vector<torch::Tensor> trainable;
  for (auto& parameter : online_->parameters()) {
    if (parameter.requires_grad()) trainable.push_back(parameter);
  }
  trainable_ = FlatParameters(trainable);
  optimizer_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{trainable_.all()},
                                                    torch::optim::AdamOptions(settings_.lr));
}

double DqnAgent::epsilon() const {
  const double progress =
      std::min(1.0, static_cast<double>(exploring_steps_) /
                        static_cast<double>(std::max<int64_t>(1, settings_.epsilon_decay_steps)));
  return settings_.epsilon_start + progress * (settings_.epsilon_end - settings_.epsilon_start);
}

torch::Tensor DqnAgent::q_values(const ObservationBatch& observations) {
  return masked_q_values(*online_, observations, spaces_.episode_length);
}

void DqnAgent::act(const ObservationBatch& observations, bool explore,
                   std::vector<int32_t>& actions) {
  greedy_actions(masked_q_values(actor_ ? *actor_ : *online_, observations, spaces_.episode_length),
                 observations.batch, actions);
  if (!explore) return;
  const double threshold = epsilon();
  for (int row = 0; row < observations.batch; ++row) {
    if (observations.active[row] == 0) continue;
    exploring_steps_ += exploring_step_weight_;
    if (uniform_unit(engine_) < threshold) actions[row] = random_slot(observations, row, engine_);
  }
}

bool DqnAgent::score_slots(const ObservationBatch& observations, std::vector<float>& scores) {
  copy_values(q_values(observations), scores);
  return true;
}

void DqnAgent::observe(const Transitions& transitions) { replay_.add(transitions); }

std::vector<MatmulShape> DqnAgent::update_products() const {
  std::vector<MatmulShape> shapes;
  // The online net on every slot of the next states; the target net on
  // their best slot; the online net on the action's slot, with its backward.
  for (const auto& [slots, backward] :
       {std::pair<int64_t, bool>{spaces_.n_actions, false}, {1, false}, {1, true}}) {
    const std::vector<MatmulShape> pass = online_->products(settings_.batch_size, slots, backward);
    shapes.insert(shapes.end(), pass.begin(), pass.end());
  }
  return shapes;
}

std::vector<NamedValue> DqnAgent::update() { return updates(1).front(); }

std::vector<std::vector<NamedValue>> DqnAgent::updates(int count) {
  std::vector<std::vector<NamedValue>> figures(static_cast<std::size_t>(std::max(count, 0)));
  if (count <= 0 || replay_.size() < std::max<int64_t>(settings_.learning_starts, 1)) {
    return figures;
  }
  PhaseClock clock;
  // Nothing adds to the buffer between these updates, so every minibatch's
  // rows are drawn now, in the order update() after update() would draw
  // them, and each next one is copied and converted on a second thread
  // while the one before it learns.
  batch_rows_.resize(static_cast<std::size_t>(count));
  for (std::vector<int>& rows : batch_rows_) replay_.draw(settings_.batch_size, rows);
  std::array<ReplayTensors, 2> batches;
  replay_.gather(batch_rows_[0], samples_[0]);
  profile_.sample_s += clock.lap();
  batches[0] = to_tensors(samples_[0], spaces_.episode_length, online_->ids());
  profile_.convert_s += clock.lap();
  for (int u = 0; u < count; ++u) {
    const int next = (u + 1) % 2;
    if (u + 1 < count) {
      if (!batch_worker_) batch_worker_ = std::make_unique<TaskWorker>();
      // The next batch's arrays were last read by update u - 1, now done.
      batch_worker_->start([this, &batches, u, next] {
        replay_.gather(batch_rows_[static_cast<std::size_t>(u + 1)], samples_[next]);
        batches[next] = to_tensors(samples_[next], spaces_.episode_length, online_->ids());
      });
    }
    try {
      figures[static_cast<std::size_t>(u)] = learn(batches[u % 2], clock);
    } catch (...) {
      // Its task writes into `batches`; this update's error is the one to report.
      if (u + 1 < count) {
        try {
          batch_worker_->wait();
        } catch (...) {
        }
      }
      throw;
    }
    if (u + 1 < count) {
      batch_worker_->wait();
      profile_.sample_s += clock.lap();
    }
  }
  return figures;
}

std::vector<NamedValue> DqnAgent::learn(const ReplayTensors& batch, PhaseClock& clock) {
  const ObservationTensors& next = batch.next;
  torch::Tensor targets;
  {
    const torch::NoGradGuard no_grad;
    // Each slot's value depends on that slot alone, so the target net and
    // the trained forward run on one slot per row, not on every slot.
    const torch::Tensor best = best_valid_slots(online_->forward(next), next.mask_offset);
    targets = dqn_targets(batch.rewards, batch.bootstrap, target_->forward_at(next, best),
                          settings_.gamma);
  }
  profile_.targets_s += clock.lap();
  // The replay kept each state's acted slot alone.
  torch::Tensor q;
  torch::Tensor loss;
  if (online_->backward_by_hand()) {
    // Every trainable gradient is overwritten, or is a table's that no
    // layer reads and stays zero.
    const torch::NoGradGuard no_grad;
    const QNetworkImpl::SlotPass pass = online_->single_slot_pass(batch.states);
    q = pass.q;
    loss = torch::smooth_l1_loss(q, targets);
    profile_.forward_s += clock.lap();
    online_->backward(pass, torch::smooth_l1_loss_backward(torch::ones({}), q, targets,
                                                           at::Reduction::Mean, /*beta=*/1.0));
  } else {
    q = online_->single_slot_pass(batch.states).q;
    loss = torch::smooth_l1_loss(q, targets);
    profile_.forward_s += clock.lap();
    trainable_.zero_grad();
    loss.backward();
  }
  if (replicas_ != nullptr) replicas_->average_gradients({trainable_.all()});
  profile_.backward_s += clock.lap();
  torch::nn::utils::clip_grad_norm_(trainable_.all(), settings_.grad_clip);
  optimizer_->step();
  if (++updates_ % settings_.target_update == 0) copy_parameters(*online_, *target_);
  if (replicas_ != nullptr) replicas_->verify_identical(online_->parameters(), updates_);
  profile_.optimiser_s += clock.lap();
  ++profile_.updates;
  // act() may be moving epsilon on another thread: the figure is the last sync's.
  return {{"loss", loss.item<double>()},
          {"q", q.mean().item<double>()},
          {"exploration", actor_ ? synced_epsilon_ : epsilon()}};
}

bool DqnAgent::join(ReplicaGroup& group) {
  replicas_ = &group;
  exploring_step_weight_ = group.world_size();
  // One network, but each rank its own exploration and minibatches.
  const uint64_t seed = rank_seed(settings_.seed, group.rank());
  engine_.seed(derived_seed(seed, SeedStream::kExploration));
  replay_.reseed(derived_seed(seed, SeedStream::kReplay));
  group.broadcast_from_first(online_->parameters());
  copy_parameters(*online_, *target_);
  return true;
}

std::unique_ptr<Agent> DqnAgent::frozen_copy() const {
  return std::make_unique<FrozenDqn>(spaces_, settings_, online_->copy(spaces_, settings_));
}

void DqnAgent::sync_actor() {
  if (!actor_) {
    actor_ = online_->copy(spaces_, settings_);
  } else {
    // The embedding tables change only where they train.
    const torch::NoGradGuard no_grad;
    const std::vector<torch::Tensor> from = online_->parameters();
    std::vector<torch::Tensor> to = actor_->parameters();
    for (std::size_t i = 0; i < from.size(); ++i) {
      if (from[i].requires_grad()) to[i].copy_(from[i]);
    }
  }
  synced_epsilon_ = epsilon();
}

nlohmann::json DqnAgent::settings() const { return settings_; }

void DqnAgent::save(const std::string& path) const {
  save_network(path, spaces_, settings_, *online_);
}

void DqnAgent::load(const std::string& path) {
  load_modules(path, name(), dqn_dimensions(spaces_, settings_, online_->embedding_dim()),
               {{"online", online_.get()}});
  copy_parameters(*online_, *target_);
  actor_.reset();
  // Loading gave the parameters storage of their own: flatten them again.
  make_optimizer();
}

void register_dqn(AgentRegistry& registry) {
  const DqnSettings defaults;
  po::options_description options("dqn options (--agent dqn)");
  add_learner_options(options, defaults);
  // clang-format off
  options.add_options()
      ("slot-embeddings", po::value<bool>()->default_value(defaults.slot_embeddings),
       "feed each candidate's embedding and its products with the state, beside their dot "
       "products")
      ("state-embeddings", po::value<bool>()->default_value(defaults.state_embeddings),
       "feed the user's and the history's embeddings to the state part, beside the candidates' "
       "dot products with them")
      ("lr", real_value(defaults.lr), "Adam learning rate")
      ("target-update", po::value<int>()->default_value(defaults.target_update),
       "updates between target-network copies")
      ("epsilon-start", real_value(defaults.epsilon_start), "exploration rate at the start")
      ("epsilon-end", real_value(defaults.epsilon_end), "exploration rate after the decay")
      ("epsilon-decay", po::value<int64_t>()->default_value(defaults.epsilon_decay_steps),
       "exploring user-steps of the linear decay");
  // clang-format on
  auto settings_from_flags = [](const po::variables_map& v) {
    DqnSettings settings;
    read_learner_options(v, settings);
    settings.slot_embeddings = v["slot-embeddings"].as<bool>();
    settings.state_embeddings = v["state-embeddings"].as<bool>();
    settings.lr = v["lr"].as<double>();
    settings.target_update = v["target-update"].as<int>();
    settings.epsilon_start = v["epsilon-start"].as<double>();
    settings.epsilon_end = v["epsilon-end"].as<double>();
    settings.epsilon_decay_steps = v["epsilon-decay"].as<int64_t>();
    check_dqn_settings(settings);
    if (!settings.slot_embeddings && v.count("features") &&
        parse_slot_features(v["features"].as<std::string>(), "--features").empty()) {
      throw InputError(
          "--features none leaves the DQN's slots without inputs: name features or "
          "add --slot-embeddings 1");
    }
    return nlohmann::json(settings);
  };
  registry.add({"dqn", "Double DQN over the window's slots (trd run's student)", options,
                settings_from_flags, make_from_settings<DqnAgent, DqnSettings>("dqn")});
}

}  // namespace trd
