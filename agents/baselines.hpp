#pragma once

// The always-available baselines behind the Agent interface, so the loops and
// reports treat them like any student.

#include <random>

#include "agents/agent.hpp"

namespace trd {

/// Nothing to learn: act() is a fixed policy; save() and load() keep only the
/// name, so a checkpoint still says which baseline it was.
class BaselineAgent : public Agent {
 public:
  void observe(const Transitions&) override {}
  std::vector<NamedValue> update() override { return {}; }
  nlohmann::json settings() const override { return nlohmann::json::object(); }
  void save(const std::string& path) const override;
  void load(const std::string& path) override;
};

/// Always slot 0: the teacher's own list.
class TeacherAgent : public BaselineAgent {
 public:
  std::string name() const override { return "teacher"; }
  void act(const ObservationBatch& observations, bool explore,
           std::vector<int32_t>& actions) override;
};

/// A uniform valid slot, from its seed.
class RandomAgent : public BaselineAgent {
 public:
  explicit RandomAgent(uint64_t seed) : engine_(seed) {}
  std::string name() const override { return "random"; }
  void act(const ObservationBatch& observations, bool explore,
           std::vector<int32_t>& actions) override;

 private:
  std::mt19937_64 engine_;
};

}  // namespace trd
