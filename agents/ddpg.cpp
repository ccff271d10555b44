#include "agents/ddpg.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "agents/dqn.hpp"
#include "agents/registry.hpp"
#include "agents/replica_group.hpp"
#include "data/error.hpp"
#include "data/random.hpp"

namespace trd {
namespace {

// Critic inputs beside the state and the vector: the vector's dot products
// with the user and with the history mean, and the episode position. As in
// the DQN, an MLP learns dot products poorly from a concatenation, and the
// actor's gradient flows through these.
constexpr int64_t kCriticExtras = 3;

torch::nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out, int layers) {
  torch::nn::Sequential net;
  int64_t width = in;
  for (int l = 0; l < layers; ++l) {
    net->push_back(torch::nn::Linear(width, hidden));
    net->push_back(torch::nn::ReLU());
    width = hidden;
  }
  net->push_back(torch::nn::Linear(width, out));
  return net;
}

}  // namespace

StateEncoderImpl::StateEncoderImpl(const EnvData& data, const Spaces& spaces,
                                   const DdpgSettings& settings)
    : concat_(settings.state == "concat"), pad_item_(spaces.pad_item) {
  embeddings_ =
      register_module("embeddings", EmbeddingTables(data, settings.dim, settings.train_embeddings));
  const int64_t dim = embeddings_->dim();
  width_ = concat_ ? dim * (spaces.history_length + 1) : 3 * dim;
}

torch::Tensor StateEncoderImpl::forward(const ObservationTensors& observations) {
  const torch::Tensor user = embeddings_->users(observations.user);
  if (concat_) {
    return torch::cat({user, embeddings_->items(observations.history).flatten(1)}, 1);
  }
  const torch::Tensor average = embeddings_->history_mean(observations.history, pad_item_);
  return torch::cat({user, user * average, average}, 1);
}

struct DdpgAgent::Networks {
  StateEncoder encoder{nullptr};
  torch::nn::Sequential actor{nullptr}, critic{nullptr};

  Networks(const EnvData& data, const Spaces& spaces, const DdpgSettings& settings) {
    encoder = StateEncoder(data, spaces, settings);
    const int64_t width = encoder->embeddings()->dim() + spaces.n_features;
    actor = mlp(encoder->width(), settings.hidden, width, 1);
    critic = mlp(encoder->width() + width + kCriticExtras, settings.hidden, 1, 2);
  }
  std::vector<std::pair<std::string, const torch::nn::Module*>> modules() const {
    return {{"encoder", encoder.get()}, {"actor", actor.get()}, {"critic", critic.get()}};
  }
  void copy_from(const Networks& other, double tau) {
    soft_update(*other.encoder, *encoder, tau);
    soft_update(*other.actor, *actor, tau);
    soft_update(*other.critic, *critic, tau);
  }
};

void check_ddpg_settings(const DdpgSettings& s) {
  constexpr const char* kAtLeastOne = "must be at least 1";
  constexpr const char* kPositive = "must be finite and > 0";
  require_setting(s.hidden >= 1, "hidden", s.hidden, kAtLeastOne);
  require_setting(s.dim >= 1, "dim", s.dim, kAtLeastOne);
  require_setting(s.batch_size >= 1, "batch_size", s.batch_size, kAtLeastOne);
  require_setting(s.gamma >= 0 && s.gamma <= 1, "gamma", s.gamma, "must be in [0, 1]");
  require_setting(std::isfinite(s.actor_lr) && s.actor_lr > 0, "actor_lr", s.actor_lr, kPositive);
  require_setting(std::isfinite(s.critic_lr) && s.critic_lr > 0, "critic_lr", s.critic_lr,
                  kPositive);
  require_setting(s.tau > 0 && s.tau <= 1, "tau", s.tau, "must be in (0, 1]");
  require_setting(std::isfinite(s.grad_clip) && s.grad_clip > 0, "grad_clip", s.grad_clip,
                  kPositive);
  require_setting(s.learning_starts >= 0, "learning_starts", s.learning_starts, "must be >= 0");
  require_setting(std::isfinite(s.noise_start) && s.noise_start >= 0, "noise_start",
                  s.noise_start, "must be finite and >= 0");
  require_setting(std::isfinite(s.noise_end) && s.noise_end >= 0, "noise_end", s.noise_end,
                  "must be finite and >= 0");
  require_setting(s.noise_decay_steps >= 0, "noise_decay", s.noise_decay_steps, "must be >= 0");
  require_setting(std::isfinite(s.teacher_weight), "teacher_weight", s.teacher_weight,
                  "must be finite");
  if (s.state != "concat" && s.state != "drr-ave") {
    throw InputError("--state '" + s.state + "': expected concat or drr-ave");
  }
  if (s.noise != "gaussian" && s.noise != "ou") {
    throw InputError("--noise '" + s.noise + "': expected gaussian or ou");
  }
}

DdpgAgent::DdpgAgent(const EnvData& data, const Spaces& spaces, const DdpgSettings& settings)
    : spaces_(spaces),
      settings_((check_ddpg_settings(settings), settings)),
      replay_(spaces, settings.replay_capacity, derived_seed(settings.seed, SeedStream::kReplay),
              StateSlots::kActed),
      engine_(derived_seed(settings.seed, SeedStream::kExploration)) {
  torch::manual_seed(settings.seed);
  online_ = std::make_unique<Networks>(data, spaces, settings);
  target_ = std::make_unique<Networks>(data, spaces, settings);
  target_->copy_from(*online_, 1.0);
  for (const auto& [name, module] : target_->modules()) {
    for (auto& parameter : const_cast<torch::nn::Module*>(module)->parameters()) {
      parameter.set_requires_grad(false);
    }
  }
  critic_parameters_ = online_->critic->parameters();
  for (auto& parameter : online_->encoder->parameters()) {
    if (parameter.requires_grad()) critic_parameters_.push_back(parameter);
  }
  actor_optimizer_ = std::make_unique<torch::optim::Adam>(
      online_->actor->parameters(), torch::optim::AdamOptions(settings.actor_lr));
  critic_optimizer_ = std::make_unique<torch::optim::Adam>(
      critic_parameters_, torch::optim::AdamOptions(settings.critic_lr));
}

DdpgAgent::~DdpgAgent() = default;

double DdpgAgent::noise_scale() const {
  const double progress =
      std::min(1.0, static_cast<double>(exploring_steps_) /
                        static_cast<double>(std::max<int64_t>(1, settings_.noise_decay_steps)));
  return settings_.noise_start + progress * (settings_.noise_end - settings_.noise_start);
}

torch::Tensor DdpgAgent::slot_actions(Networks& nets, const ObservationTensors& tensors) {
  return torch::cat({nets.encoder->embeddings()->items(tensors.window), tensors.features}, 2);
}

// Slot scores for actor vectors [B, d + F]: standardised dot products with
// each slot's action (its item's embedding and its features), plus the
// weighted teacher score.
torch::Tensor DdpgAgent::scores_for(const ObservationTensors& tensors, const torch::Tensor& actions,
                                    const torch::Tensor& vectors) {
  const torch::Tensor dots = (actions * vectors.unsqueeze(1)).sum(2);
  torch::Tensor scores = standardize_rows(dots, tensors.mask);
  if (settings_.teacher_weight != 0) {
    scores = scores + settings_.teacher_weight *
                          standardize_rows(tensors.teacher_score, tensors.mask);
  }
  return scores + tensors.mask_offset;
}

torch::Tensor DdpgAgent::critic_value(Networks& nets, const ObservationTensors& tensors,
                                      const torch::Tensor& state, const torch::Tensor& vectors,
                                      int64_t per_state) {
  EmbeddingTables& tables = nets.encoder->embeddings();
  const int64_t batch = state.size(0);
  const auto repeated = [&](const torch::Tensor& per_row) {  // [B, k] -> [B, per_state, k]
    return per_row.unsqueeze(1).expand({batch, per_state, per_row.size(1)});
  };
  const torch::Tensor user = tables->users(tensors.user).unsqueeze(1);
  const torch::Tensor average =
      tables->history_mean(tensors.history, spaces_.pad_item).unsqueeze(1);
  const torch::Tensor grouped = vectors.reshape({batch, per_state, -1});
  const torch::Tensor item_part = grouped.narrow(2, 0, tables->dim());
  const torch::Tensor inputs =
      torch::cat({repeated(state), grouped, (item_part * user).sum(2, true),
                  (item_part * average).sum(2, true), repeated(tensors.position)},
                 2);
  return nets.critic->forward(inputs.reshape({batch * per_state, -1})).squeeze(1);
}

torch::Tensor DdpgAgent::slot_scores(const ObservationBatch& observations) {
  const torch::NoGradGuard no_grad;
  const ObservationTensors tensors = to_tensors(observations, spaces_.episode_length);
  const torch::Tensor vectors = online_->actor->forward(online_->encoder->forward(tensors));
  return scores_for(tensors, slot_actions(*online_, tensors), vectors);
}

bool DdpgAgent::score_slots(const ObservationBatch& observations, std::vector<float>& scores) {
  copy_values(slot_scores(observations), scores);
  return true;
}

void DdpgAgent::act(const ObservationBatch& observations, bool explore,
                    std::vector<int32_t>& actions) {
  const torch::NoGradGuard no_grad;
  const ObservationTensors tensors = to_tensors(observations, spaces_.episode_length);
  torch::Tensor vectors = online_->actor->forward(online_->encoder->forward(tensors));
  if (explore) {
    // Noise is relative to the vector's length: slot scores standardise the
    // dot products, so only the direction matters.
    const int64_t b = vectors.size(0), d = vectors.size(1);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(engine_());
    const torch::Tensor draws = torch::randn({b, d}, generator);
    torch::Tensor noise = draws;
    if (settings_.noise == "ou") {
      if (!ou_state_.defined() || ou_state_.size(0) != b) ou_state_ = torch::zeros({b, d});
      // A new episode (t = 1, its first position) starts from zero noise, not the
      // last user's drift.
      std::vector<float> carried(static_cast<std::size_t>(b));
      for (int row = 0; row < b; ++row) carried[row] = observations.t[row] == 1 ? 0.0f : 0.85f;
      ou_state_ = ou_state_ * torch::tensor(carried).unsqueeze(1) + draws;  // theta = 0.15
      noise = ou_state_;
    }
    const torch::Tensor length = vectors.norm(2, 1, true).clamp_min(1e-6);
    vectors = vectors / length + noise_scale() * noise / std::sqrt(static_cast<double>(d));
    for (int row = 0; row < observations.batch; ++row) {
      if (observations.active[row] != 0) exploring_steps_ += exploring_step_weight_;
    }
  }
  const torch::Tensor best = scores_for(tensors, slot_actions(*online_, tensors), vectors)
                                 .argmax(1)
                                 .to(torch::kInt32)
                                 .contiguous();
  actions.assign(best.data_ptr<int32_t>(), best.data_ptr<int32_t>() + observations.batch);
}

void DdpgAgent::observe(const Transitions& transitions) { replay_.add(transitions); }

std::vector<NamedValue> DdpgAgent::update() {
  if (replay_.size() < std::max<int64_t>(settings_.learning_starts, 1)) return {};
  replay_.sample(settings_.batch_size, sample_);
  const int64_t n = settings_.batch_size;
  const ReplayTensors batch = to_tensors(sample_, spaces_.episode_length);
  const ObservationTensors& states = batch.states;
  const ObservationTensors& next = batch.next;

  torch::Tensor targets;
  {
    // The target actor picks the next slot, the target critic values every
    // slot's item, and DESIGN.md's rule (as for DQN) combines them.
    const torch::NoGradGuard no_grad;
    const torch::Tensor next_state = target_->encoder->forward(next);
    const torch::Tensor items = slot_actions(*target_, next);  // [N, n, d + F]
    const torch::Tensor next_scores = scores_for(next, items, target_->actor->forward(next_state));
    const int64_t slots = spaces_.n_actions;
    const torch::Tensor next_values =
        critic_value(*target_, next, next_state, items.reshape({n * slots, -1}), slots)
            .reshape({n, slots});
    targets = dqn_targets(
        batch.rewards, batch.bootstrap,
        next_values.gather(1, best_valid_slots(next_scores, next.mask_offset)).squeeze(1),
        settings_.gamma);
  }
  const torch::Tensor state = online_->encoder->forward(states);
  // The replay kept each state's acted slot alone: its action is what was placed.
  const torch::Tensor placed = slot_actions(*online_, states).squeeze(1);
  const torch::Tensor q = critic_value(*online_, states, state, placed);
  const torch::Tensor critic_loss = torch::smooth_l1_loss(q, targets);
  critic_optimizer_->zero_grad();
  critic_loss.backward();
  if (replicas_ != nullptr) replicas_->average_gradients(critic_parameters_);
  torch::nn::utils::clip_grad_norm_(critic_parameters_, settings_.grad_clip);
  critic_optimizer_->step();

  const torch::Tensor actor_state = online_->encoder->forward(states).detach();
  const torch::Tensor actor_loss =
      -critic_value(*online_, states, actor_state, online_->actor->forward(actor_state)).mean();
  actor_optimizer_->zero_grad();
  actor_loss.backward();
  if (replicas_ != nullptr) replicas_->average_gradients(online_->actor->parameters());
  torch::nn::utils::clip_grad_norm_(online_->actor->parameters(), settings_.grad_clip);
  actor_optimizer_->step();
  online_->critic->zero_grad();  // the actor's loss left gradients in the critic

  target_->copy_from(*online_, settings_.tau);
  ++updates_;
  if (replicas_ != nullptr) replicas_->verify_identical(all_parameters(), updates_);
  return {{"loss", critic_loss.item<double>()},
          {"actor_loss", actor_loss.item<double>()},
          {"q", q.mean().item<double>()},
          {"exploration", noise_scale()}};
}

std::vector<torch::Tensor> DdpgAgent::all_parameters() const {
  std::vector<torch::Tensor> parameters;
  for (const auto& [name, module] : online_->modules()) {
    const std::vector<torch::Tensor> own = module->parameters();
    parameters.insert(parameters.end(), own.begin(), own.end());
  }
  return parameters;
}

bool DdpgAgent::join(ReplicaGroup& group) {
  replicas_ = &group;
  exploring_step_weight_ = group.world_size();
  // One set of networks (frozen tables included), but each rank its own
  // noise and minibatches.
  const uint64_t seed = rank_seed(settings_.seed, group.rank());
  engine_.seed(derived_seed(seed, SeedStream::kExploration));
  replay_.reseed(derived_seed(seed, SeedStream::kReplay));
  group.broadcast_from_first(all_parameters());
  target_->copy_from(*online_, 1.0);
  return true;
}

namespace {

std::vector<CheckpointDimension> ddpg_dimensions(const Spaces& spaces, const DdpgSettings& settings,
                                                 int64_t dim) {
  std::vector<CheckpointDimension> dimensions = env_dimensions(spaces, dim);
  dimensions.push_back({"hidden", settings.hidden});
  dimensions.push_back({"state (0 concat, 1 drr-ave)", settings.state == "concat" ? 0 : 1});
  dimensions.push_back({"slot features", spaces.n_features});
  return dimensions;
}

}  // namespace

void DdpgAgent::save(const std::string& path) const {
  save_modules(path, name(),
               ddpg_dimensions(spaces_, settings_, online_->encoder->embeddings()->dim()),
               online_->modules());
}

void DdpgAgent::load(const std::string& path) {
  std::vector<std::pair<std::string, torch::nn::Module*>> modules;
  for (const auto& [name, module] : online_->modules()) {
    modules.emplace_back(name, const_cast<torch::nn::Module*>(module));
  }
  load_modules(path, name(),
               ddpg_dimensions(spaces_, settings_, online_->encoder->embeddings()->dim()), modules);
  target_->copy_from(*online_, 1.0);
}

void register_ddpg(AgentRegistry& registry) {
  const DdpgSettings defaults;
  po::options_description options("ddpg options (--agent ddpg)");
  add_learner_options(options, defaults);
  // clang-format off
  options.add_options()
      ("state", po::value<std::string>()->default_value(defaults.state),
       "state representation, concat (user and history embeddings, as TRD) or drr-ave "
       "([user, user * mean(history), mean(history)])")
      ("noise", po::value<std::string>()->default_value(defaults.noise), "gaussian or ou")
      ("noise-start", real_value(defaults.noise_start),
       "exploration noise at the start, relative to the actor vector's length")
      ("noise-end", real_value(defaults.noise_end), "exploration noise after the decay")
      ("noise-decay", po::value<int64_t>()->default_value(defaults.noise_decay_steps),
       "exploring user-steps of the linear decay")
      ("teacher-weight", real_value(defaults.teacher_weight),
       "weight of the teacher's standardised score in slot scores (0: actor alone)")
      ("actor-lr", real_value(defaults.actor_lr), "actor learning rate")
      ("critic-lr", real_value(defaults.critic_lr), "critic learning rate")
      ("tau", real_value(defaults.tau), "soft target update rate");
  // clang-format on
  auto settings_from_flags = [](const po::variables_map& v) {
    DdpgSettings settings;
    read_learner_options(v, settings);
    settings.state = v["state"].as<std::string>();
    settings.noise = v["noise"].as<std::string>();
    settings.noise_start = v["noise-start"].as<double>();
    settings.noise_end = v["noise-end"].as<double>();
    settings.noise_decay_steps = v["noise-decay"].as<int64_t>();
    settings.teacher_weight = v["teacher-weight"].as<double>();
    settings.actor_lr = v["actor-lr"].as<double>();
    settings.critic_lr = v["critic-lr"].as<double>();
    settings.tau = v["tau"].as<double>();
    check_ddpg_settings(settings);
    return nlohmann::json(settings);
  };
  registry.add({"ddpg", "DDPG: an actor's vector scores the slots' item embeddings", options,
                settings_from_flags, make_from_settings<DdpgAgent, DdpgSettings>("ddpg")});
}

}  // namespace trd
