#include "examples/linear_agent.hpp"

#include "agents/networks.hpp"
#include "data/random.hpp"
#include "env/policies.hpp"

namespace trd::examples {
namespace {

constexpr int64_t kBatch = 128;

// [B, n, 2 + n]: teacher features, then a one-hot of the slot.
torch::Tensor slot_features(const ObservationTensors& tensors) {
  const int64_t b = tensors.window.size(0), n = tensors.window.size(1);
  const torch::Tensor slots = torch::eye(n).unsqueeze(0).expand({b, n, n});
  return torch::cat({tensors.teacher_features, slots}, 2);
}

}  // namespace

LinearAgent::LinearAgent(const Spaces& spaces, double lr, double epsilon, uint64_t seed)
    : spaces_(spaces),
      lr_(lr),
      epsilon_(epsilon),
      seed_(seed),
      replay_(spaces, /*capacity=*/20000, seed),
      engine_(seed) {
  torch::manual_seed(seed);
  scorer_ = torch::nn::Linear(2 + spaces.n_actions, 1);
  optimizer_ =
      std::make_unique<torch::optim::SGD>(scorer_->parameters(), torch::optim::SGDOptions(lr));
}

torch::Tensor LinearAgent::scores(const ObservationBatch& observations) {
  const ObservationTensors tensors = to_tensors(observations, spaces_.episode_length);
  return masked(scorer_(slot_features(tensors)).squeeze(2), tensors.mask);
}

void LinearAgent::act(const ObservationBatch& observations, bool explore,
                      std::vector<int32_t>& actions) {
  const torch::NoGradGuard no_grad;
  const torch::Tensor best = scores(observations).argmax(1).to(torch::kInt32).contiguous();
  actions.assign(best.data_ptr<int32_t>(), best.data_ptr<int32_t>() + observations.batch);
  for (int row = 0; explore && row < observations.batch; ++row) {
    if (uniform_unit(engine_) < epsilon_) actions[row] = random_slot(observations, row, engine_);
  }
}

bool LinearAgent::score_slots(const ObservationBatch& observations, std::vector<float>& out) {
  const torch::NoGradGuard no_grad;
  copy_values(scores(observations), out);
  return true;
}

std::vector<NamedValue> LinearAgent::update() {
  if (replay_.size() < kBatch) return {};
  replay_.sample(kBatch, sample_);
  const ReplayTensors batch = to_tensors(sample_, spaces_.episode_length);
  const torch::Tensor predicted =
      scorer_(slot_features(batch.states)).squeeze(2).gather(1, batch.actions).squeeze(1);
  const torch::Tensor loss = torch::mse_loss(predicted, batch.rewards);
  optimizer_->zero_grad();
  loss.backward();
  optimizer_->step();
  return {{"loss", loss.item<double>()}, {"exploration", epsilon_}};
}

nlohmann::json LinearAgent::settings() const {
  return {{"lr", lr_}, {"exploration", epsilon_}, {"seed", seed_}};
}

void LinearAgent::save(const std::string& path) const {
  save_modules(path, name(), {{"n_actions", spaces_.n_actions}}, {{"scorer", scorer_.get()}});
}

void LinearAgent::load(const std::string& path) {
  load_modules(path, name(), {{"n_actions", spaces_.n_actions}}, {{"scorer", scorer_.get()}});
}

}  // namespace trd::examples
