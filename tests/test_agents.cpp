// agents/: DQN's target rule, learning on a planted environment, checkpoints,
// determinism, the baselines and the worked custom agent.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "agents/baselines.hpp"
#include "agents/ddpg.hpp"
#include "agents/dqn.hpp"
#include "agents/networks.hpp"
#include "agents/registry.hpp"
#include "agents/replay_buffer.hpp"
#include "agents/training.hpp"
#include "data/dataset.hpp"
#include "data/error.hpp"
#include "data/synthetic.hpp"
#include "env/policies.hpp"
#include "examples/linear_agent.hpp"
#include "teachers/bprmf.hpp"
#include "tests/planted_env.hpp"
#include "torch_support/thread_scope.hpp"

// LibTorch brings glog's CHECK macros; Catch's must win.
#undef CHECK
#undef CHECK_EQ
#include <catch2/catch.hpp>

namespace trd {
namespace {

std::string temporary_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("trd-test-agents-" + name + "-" + std::to_string(::getpid())))
      .string();
}

// Trains on the planted env, judging on it too, through a scratch checkpoint.
TrainResult train_planted(Agent& agent, const PlantedEnv& env, int epochs, uint64_t seed = 0) {
  const std::string checkpoint = temporary_path(agent.name() + "-" + std::to_string(seed));
  TrainSettings settings = toy_training(epochs);
  settings.seed = seed;
  const TrainResult result =
      train_agent(agent, env.data, env.settings, env.split(), settings, checkpoint, {});
  std::filesystem::remove(checkpoint);
  return result;
}

double precision_at_1(Agent& agent, const PlantedEnv& env) {
  return judge(refine_lists(agent, env.data, env.settings, Feedback::kNone, 64).items, env.split(),
               {1})
      .value(Metric::kPrecision, 1);
}

ObservationBatch first_observations(const PlantedEnv& env) {
  VecSettings vec;
  vec.batch = env.data.n_users;
  vec.order = UserOrder::kSequential;
  VecRecEnv vec_env(env.data, env.settings, vec);
  return vec_env.reset(0);
}

}  // namespace

TEST_CASE("DQN targets follow the rule in each of its three cases", "[agents][dqn]") {
  // Row 0 bootstraps: the online net's best valid slot is 1 (slot 2 scores
  // higher but is invalid), and the target net's value there (3.0) is used,
  // not the target net's own best valid value (4.0): Double DQN.
  // Row 1 terminated: no bootstrap. Row 2 has no valid slot: contributes 0.
  ReplaySample sample;
  sample.terminated = {0, 1, 0};
  sample.next_observations.n_actions = 3;
  sample.next_observations.mask = {1, 1, 0, 1, 1, 1, 0, 0, 0};
  const torch::Tensor bootstrap = bootstrap_flags(sample);
  CHECK(torch::equal(bootstrap, torch::tensor({true, false, false})));
  const torch::Tensor rewards = torch::tensor({0.5f, 1.0f, 0.25f});
  sample.next_observations.batch = 3;
  const torch::Tensor next_mask_offset = mask_offsets(sample.next_observations);
  const float minus_infinity = -std::numeric_limits<float>::infinity();
  CHECK(
      torch::equal(next_mask_offset, torch::tensor({0.0f, 0.0f, minus_infinity, 0.0f, 0.0f, 0.0f,
                                                    minus_infinity, minus_infinity, minus_infinity})
                                         .reshape({3, 3})));
  const torch::Tensor next_online =
      torch::tensor({0.1f, 0.5f, 9.0f, 7.0f, 1.0f, 1.0f, 5.0f, 5.0f, 5.0f}).reshape({3, 3});
  const torch::Tensor next_target =
      torch::tensor({4.0f, 3.0f, 100.0f, 8.0f, 8.0f, 8.0f, 6.0f, 6.0f, 6.0f}).reshape({3, 3});
  const torch::Tensor targets = dqn_targets(
      rewards, bootstrap,
      next_target.gather(1, best_valid_slots(next_online, next_mask_offset)).squeeze(1), 0.9);
  CHECK(targets[0].item<float>() == Approx(0.5 + 0.9 * 3.0));
  CHECK(targets[1].item<float>() == Approx(1.0));
  CHECK(targets[2].item<float>() == Approx(0.25));
}

TEST_CASE("the DQN's targets are ATen's floats for r + gamma * where(bootstrap, next, 0)",
          "[agents][dqn]") {
  torch::manual_seed(7);
  const torch::Tensor rewards = torch::rand({300});
  const torch::Tensor bootstrap = torch::rand({300}) > 0.2;
  torch::Tensor next = torch::randn({300}) * 10;
  next[3] = std::numeric_limits<float>::quiet_NaN();  // not bootstrapped below
  bootstrap[3] = false;
  for (const double gamma : {0.9, 0.5, 1.0 / 3.0}) {
    const torch::Tensor expected = rewards + gamma * torch::where(bootstrap, next, 0.0);
    CHECK(torch::equal(dqn_targets(rewards, bootstrap, next, gamma), expected));
  }
  CHECK_THROWS(dqn_targets(rewards, bootstrap, next.narrow(0, 0, 299), 0.9));
}

TEST_CASE("the best valid slot is argmax's pick, ties, empty rows and NaN included",
          "[agents][dqn]") {
  torch::manual_seed(5);
  // Values rounded to halves tie often; row 1 has no valid slot; row 2 has
  // two NaNs, and argmax picks the first as the maximum; row 3 starts with
  // one; row 4 has +inf in a masked slot, where the offset makes a NaN that
  // both pick (only a diverged net's values are infinite, and training
  // stops on its non-finite loss).
  torch::Tensor values = (torch::randn({64, 50}) * 2).round() / 2;
  const float minus_infinity = -std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  torch::Tensor offsets = torch::where(torch::rand({64, 50}) < 0.3, minus_infinity, 0.0f);
  offsets[1].fill_(minus_infinity);
  values[2][7] = nan;
  values[2][30] = nan;
  values[3][0] = nan;
  values[4][9] = std::numeric_limits<float>::infinity();
  offsets[4][9] = minus_infinity;
  const torch::Tensor expected = (values + offsets).argmax(1, /*keepdim=*/true);
  CHECK(torch::equal(best_valid_slots(values, offsets), expected));
  CHECK(expected[1].item<int64_t>() == 0);
  CHECK(expected[2].item<int64_t>() == 7);
  CHECK(expected[3].item<int64_t>() == 0);
  CHECK(expected[4].item<int64_t>() == 9);
}

TEST_CASE("Q at one slot per row equals the full forward there", "[agents][dqn]") {
  // The update trains on forward_at (the action's slot) and bootstraps from
  // it (the best slot): it must be the same function as forward().
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  const ObservationBatch observations = first_observations(env);
  const ObservationTensors tensors = to_tensors(observations, spaces.episode_length);
  for (const bool slot_embeddings : {false, true}) {
    DqnSettings settings = toy_dqn(3);
    settings.slot_embeddings = slot_embeddings;
    settings.state_embeddings = slot_embeddings;
    QNetwork network(env.data, spaces, settings);
    const torch::NoGradGuard no_grad;
    const torch::Tensor all = network->forward(tensors);
    const torch::Tensor slots =
        torch::randint(spaces.n_actions, {observations.batch, 1}, torch::kLong);
    const torch::Tensor at = network->forward_at(tensors, slots);
    REQUIRE(at.sizes() == torch::IntArrayRef{observations.batch});
    CHECK(torch::allclose(at, all.gather(1, slots).squeeze(1), 1e-5, 1e-6));
    CHECK(at.std().item<float>() > 0);  // the slots differ, so a mix-up would show
  }
}

TEST_CASE("the DQN's forward over several slots refuses to record gradients", "[agents][dqn]") {
  // It copies the state part into its slots outside autograd, which would
  // drop the state layer's gradient without a word.
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  const ObservationTensors tensors = to_tensors(first_observations(env), spaces.episode_length);
  QNetwork network(env.data, spaces, toy_dqn(3));
  CHECK_THROWS_WITH(network->forward(tensors), Catch::Contains("NoGradGuard"));
  const torch::NoGradGuard no_grad;
  CHECK(network->forward(tensors).size(1) == spaces.n_actions);
}

TEST_CASE("the DQN's backward by hand gives autograd's gradients bit for bit", "[agents][dqn]") {
  // The update trains without autograd's graph (QNetworkImpl::backward)
  // when no input takes a gradient: it must be what loss.backward() gives.
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  const ObservationTensors every_slot = to_tensors(first_observations(env), spaces.episode_length);
  // Each row's slot 1, as the replay keeps the acted slot; positions past
  // the first so that the state layer's weight gets a gradient.
  ObservationTensors states = every_slot;
  states.features = every_slot.features.narrow(1, 1, 1).contiguous();
  states.window = every_slot.window.narrow(1, 1, 1).contiguous();
  states.position = torch::rand_like(every_slot.position);
  const torch::Tensor targets = torch::linspace(-1, 2, every_slot.features.size(0));
  for (const bool embeddings : {false, true}) {
    DqnSettings settings = toy_dqn(3);
    settings.slot_embeddings = embeddings;
    settings.state_embeddings = embeddings;
    QNetwork network(env.data, spaces, settings);
    REQUIRE(network->backward_by_hand());
    std::vector<torch::Tensor> parameters;
    for (const torch::Tensor& parameter : network->parameters()) {
      if (parameter.requires_grad()) parameters.push_back(parameter);
    }
    REQUIRE(parameters.size() == 7);  // the four layers' weights and three biases
    for (torch::Tensor& parameter : parameters) {
      parameter.mutable_grad() = torch::zeros_like(parameter);
    }
    torch::smooth_l1_loss(network->single_slot_pass(states).q, targets).backward();
    std::vector<torch::Tensor> by_autograd;
    for (torch::Tensor& parameter : parameters) {
      by_autograd.push_back(parameter.grad().clone());
      parameter.mutable_grad().fill_(7);  // backward() overwrites, it does not add
    }
    {
      const torch::NoGradGuard no_grad;
      const QNetworkImpl::SlotPass pass = network->single_slot_pass(states);
      network->backward(pass, torch::smooth_l1_loss_backward(torch::ones({}), pass.q, targets,
                                                             at::Reduction::Mean, 1.0));
    }
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      INFO("parameter " << i << ", embedding inputs " << embeddings);
      CHECK(torch::equal(parameters[i].grad(), by_autograd[i]));
      CHECK(by_autograd[i].abs().sum().item<float>() > 0);
    }
  }
  // Tables that train but that no layer reads keep the by-hand path (their
  // gradients stay zero); tables that train and are read take autograd.
  DqnSettings trained = toy_dqn(3);
  trained.train_embeddings = true;
  CHECK(QNetwork(env.data, spaces, trained)->backward_by_hand());
  trained.state_embeddings = true;
  CHECK_FALSE(QNetwork(env.data, spaces, trained)->backward_by_hand());
  trained.state_embeddings = false;
  trained.slot_embeddings = true;
  CHECK_FALSE(QNetwork(env.data, spaces, trained)->backward_by_hand());
}

TEST_CASE("flat parameters take the module's gradients and a step on them moves its weights",
          "[agents]") {
  torch::manual_seed(2);
  torch::nn::Linear linear(3, 2);
  const torch::Tensor weight = linear->weight.detach().clone();
  const torch::Tensor bias = linear->bias.detach().clone();
  FlatParameters flat(linear->parameters());
  CHECK(torch::equal(flat.all().detach(), torch::cat({weight.flatten(), bias})));
  const torch::Tensor x = torch::randn({4, 3});
  // d sum(x W^T + b) / dW: every row is x's column sums; / db: the 4 rows.
  const torch::Tensor weight_grad = x.sum(0).repeat({2});
  const torch::Tensor expected = torch::cat({weight_grad, torch::full({2}, 4.0f)});
  for (int pass = 0; pass < 2; ++pass) {  // zero_grad must keep the link
    flat.zero_grad();
    linear(x).sum().backward();
    CHECK(torch::allclose(flat.all().grad(), expected));
  }
  torch::optim::SGD sgd(std::vector<torch::Tensor>{flat.all()}, torch::optim::SGDOptions(0.5));
  sgd.step();
  CHECK(torch::allclose(linear->weight.detach().flatten(), weight.flatten() - 0.5 * weight_grad));
  CHECK(torch::allclose(linear->bias.detach(), bias - 2.0));
}

TEST_CASE("the replay buffer keeps the newest transitions and the final observation",
          "[agents][replay]") {
  const PlantedEnv env = planted_env(8);
  VecSettings vec;
  vec.batch = 4;
  VecRecEnv vec_env(env.data, env.settings, vec);
  ReplayBuffer replay(vec_env.spaces(), /*capacity=*/6, /*seed=*/1);
  std::vector<int32_t> actions(4, kPlantedSlot);
  ObservationBatch before = vec_env.reset(3);
  const StepBatch& step = vec_env.step(actions.data());
  replay.add(
      {&before, actions.data(), &step, &vec_env.observations(), &vec_env.final_observations()});
  REQUIRE(replay.size() == 4);
  ReplaySample sample;
  replay.sample(16, sample);
  for (int i = 0; i < 16; ++i) {
    CHECK(sample.rewards[i] == 1.0f);           // the planted slot always hits
    CHECK(sample.terminated[i] == 1);           // one-step episodes
    CHECK(sample.next_observations.t[i] == 2);  // the ended episode's, not the next one's
  }
  before = vec_env.observations();
  const StepBatch& again = vec_env.step(actions.data());
  replay.add(
      {&before, actions.data(), &again, &vec_env.observations(), &vec_env.final_observations()});
  CHECK(replay.size() == 6);
}

TEST_CASE("a replay grows as it fills and keeps every transition it held", "[agents][replay]") {
  const PlantedEnv env = planted_env(8);
  VecSettings vec;
  vec.batch = 4;
  VecRecEnv vec_env(env.data, env.settings, vec);
  const Spaces spaces = vec_env.spaces();
  // Past its first storage (1,024 rows), past a doubling and round again.
  ReplayBuffer replay(spaces, /*capacity=*/2500, /*seed=*/7, StateSlots::kActed);
  std::vector<int32_t> actions(4);
  ObservationBatch before = vec_env.reset(2);
  for (int step = 0; step < 750; ++step) {
    for (int row = 0; row < 4; ++row) actions[row] = (step + row) % spaces.n_actions;
    const StepBatch& result = vec_env.step(actions.data());
    replay.add(
        {&before, actions.data(), &result, &vec_env.observations(), &vec_env.final_observations()});
    before = vec_env.observations();
  }
  CHECK(replay.size() == 2500);
  ReplaySample sample;
  replay.sample(4096, sample);
  for (int i = 0; i < 4096; ++i) {
    CAPTURE(i);
    // An empty row (lost in a move) is inactive, at user 0, with no valid slot.
    REQUIRE(sample.observations.active[i] == 1);
    REQUIRE(sample.observations.mask[i] == 1);
    CHECK(sample.next_observations.user[i] == sample.observations.user[i]);
    CHECK(sample.rewards[i] == (sample.actions[i] == kPlantedSlot ? 1.0f : 0.0f));
    CHECK(sample.observations.window[i] ==
          env.data.lists(sample.observations.user[i], sample.actions[i]));
  }
}

TEST_CASE("a replay of acted slots keeps each state's acted slot and the whole next state",
          "[agents][replay]") {
  const PlantedEnv env = planted_env(8);
  VecSettings vec;
  vec.batch = 4;
  VecRecEnv vec_env(env.data, env.settings, vec);
  const Spaces spaces = vec_env.spaces();
  REQUIRE(spaces.n_features > 0);
  ReplayBuffer whole(spaces, /*capacity=*/8, /*seed=*/3);
  ReplayBuffer acted(spaces, /*capacity=*/8, /*seed=*/3, StateSlots::kActed);
  // A different slot per row, so that a row or slot mix-up shows.
  std::vector<int32_t> actions = {0, 1, 2, 3};
  const ObservationBatch before = vec_env.reset(5);
  const StepBatch& step = vec_env.step(actions.data());
  const Transitions transitions{&before, actions.data(), &step, &vec_env.observations(),
                                &vec_env.final_observations()};
  whole.add(transitions);
  acted.add(transitions);
  ReplaySample all_slots;
  ReplaySample one_slot;
  whole.sample(32, all_slots);
  acted.sample(32, one_slot);  // the same seed draws the same transitions
  REQUIRE(one_slot.observations.n_actions == 1);
  const ObservationBatch& full = all_slots.observations;
  const ObservationBatch& kept = one_slot.observations;
  const int f = spaces.n_features;
  for (int i = 0; i < 32; ++i) {
    CAPTURE(i);
    REQUIRE(one_slot.actions[i] == all_slots.actions[i]);
    const int at = i * spaces.n_actions + all_slots.actions[i];
    CHECK(kept.user[i] == full.user[i]);
    CHECK(kept.t[i] == full.t[i]);
    CHECK(std::equal(kept.history.begin() + i * spaces.history_length,
                     kept.history.begin() + (i + 1) * spaces.history_length,
                     full.history.begin() + i * spaces.history_length));
    CHECK(kept.window[i] == full.window[at]);
    CHECK(kept.mask[i] == full.mask[at]);
    CHECK(kept.teacher_score[i] == full.teacher_score[at]);
    CHECK(kept.teacher_rank[i] == full.teacher_rank[at]);
    CHECK(std::equal(kept.features.begin() + i * f, kept.features.begin() + (i + 1) * f,
                     full.features.begin() + at * f));
  }
  CHECK(one_slot.next_observations.window == all_slots.next_observations.window);
  CHECK(one_slot.next_observations.features == all_slots.next_observations.features);
  CHECK(one_slot.rewards == all_slots.rewards);
}

// Each array `lean` holds equals `full`'s; the others are empty.
void check_held_arrays(const ObservationBatch& lean, const ObservationBatch& full) {
  const ObservationArrays held = lean.arrays;
  CHECK(lean.t == full.t);
  CHECK(lean.mask == full.mask);
  CHECK(lean.features == full.features);
  CHECK(lean.active == full.active);
  CHECK(lean.user == (held.ids ? full.user : std::vector<int32_t>{}));
  CHECK(lean.history == (held.ids ? full.history : std::vector<int32_t>{}));
  CHECK(lean.window == (held.ids ? full.window : std::vector<int32_t>{}));
  CHECK(lean.teacher_score == (held.teacher ? full.teacher_score : std::vector<float>{}));
  CHECK(lean.teacher_rank == (held.teacher ? full.teacher_rank : std::vector<int32_t>{}));
}

TEST_CASE("a replay keeps the arrays it is asked for and the rest of each transition",
          "[agents][replay]") {
  const PlantedEnv env = planted_env(8);
  VecSettings vec;
  vec.batch = 4;
  VecRecEnv vec_env(env.data, env.settings, vec);
  const Spaces spaces = vec_env.spaces();
  const ObservationArrays arrays =
      GENERATE(ObservationArrays{false, false}, ObservationArrays{true, false},
               ObservationArrays{false, true}, ObservationArrays{true, true});
  CAPTURE(arrays.ids, arrays.teacher);
  ReplayBuffer whole(spaces, /*capacity=*/16, /*seed=*/5, StateSlots::kActed);
  ReplayBuffer lean(spaces, /*capacity=*/16, /*seed=*/5, StateSlots::kActed, arrays);
  std::vector<int32_t> actions = {3, 2, 1, 0};
  ObservationBatch before = vec_env.reset(9);
  for (int step = 0; step < 3; ++step) {
    const StepBatch& result = vec_env.step(actions.data());
    const Transitions transitions{&before, actions.data(), &result, &vec_env.observations(),
                                  &vec_env.final_observations()};
    whole.add(transitions);
    lean.add(transitions);
    before = vec_env.observations();
  }
  ReplaySample full;
  ReplaySample kept;
  whole.sample(64, full);
  lean.sample(64, kept);  // the same seed draws the same transitions
  REQUIRE(kept.actions == full.actions);
  CHECK(kept.rewards == full.rewards);
  CHECK(kept.terminated == full.terminated);
  check_held_arrays(kept.observations, full.observations);
  check_held_arrays(kept.next_observations, full.next_observations);
  CHECK(torch::equal(bootstrap_flags(kept), bootstrap_flags(full)));
  if (arrays.ids) {
    CHECK(torch::equal(to_tensors(kept, spaces.episode_length).next.window,
                       to_tensors(full, spaces.episode_length).next.window));
  } else {
    CHECK_THROWS_AS(to_tensors(kept, spaces.episode_length, IdTensors::kMake), std::logic_error);
  }
  const ReplayTensors tensors = to_tensors(kept, spaces.episode_length, IdTensors::kSkip);
  CHECK(tensors.next.teacher_score.defined() == arrays.teacher);
  // A sample the full replay filled takes the lean one's arrays.
  lean.sample(64, full);
  CHECK(full.next_observations.user.size() == (arrays.ids ? 64u : 0u));
}

TEST_CASE("DQN learns the planted slot within seconds", "[agents][dqn]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  TeacherAgent teacher;
  CHECK(precision_at_1(teacher, env) == 0.0);
  DqnAgent agent(env.data, RecEnv(env.data, env.settings).spaces(), toy_dqn(7));
  CHECK(train_planted(agent, env, 40).beats_teacher());
  CHECK(precision_at_1(agent, env) >= 0.95);
}

DdpgSettings toy_ddpg(uint64_t seed) {
  DdpgSettings settings;
  settings.hidden = 32;
  settings.batch_size = 64;
  settings.learning_starts = 64;
  settings.noise_decay_steps = 1500;
  settings.teacher_weight = 0;  // the teacher's order only points away from the planted slot
  settings.seed = seed;
  return settings;
}

TEST_CASE("DDPG learns the planted slot within seconds", "[agents][ddpg]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  for (const char* state : {"drr-ave", "concat"}) {
    DdpgSettings settings = toy_ddpg(9);
    settings.state = state;
    DdpgAgent agent(env.data, RecEnv(env.data, env.settings).spaces(), settings);
    train_planted(agent, env, 40);
    INFO("state " << state);
    CHECK(precision_at_1(agent, env) >= 0.95);
  }
}

TEST_CASE("DDPG clips trainable embeddings with the rest of what its critic step updates",
          "[agents][ddpg]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  DdpgSettings settings = toy_ddpg(3);
  settings.train_embeddings = true;
  settings.grad_clip = 1e-12;  // every clipped gradient next to Adam's eps: almost no step
  settings.learning_starts = 1;
  DdpgAgent agent(env.data, RecEnv(env.data, env.settings).spaces(), settings);
  train_planted(agent, env, 2);
  const ObservationBatch observations = first_observations(env);
  const torch::Tensor before = agent.slot_scores(observations).clone();
  REQUIRE_FALSE(agent.update().empty());
  // Unclipped, the embeddings took Adam's full step (about lr) and moved the
  // scores by about 1e-3.
  CHECK((agent.slot_scores(observations) - before).abs().max().item<float>() < 1e-5f);
}

TEST_CASE("DDPG's OU noise starts every episode from zero", "[agents][ddpg]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  DdpgSettings gaussian = toy_ddpg(4);
  gaussian.noise_start = gaussian.noise_end = 3.0;  // noise that decides the picks
  DdpgSettings ou = gaussian;
  ou.noise = "ou";
  DdpgAgent with_gaussian(env.data, spaces, gaussian);
  DdpgAgent with_ou(env.data, spaces, ou);
  const ObservationBatch starts = first_observations(env);  // every row at t = 1
  std::vector<int32_t> gaussian_actions, ou_actions;
  for (int episode = 0; episode < 3; ++episode) {
    with_gaussian.act(starts, /*explore=*/true, gaussian_actions);
    with_ou.act(starts, /*explore=*/true, ou_actions);
    // Same draws, and at t = 1 OU noise is the draw itself: carrying the last
    // episode's drift made the picks differ.
    INFO("episode " << episode);
    CHECK(ou_actions == gaussian_actions);
  }
}

TEST_CASE("a DDPG checkpoint restores identical actions", "[agents][ddpg][checkpoint]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  DdpgAgent trained(env.data, spaces, toy_ddpg(1));
  train_planted(trained, env, 5);
  const std::string checkpoint = temporary_path("ddpg-roundtrip");
  trained.save(checkpoint);
  DdpgAgent restored(env.data, spaces, toy_ddpg(2));
  const ObservationBatch observations = first_observations(env);
  CHECK_FALSE(torch::equal(trained.slot_scores(observations), restored.slot_scores(observations)));
  restored.load(checkpoint);
  CHECK(torch::equal(trained.slot_scores(observations), restored.slot_scores(observations)));
  DdpgSettings concat = toy_ddpg(2);
  concat.state = "concat";
  DdpgAgent other_state(env.data, spaces, concat);
  CHECK_THROWS_WITH(other_state.load(checkpoint), Catch::Contains("drr-ave"));
  std::filesystem::remove(checkpoint);
}

TEST_CASE("the worked custom agent learns the planted slot", "[agents][example]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  examples::LinearAgent agent(RecEnv(env.data, env.settings).spaces(), /*lr=*/0.1,
                              /*epsilon=*/0.3, /*seed=*/3);
  train_planted(agent, env, 40);
  CHECK(precision_at_1(agent, env) >= 0.95);
}

TEST_CASE("a DQN checkpoint restores identical actions and rejects other dimensions",
          "[agents][dqn][checkpoint]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  DqnAgent trained(env.data, spaces, toy_dqn(11));
  train_planted(trained, env, 5);
  const std::string checkpoint = temporary_path("dqn-roundtrip");
  trained.save(checkpoint);

  DqnAgent restored(env.data, spaces, toy_dqn(12));
  const ObservationBatch observations = first_observations(env);
  CHECK_FALSE(torch::equal(trained.q_values(observations), restored.q_values(observations)));
  restored.load(checkpoint);
  CHECK(torch::equal(trained.q_values(observations), restored.q_values(observations)));
  std::vector<int32_t> want, got;
  trained.act(observations, false, want);
  restored.act(observations, false, got);
  CHECK(want == got);

  DqnSettings wider = toy_dqn(11);
  wider.hidden = 48;
  DqnAgent other_width(env.data, spaces, wider);
  CHECK_THROWS_WITH(other_width.load(checkpoint),
                    Catch::Contains("hidden = 32") && Catch::Contains("has 48"));
  PlantedEnv narrow = planted_env();
  narrow.data.user_embeddings = narrow.data.user_embeddings.leftCols(4).eval();
  narrow.data.item_embeddings = narrow.data.item_embeddings.leftCols(4).eval();
  DqnAgent other_dim(narrow.data, RecEnv(narrow.data, narrow.settings).spaces(), toy_dqn(11));
  CHECK_THROWS_WITH(other_dim.load(checkpoint),
                    Catch::Contains("embedding dim = 8") && Catch::Contains("has 4"));
  RandomAgent random(0);
  CHECK_THROWS_WITH(random.load(checkpoint), Catch::Contains("holds a 'dqn' agent"));
  CHECK_THROWS_AS(restored.load(checkpoint + ".missing"), InputError);
  std::filesystem::remove(checkpoint);
}

TEST_CASE("a checkpoint with a NaN or infinite weight is refused, not loaded",
          "[agents][checkpoint]") {
  const std::vector<CheckpointDimension> dimensions = {{"width", 3}};
  torch::nn::Linear saved(3, 2);
  torch::nn::Linear restored(3, 2);
  const std::string checkpoint = temporary_path("nan-checkpoint");
  save_modules(checkpoint, "dqn", dimensions, {{"layer", saved.get()}});
  load_modules(checkpoint, "dqn", dimensions, {{"layer", restored.get()}});
  CHECK(torch::equal(saved->weight, restored->weight));
  for (const float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    {
      torch::NoGradGuard no_grad;
      saved->weight[1][2] = bad;
    }
    save_modules(checkpoint, "dqn", dimensions, {{"layer", saved.get()}});
    CHECK_THROWS_WITH(load_modules(checkpoint, "dqn", dimensions, {{"layer", restored.get()}}),
                      Catch::Contains(checkpoint) && Catch::Contains("layer.weight") &&
                          Catch::Contains("NaN or infinite"));
  }
  CHECK_THROWS_WITH(checkpoint_agent(checkpoint + ".missing"), Catch::Contains("no such"));
  CHECK(checkpoint_agent(checkpoint) == "dqn");
  std::filesystem::remove(checkpoint);
}

TEST_CASE("agents check their own settings, whoever built them", "[agents][settings]") {
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  DqnSettings no_target = toy_dqn(0);
  no_target.target_update = 0;  // divided by in every update
  CHECK_THROWS_WITH(DqnAgent(env.data, spaces, no_target),
                    Catch::Contains("target_update (--target-update) 0"));
  DqnSettings ascent = toy_dqn(0);
  ascent.grad_clip = -1;
  CHECK_THROWS_WITH(DqnAgent(env.data, spaces, ascent), Catch::Contains("grad_clip"));
  DqnSettings explore = toy_dqn(0);
  explore.epsilon_start = 1.5;
  CHECK_THROWS_WITH(DqnAgent(env.data, spaces, explore), Catch::Contains("[0, 1]"));
  DdpgSettings ddpg;
  ddpg.tau = 0;
  CHECK_THROWS_WITH(DdpgAgent(env.data, spaces, ddpg), Catch::Contains("tau"));
  ddpg.tau = 0.01;
  ddpg.critic_lr = std::nan("");
  CHECK_THROWS_WITH(DdpgAgent(env.data, spaces, ddpg), Catch::Contains("critic_lr"));
}

TEST_CASE("the same seed trains the same DQN on one thread", "[agents][dqn][determinism]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  auto train = [&](uint64_t seed) {
    auto agent = std::make_unique<DqnAgent>(env.data, spaces, toy_dqn(seed));
    const TrainResult result = train_planted(*agent, env, 6, seed);
    std::vector<double> figures;
    for (const EpochRecord& record : result.epochs) {
      figures.insert(figures.end(), {record.mean_return, record.loss, record.valid_ndcg});
    }
    return std::make_pair(figures, agent->q_values(first_observations(env)));
  };
  const auto first = train(5);
  const auto second = train(5);
  const auto other = train(6);
  CHECK(first.first == second.first);
  CHECK(torch::equal(first.second, second.second));
  CHECK_FALSE(torch::equal(first.second, other.second));
}

// history_rerank is wrong by construction: each user's rewarded item is the
// window item least similar to the mean of the user's history, and the
// teacher's order says nothing. A student that reads the slot features must
// learn to invert the rule's preference.
PlantedEnv contrary_env() {
  PlantedEnv env;
  const int32_t n_users = 96;
  const int32_t n_items = 300;
  const int dim = 4;
  const int list_length = 8;
  const int history = 3;
  EnvData& data = env.data;
  data.n_users = n_users;
  data.n_items = n_items;
  std::mt19937_64 engine(17);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  data.item_embeddings.resize(n_items, dim);
  for (Eigen::Index i = 0; i < data.item_embeddings.size(); ++i) {
    data.item_embeddings.data()[i] = normal(engine);
  }
  data.user_embeddings = RowMatrixXf::Zero(n_users, dim);
  data.lists.resize(n_users, list_length);
  data.scores.resize(n_users, list_length);
  std::vector<std::vector<int32_t>> past(n_users), rewarded(n_users);
  std::vector<int32_t> items(static_cast<std::size_t>(n_items));
  std::iota(items.begin(), items.end(), 0);
  for (int32_t u = 0; u < n_users; ++u) {
    std::shuffle(items.begin(), items.end(), engine);
    past[u].assign(items.begin(), items.begin() + history);
    Eigen::RowVectorXf mean = Eigen::RowVectorXf::Zero(dim);
    for (int32_t h : past[u]) mean += data.item_embeddings.row(h) / history;
    int32_t least = -1;
    for (int j = 0; j < list_length; ++j) {
      const int32_t item = items[static_cast<std::size_t>(history + j)];
      data.lists(u, j) = item;
      data.scores(u, j) = static_cast<float>(list_length - j);
      if (j < 5 && (least < 0 || data.item_embeddings.row(item).dot(mean) <
                                     data.item_embeddings.row(least).dot(mean))) {
        least = item;
      }
    }
    rewarded[u] = {least};
  }
  data.past = UserItems(past);
  data.rewarded = UserItems(rewarded);
  data.rewarded_rating.assign(static_cast<std::size_t>(n_users), 1.0f);
  env.seen = UserItems(past);
  env.settings.n_actions = 5;
  env.settings.history_length = history;
  env.settings.episode_length = 1;
  env.settings.reward = RewardKind::kBinary;
  return env;
}

TEST_CASE("DQN beats history_rerank where the rule is wrong by construction",
          "[agents][dqn][features]") {
  const ThreadScope threads(1);
  const PlantedEnv env = contrary_env();
  const ItemSimilarity similarity = FeatureView(env.data).similarity();
  const RowMatrixXi rule_lists =
      rerank_lists(env.data, env.settings, 64,
                   [&similarity](const ObservationBatch& observations,
                                 std::vector<int32_t>& actions, std::vector<float>&) {
                     history_rerank_policy(observations, similarity, actions);
                   })
          .items;
  const double rule = judge(rule_lists, env.split(), {1}).value(Metric::kPrecision, 1);
  CHECK(rule == 0.0);
  TeacherAgent teacher;
  const double teacher_hits = precision_at_1(teacher, env);
  CHECK(teacher_hits < 0.4);
  DqnAgent agent(env.data, RecEnv(env.data, env.settings).spaces(), toy_dqn(3));
  train_planted(agent, env, 30);
  CHECK(precision_at_1(agent, env) >= std::max(rule, teacher_hits) + 0.5);
}

TEST_CASE("refined lists are the agent's picks, then the rest of the teacher's list",
          "[agents][training]") {
  const PlantedEnv env = planted_env(6);
  TeacherAgent teacher;
  CHECK(refine_lists(teacher, env.data, env.settings, Feedback::kNone, 4).items == env.data.lists);

  // Always slot 3 with K = 3 over a 5-slot window: the picked item leaves and
  // the next list item enters at the back, so the picks are list items 3, 4,
  // 5; then 0, 1, 2, 6, 7 follow in the teacher's order.
  class FourthSlot : public BaselineAgent {
   public:
    std::string name() const override { return "fourth"; }
    void act(const ObservationBatch& observations, bool, std::vector<int32_t>& actions) override {
      actions.assign(observations.batch, kPlantedSlot);
    }
  } fourth;
  EnvSettings three_steps = env.settings;
  three_steps.episode_length = 3;
  const RowMatrixXi lists = refine_lists(fourth, env.data, three_steps, Feedback::kNone, 4).items;
  for (int32_t u = 0; u < env.data.n_users; ++u) {
    const std::vector<int> order = {3, 4, 5, 0, 1, 2, 6, 7};
    for (int j = 0; j < 8; ++j) CHECK(lists(u, j) == env.data.lists(u, order[j]));
  }
}

// Follows the teacher until told to pick the planted slot: its valid NDCG
// is flat, then rises once, then stays flat again.
class LateLearner : public TeacherAgent {
 public:
  std::string name() const override { return "late"; }
  void act(const ObservationBatch& observations, bool explore,
           std::vector<int32_t>& actions) override {
    if (!planted) return TeacherAgent::act(observations, explore, actions);
    actions.assign(observations.batch, kPlantedSlot);
  }
  bool planted = false;
};

TEST_CASE("a valid split fetched when needed is fetched once, after the first epoch's steps",
          "[agents][training]") {
  const PlantedEnv env = planted_env(16);
  // Counts the exploring steps it plays.
  class CountingTeacher : public TeacherAgent {
   public:
    void act(const ObservationBatch& observations, bool explore,
             std::vector<int32_t>& actions) override {
      if (explore) ++exploring_steps;
      TeacherAgent::act(observations, explore, actions);
    }
    int exploring_steps = 0;
  } agent;
  const JudgedSplit split = env.split();
  int fetches = 0, steps_before_fetch = -1;
  const ValidSource source{[] { return true; },
                           [&]() -> const JudgedSplit& {
                             ++fetches;
                             steps_before_fetch = agent.exploring_steps;
                             return split;
                           }};
  const TrainResult fetched =
      train_agent(agent, env.data, env.settings, source, toy_training(3), "", {});
  CHECK(fetches == 1);
  CHECK(steps_before_fetch > 0);
  CHECK(steps_before_fetch * 3 == agent.exploring_steps);  // one epoch's steps of three
  TeacherAgent eager;
  const TrainResult given =
      train_agent(eager, env.data, env.settings, split, toy_training(3), "", {});
  CHECK(fetched.teacher_valid_ndcg == given.teacher_valid_ndcg);
  CHECK(fetched.teacher_valid_ndcg > 0);
  REQUIRE(fetched.epochs.size() == given.epochs.size());
  for (std::size_t e = 0; e < given.epochs.size(); ++e) {
    CHECK(fetched.epochs[e].valid_ndcg == given.epochs[e].valid_ndcg);
  }
}

TEST_CASE("progress names the epoch being played, however far its judging lags",
          "[agents][training]") {
  // A split that is never ready until training ends, and frozen copies
  // judged on other threads: no epoch is judged before the last one's steps.
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env(16);
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  DqnAgent agent(env.data, spaces, toy_dqn(8));
  const JudgedSplit split = env.split();
  const ValidSource never_ready{[] { return false; },
                                [&]() -> const JudgedSplit& { return split; }};
  TrainSettings settings = toy_training(3);
  settings.batch_users = 4;  // several steps an epoch
  std::vector<std::pair<double, int>> steps;
  std::vector<std::size_t> steps_when_judged;
  const std::string checkpoint = temporary_path("progress");
  train_agent(
      agent, env.data, env.settings, never_ready, settings, checkpoint,
      [&](const EpochRecord&) { steps_when_judged.push_back(steps.size()); },
      [&](double done, int epoch) { steps.emplace_back(done, epoch); });
  std::filesystem::remove(checkpoint);
  CHECK(steps_when_judged == std::vector<std::size_t>(3, steps.size()));
  REQUIRE(steps.size() % 3 == 0);
  const std::size_t per_epoch = steps.size() / 3;
  REQUIRE(per_epoch > 1);
  for (std::size_t k = 0; k < steps.size(); ++k) {
    CHECK(steps[k].first == Approx(static_cast<double>(k + 1) / static_cast<double>(steps.size())));
    CHECK(steps[k].second == static_cast<int>(k / per_epoch) + 1);
  }
}

TEST_CASE("patience stops training that many epochs after the last better valid NDCG",
          "[agents][training]") {
  const PlantedEnv env = planted_env(16);
  auto train = [&](int patience) {
    LateLearner agent;
    TrainSettings settings = toy_training(10);
    settings.patience = patience;
    return train_agent(agent, env.data, env.settings, env.split(), settings, "",
                       [&](const EpochRecord& record) { agent.planted = record.epoch >= 2; });
  };
  // Only the epoch training ends with says so.
  const auto last_epochs = [](const TrainResult& result) {
    std::vector<int> last;
    for (const EpochRecord& record : result.epochs) {
      if (record.last) last.push_back(record.epoch);
    }
    return last;
  };
  const TrainResult patient = train(2);
  CHECK(patient.best_epoch == 3);  // epoch 2 ties epoch 1, so it is no better
  CHECK(patient.epochs.size() == 5);
  CHECK(patient.stopped_early);
  CHECK(last_epochs(patient) == std::vector<int>{5});
  const TrainResult every_epoch = train(0);
  CHECK(every_epoch.best_epoch == 3);
  CHECK(every_epoch.epochs.size() == 10);
  CHECK_FALSE(every_epoch.stopped_early);
  CHECK(last_epochs(every_epoch) == std::vector<int>{10});
  // Stopping on the last epoch is not stopping early.
  const TrainResult last = [&] {
    LateLearner agent;
    TrainSettings settings = toy_training(3);
    settings.patience = 2;
    return train_agent(agent, env.data, env.settings, env.split(), settings, "", {});
  }();
  CHECK(last.epochs.size() == 3);
  CHECK_FALSE(last.stopped_early);
  TrainSettings negative = toy_training(3);
  negative.patience = -1;
  CHECK_THROWS_AS(check_train_settings(negative), InputError);
}

TEST_CASE("a DQN's frozen copy scores and saves as the agent did when it was made",
          "[agents][dqn][training]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  const ObservationBatch observations = first_observations(env);
  DqnAgent agent(env.data, spaces, toy_dqn(4));
  train_planted(agent, env, 1);
  const std::unique_ptr<Agent> frozen = agent.frozen_copy();
  REQUIRE(frozen != nullptr);
  std::vector<float> agent_scores, frozen_scores;
  agent.score_slots(observations, agent_scores);
  REQUIRE(frozen->score_slots(observations, frozen_scores));
  CHECK(frozen_scores == agent_scores);
  std::vector<int32_t> agent_actions, frozen_actions;
  agent.act(observations, /*explore=*/false, agent_actions);
  frozen->act(observations, /*explore=*/false, frozen_actions);
  CHECK(frozen_actions == agent_actions);
  // More training moves the agent, not the copy.
  train_planted(agent, env, 1);
  std::vector<float> trained_scores, kept_scores;
  agent.score_slots(observations, trained_scores);
  frozen->score_slots(observations, kept_scores);
  CHECK(trained_scores != agent_scores);
  CHECK(kept_scores == frozen_scores);
  const std::string checkpoint = temporary_path("frozen-copy");
  frozen->save(checkpoint);
  DqnAgent restored(env.data, spaces, toy_dqn(5));
  restored.load(checkpoint);
  std::filesystem::remove(checkpoint);
  std::vector<float> restored_scores;
  restored.score_slots(observations, restored_scores);
  CHECK(restored_scores == frozen_scores);
}

TEST_CASE("a DQN acting beside its updates acts on the weights of its last sync", "[agents][dqn]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  const ObservationBatch observations = first_observations(env);
  DqnAgent agent(env.data, spaces, toy_dqn(4));
  train_planted(agent, env, 3);  // past learning_starts
  agent.sync_actor();
  const std::unique_ptr<Agent> at_sync = agent.frozen_copy();
  std::vector<float> synced_scores;
  at_sync->score_slots(observations, synced_scores);
  for (int u = 0; u < 20; ++u) REQUIRE_FALSE(agent.update().empty());
  std::vector<float> live_scores;
  agent.score_slots(observations, live_scores);
  REQUIRE(live_scores != synced_scores);
  std::vector<int32_t> acted, expected;
  agent.act(observations, /*explore=*/false, acted);
  at_sync->act(observations, /*explore=*/false, expected);
  CHECK(acted == expected);
  agent.release_actor();
  agent.act(observations, /*explore=*/false, acted);
  best_scored_slots(observations, live_scores, expected);
  CHECK(acted == expected);
}

TEST_CASE("DQN's updates in a row learn as many update() calls do", "[agents][dqn][determinism]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  DqnAgent in_a_row(env.data, spaces, toy_dqn(7));
  DqnAgent one_by_one(env.data, spaces, toy_dqn(7));
  const std::vector<std::vector<NamedValue>> before_learning = in_a_row.updates(2);
  REQUIRE(before_learning.size() == 2);
  CHECK(before_learning[0].empty());
  CHECK(before_learning[1].empty());
  train_planted(in_a_row, env, 2);  // past learning_starts
  train_planted(one_by_one, env, 2);
  const ObservationBatch observations = first_observations(env);
  REQUIRE(torch::equal(in_a_row.q_values(observations), one_by_one.q_values(observations)));
  // The second agent's minibatches come from the same replay stream, one
  // update at a time: a batch drawn out of turn changes every update after it.
  for (int count : {3, 1, 4}) {
    const std::vector<std::vector<NamedValue>> figures = in_a_row.updates(count);
    REQUIRE(static_cast<int>(figures.size()) == count);
    for (const std::vector<NamedValue>& update : figures) {
      const std::vector<NamedValue> expected = one_by_one.update();
      REQUIRE(update.size() == expected.size());
      REQUIRE_FALSE(update.empty());
      for (std::size_t i = 0; i < update.size(); ++i) {
        CHECK(update[i].name == expected[i].name);
        CHECK(update[i].value == expected[i].value);
      }
    }
  }
  CHECK(torch::equal(in_a_row.q_values(observations), one_by_one.q_values(observations)));
}

// A DQN that offers no frozen copy, so train_agent() judges its epochs in turn.
class JudgedInTurn : public Agent {
 public:
  explicit JudgedInTurn(DqnAgent& dqn) : dqn_(dqn) {}
  std::string name() const override { return dqn_.name(); }
  void act(const ObservationBatch& observations, bool explore,
           std::vector<int32_t>& actions) override {
    dqn_.act(observations, explore, actions);
  }
  bool score_slots(const ObservationBatch& observations, std::vector<float>& scores) override {
    return dqn_.score_slots(observations, scores);
  }
  void observe(const Transitions& transitions) override { dqn_.observe(transitions); }
  std::vector<NamedValue> update() override { return dqn_.update(); }
  bool acts_beside_updates() const override { return dqn_.acts_beside_updates(); }
  void sync_actor() override { dqn_.sync_actor(); }
  void release_actor() override { dqn_.release_actor(); }
  nlohmann::json settings() const override { return dqn_.settings(); }
  void save(const std::string& path) const override { dqn_.save(path); }
  void load(const std::string& path) override { dqn_.load(path); }

 private:
  DqnAgent& dqn_;
};

TEST_CASE("epochs judged on frozen copies while training goes on are the epochs judged in turn",
          "[agents][training]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  for (const int patience : {0, 1}) {
    CAPTURE(patience);
    TrainSettings settings = toy_training(6);
    settings.patience = patience;
    auto train = [&](DqnAgent& dqn, Agent& trained, const std::string& name) {
      const std::string checkpoint = temporary_path(name);
      const TrainResult result =
          train_agent(trained, env.data, env.settings, env.split(), settings, checkpoint, {});
      std::filesystem::remove(checkpoint);
      return std::make_pair(result, dqn.q_values(first_observations(env)));
    };
    DqnAgent overlapped(env.data, spaces, toy_dqn(3));
    DqnAgent in_turn(env.data, spaces, toy_dqn(3));
    JudgedInTurn judged_in_turn(in_turn);
    const auto [result, q] = train(overlapped, overlapped, "overlapped");
    const auto [expected, expected_q] = train(in_turn, judged_in_turn, "in-turn");
    CHECK(result.best_epoch == expected.best_epoch);
    CHECK(result.stopped_early == expected.stopped_early);
    REQUIRE(result.epochs.size() == expected.epochs.size());
    for (std::size_t e = 0; e < expected.epochs.size(); ++e) {
      CHECK(result.epochs[e].mean_return == expected.epochs[e].mean_return);
      CHECK(result.epochs[e].loss == expected.epochs[e].loss);
      CHECK(result.epochs[e].valid_ndcg == expected.epochs[e].valid_ndcg);
      CHECK(result.epochs[e].valid_precision1 == expected.epochs[e].valid_precision1);
      CHECK(result.epochs[e].best == expected.epochs[e].best);
    }
    // Both ended on their best epoch's state, the copy's saved one for the first.
    CHECK(torch::equal(q, expected_q));
    if (patience == 1) CHECK(expected.stopped_early);
  }
}

// Counts its updates as its "weights"; act() notes the count it acts on
// (the last sync's where it acts beside its updates) and picks slot 0, or
// throws at exploring act number `throw_at`.
class CountingAgent : public Agent {
 public:
  CountingAgent(bool beside_updates, int throw_at = -1)
      : beside_updates_(beside_updates), throw_at_(throw_at) {}
  std::string name() const override { return "counting"; }
  void act(const ObservationBatch& observations, bool explore,
           std::vector<int32_t>& actions) override {
    if (static_cast<int>(acted_on.size()) == throw_at_) throw InputError("act failed on purpose");
    (explore ? acted_on : judged_on).push_back(synced_ >= 0 ? synced_ : updates_);
    actions.assign(static_cast<std::size_t>(observations.batch), 0);
  }
  void observe(const Transitions& /*transitions*/) override { ++observed; }
  std::vector<NamedValue> update() override {
    ++updates_;
    return {{"loss", static_cast<double>(updates_)}};
  }
  bool acts_beside_updates() const override { return beside_updates_; }
  void sync_actor() override { synced_ = updates_; }
  void release_actor() override { synced_ = -1; }
  nlohmann::json settings() const override { return nlohmann::json::object(); }
  void save(const std::string& /*path*/) const override {}
  void load(const std::string& /*path*/) override {}

  std::vector<int64_t> acted_on;   // per step, the update count act() read
  std::vector<int64_t> judged_on;  // the same, for each greedy act()
  int64_t observed = 0;

 private:
  bool beside_updates_;
  int throw_at_;
  int64_t updates_ = 0;
  int64_t synced_ = -1;
};

TEST_CASE("an agent that acts beside its updates plays each step one step's updates behind",
          "[agents][training]") {
  const PlantedEnv env = planted_env();
  TrainSettings settings = toy_training(2);
  settings.updates_per_step = 3;
  CountingAgent in_turn(/*beside_updates=*/false);
  CountingAgent beside(/*beside_updates=*/true);
  const TrainResult expected =
      train_agent(in_turn, env.data, env.settings, env.split(), settings, "", {});
  const TrainResult result =
      train_agent(beside, env.data, env.settings, env.split(), settings, "", {});
  // In turn, step s acts after the 3s updates before it; beside them, on
  // the weights synced before step s - 1's updates, 3(s - 1), and the
  // first step on the untrained weights. No step is played past the last.
  REQUIRE(beside.acted_on.size() == in_turn.acted_on.size());
  REQUIRE(beside.observed == in_turn.observed);
  for (std::size_t s = 0; s < in_turn.acted_on.size(); ++s) {
    CAPTURE(s);
    CHECK(in_turn.acted_on[s] == 3 * static_cast<int64_t>(s));
    CHECK(beside.acted_on[s] == 3 * std::max<int64_t>(0, static_cast<int64_t>(s) - 1));
  }
  // A policy that ignores its weights plays the same episodes either way.
  REQUIRE(result.epochs.size() == expected.epochs.size());
  for (std::size_t e = 0; e < expected.epochs.size(); ++e) {
    CHECK(result.epochs[e].mean_return == expected.epochs[e].mean_return);
    CHECK(result.epochs[e].loss == expected.epochs[e].loss);
    CHECK(result.epochs[e].valid_ndcg == expected.epochs[e].valid_ndcg);
  }
  // Each epoch is judged on its last weights, and after training act()
  // reads the live weights again.
  CHECK(beside.judged_on == in_turn.judged_on);
  std::vector<int32_t> actions;
  beside.act(first_observations(env), /*explore=*/false, actions);
  CHECK(beside.judged_on.back() == 3 * static_cast<int64_t>(in_turn.acted_on.size()));
}

TEST_CASE("an error in a step played beside the updates stops training with that error",
          "[agents][training]") {
  const PlantedEnv env = planted_env();
  CountingAgent failing(/*beside_updates=*/true, /*throw_at=*/3);
  CHECK_THROWS_WITH(
      train_agent(failing, env.data, env.settings, env.split(), toy_training(2), "", {}),
      "act failed on purpose");
  CHECK(failing.acted_on.size() == 3);
}

TEST_CASE("a frozen copy waits for a valid split still in the making while the next epoch trains",
          "[agents][training]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  const JudgedSplit split = env.split();
  auto train = [&](int ready_from_poll) {
    DqnAgent agent(env.data, spaces, toy_dqn(8));
    int polls = 0, fetches = 0, polls_before_fetch = 0;
    const ValidSource source{[&] { return ++polls >= ready_from_poll; },
                             [&]() -> const JudgedSplit& {
                               ++fetches;
                               polls_before_fetch = polls;
                               return split;
                             }};
    const std::string checkpoint = temporary_path("waiting-" + std::to_string(ready_from_poll));
    const TrainResult result =
        train_agent(agent, env.data, env.settings, source, toy_training(4), checkpoint, {});
    std::filesystem::remove(checkpoint);
    CHECK(fetches == 1);
    return std::make_pair(result, polls_before_fetch);
  };
  const auto [at_once, at_once_polls] = train(1);
  CHECK(at_once_polls == 1);  // asked at the first epoch's end, and ready
  // Ready on the poll of the second epoch's first step: judged meanwhile.
  const auto [meanwhile, meanwhile_polls] = train(2);
  CHECK(meanwhile_polls == 2);
  // Never ready: every epoch's copy waits, and the split is fetched when
  // training is over, after a poll at every step since the first epoch.
  const auto [late, late_polls] = train(1000);
  CHECK(late_polls > 6);
  for (const TrainResult* result : {&meanwhile, &late}) {
    REQUIRE(result->epochs.size() == at_once.epochs.size());
    CHECK(result->best_epoch == at_once.best_epoch);
    CHECK(result->teacher_valid_ndcg == at_once.teacher_valid_ndcg);
    for (std::size_t e = 0; e < at_once.epochs.size(); ++e) {
      CHECK(result->epochs[e].loss == at_once.epochs[e].loss);
      CHECK(result->epochs[e].valid_ndcg == at_once.epochs[e].valid_ndcg);
    }
  }
}

TEST_CASE("training without any rewarded item is bad input", "[agents][training]") {
  PlantedEnv env = planted_env(4);
  env.data.rewarded = UserItems(std::vector<std::vector<int32_t>>(4));
  env.data.rewarded_rating.clear();
  TeacherAgent teacher;
  CHECK_THROWS_AS(train_agent(teacher, env.data, env.settings, env.split(), toy_training(1),
                              temporary_path("empty"), {}),
                  InputError);
}

// The same env data with every user's rewarded items replaced by as many
// random items the user has not met: another set of held-out labels.
EnvData with_random_labels(EnvData data, uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::vector<std::vector<int32_t>> items(static_cast<std::size_t>(data.n_users));
  for (int32_t u = 0; u < data.n_users; ++u) {
    const std::vector<int32_t> met(data.past.begin(u), data.past.end(u));
    while (static_cast<int64_t>(items[u].size()) < data.rewarded.size(u)) {
      const auto item = static_cast<int32_t>(engine() % static_cast<uint64_t>(data.n_items));
      if (std::find(met.begin(), met.end(), item) == met.end() &&
          std::find(items[u].begin(), items[u].end(), item) == items[u].end()) {
        items[u].push_back(item);
      }
    }
    std::sort(items[u].begin(), items[u].end());
  }
  data.rewarded = UserItems(items);
  data.rewarded_rating.assign(static_cast<std::size_t>(data.rewarded.total()), 1.0f);
  return data;
}

TEST_CASE("lists that are scored or shown do not depend on the held-out labels",
          "[agents][training][label-free]") {
  SyntheticSettings synthetic;
  synthetic.n_interactions = 6000;
  synthetic.n_users = 120;
  synthetic.n_items = 300;
  const Dataset dataset = make_dataset(generate_synthetic(synthetic), DatasetProvenance{});
  TeacherSettings teacher_settings;
  teacher_settings.epochs = 5;
  BprMf teacher(teacher_settings);
  const TrainingSet rl_data = training_set(dataset, kRl);
  teacher.fit(rl_data, nullptr, {});
  const Knowledge rl = distill(teacher, "bprmf", dataset, kRl, rl_data, 40, nullptr);
  const EnvData train = make_env_data(dataset, rl, kRl);
  EnvSettings settings;
  settings.feedback = Feedback::kHits;  // training may see hits; the lists below may not
  const Spaces spaces = RecEnv(train, settings).spaces();

  DqnAgent dqn(train, spaces, toy_dqn(3));
  DdpgAgent ddpg(train, spaces, toy_ddpg(3));
  examples::LinearAgent linear(spaces, /*lr=*/0.1, /*epsilon=*/0.1, /*seed=*/3);
  const JudgedSplit judged{&train, &train.rewarded, &train.past, nullptr};
  for (Agent* agent : std::vector<Agent*>{&dqn, &ddpg, &linear}) {
    const std::string checkpoint = temporary_path("label-free-" + agent->name());
    train_agent(*agent, train, settings, judged, toy_training(2), checkpoint, {});
    std::filesystem::remove(checkpoint);
  }
  const ItemSimilarity similarity(rl);
  const ListPolicy rule = [&similarity](const ObservationBatch& observations,
                                        std::vector<int32_t>& actions, std::vector<float>&) {
    history_rerank_policy(observations, similarity, actions);
  };

  for (const Split split : {kValid, kTest}) {
    const TrainingSet fit = training_set(dataset, split);
    BprMf stage_teacher(teacher_settings);
    stage_teacher.fit(fit, &rl, {});
    const Knowledge knowledge = distill(stage_teacher, "bprmf", dataset, split, fit, 40, nullptr);
    const EnvData labels = make_env_data(dataset, knowledge, split);
    const EnvData other_labels = with_random_labels(labels, 11);
    REQUIRE(labels.rewarded.total() == other_labels.rewarded.total());
    for (Agent* agent : std::vector<Agent*>{&dqn, &ddpg, &linear}) {
      INFO(agent->name() << " on " << kSplitNames[split]);
      const RerankedLists shown = refine_lists(*agent, labels, settings, Feedback::kNone, 32);
      const RerankedLists shown_other =
          refine_lists(*agent, other_labels, settings, Feedback::kNone, 32);
      CHECK(shown.items == shown_other.items);
      // NaN never equals itself: compare the scores where they exist.
      CHECK((shown.scores.array().isNaN() == shown_other.scores.array().isNaN()).all());
      CHECK((shown.scores.array() == shown_other.scores.array() || shown.scores.array().isNaN())
                .all());
    }
    EnvSettings label_free = settings;
    label_free.feedback = Feedback::kNone;
    CHECK(rerank_lists(labels, label_free, 32, rule).items ==
          rerank_lists(other_labels, label_free, 32, rule).items);
    // With hits fed back, the rule's later picks follow the labels: the check
    // above could fail.
    CHECK(rerank_lists(labels, settings, 32, rule).items !=
          rerank_lists(other_labels, settings, 32, rule).items);
  }
}

}  // namespace trd

namespace trd {
namespace {

TEST_CASE("the registry makes each agent from its flags and again from its own settings",
          "[agents][registry]") {
  const ThreadScope threads(1);
  const PlantedEnv env = planted_env();
  const Spaces spaces = RecEnv(env.data, env.settings).spaces();
  AgentRegistry registry;
  register_builtin_agents(registry);
  CHECK(registry.names_text() == "dqn, ddpg, teacher or random");
  for (const char* name : {"dqn", "ddpg", "teacher", "random"}) {
    INFO(name);
    const nlohmann::json defaults = registry.default_settings(name);
    std::unique_ptr<Agent> agent = registry.make(name, env.data, spaces, defaults, /*seed=*/7);
    CHECK(agent->name() == name);
    // What the agent reports (its sidecar) makes the same agent again.
    const nlohmann::json reported = agent->settings();
    CHECK(registry.make(name, env.data, spaces, reported, 7)->settings() == reported);
  }
  // The flags' defaults are the settings structs' own, and the seed is the caller's.
  CHECK(registry.default_settings("dqn")["hidden"] == DqnSettings{}.hidden);
  CHECK(registry.default_settings("ddpg")["tau"] == DdpgSettings{}.tau);
  CHECK(registry.make("dqn", env.data, spaces, registry.default_settings("dqn"), 11)
            ->settings()["seed"] == 11);

  nlohmann::json broken = registry.default_settings("dqn");
  broken["hidden"] = "wide";
  CHECK_THROWS_WITH(registry.make("dqn", env.data, spaces, broken, 0),
                    Catch::Contains("settings of agent 'dqn'"));
  broken = registry.default_settings("dqn");
  broken["target_update"] = 0;
  CHECK_THROWS_WITH(registry.make("dqn", env.data, spaces, broken, 0),
                    Catch::Contains("--target-update"));
  CHECK_THROWS_WITH(registry.find("dqm"), Catch::Contains("dqn, ddpg, teacher or random"));
  AgentRegistration again = registry.find("random");
  CHECK_THROWS_WITH(registry.add(again), Catch::Contains("registered twice"));
}

}  // namespace
}  // namespace trd
