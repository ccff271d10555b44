#include "examples/linear_agent.hpp"

#include <cmath>

#include "agents/networks.hpp"
#include "agents/plugin.hpp"
#include "data/random.hpp"
#include "env/policies.hpp"

namespace trd::examples {
namespace {

constexpr int64_t kBatch = 128;

// [B, n, 2 + n]: teacher features, then a one-hot of the slot.
torch::Tensor slot_features(const ObservationTensors& tensors) {
  const int64_t b = tensors.window.size(0), n = tensors.window.size(1);
  const torch::Tensor slots = torch::eye(n).unsqueeze(0).expand({b, n, n});
  return torch::cat({teacher_features(tensors), slots}, 2);
}

}  // namespace

void LinearAgent::check_settings(double lr, double epsilon) {
  require_setting(std::isfinite(lr) && lr > 0, "lr", lr, "must be finite and > 0");
  require_setting(epsilon >= 0 && epsilon <= 1, "exploration", epsilon, "must be in [0, 1]");
}

LinearAgent::LinearAgent(const Spaces& spaces, double lr, double epsilon, uint64_t seed)
    : spaces_(spaces),
      lr_(lr),
      epsilon_(epsilon),
      seed_(seed),
      replay_(spaces, /*capacity=*/20000, seed),
      engine_(seed) {
  check_settings(lr, epsilon);
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

// What makes it reachable from the command line:
//   trd train --agent-library libtrd_linear_agent.so --agent linear --lr 0.1
TRD_AGENT_PLUGIN(registry) {
  trd::po::options_description options("linear options (--agent linear, from its plugin)");
  // clang-format off
  options.add_options()
      ("lr", trd::real_value(0.1), "SGD learning rate of the linear scorer")
      ("exploration", trd::real_value(0.3), "epsilon: the share of random picks while training");
  // clang-format on
  auto settings_from_flags = [](const trd::po::variables_map& values) {
    const double lr = values["lr"].as<double>(), exploration = values["exploration"].as<double>();
    trd::examples::LinearAgent::check_settings(lr, exploration);
    return nlohmann::json{{"lr", lr}, {"exploration", exploration}};
  };
  auto make = [](const trd::EnvData&, const trd::Spaces& spaces, const nlohmann::json& settings,
                 uint64_t seed) -> std::unique_ptr<trd::Agent> {
    const auto setting = [&](const char* name) {
      if (!settings.contains(name) || !settings[name].is_number()) {
        throw trd::InputError(std::string("settings of agent 'linear': no number '") + name + "'");
      }
      return settings[name].get<double>();
    };
    return std::make_unique<trd::examples::LinearAgent>(spaces, setting("lr"),
                                                        setting("exploration"), seed);
  };
  registry.add({"linear", "a linear scorer of the teacher's features (examples/linear_agent.cpp)",
                options, settings_from_flags, make});
}
