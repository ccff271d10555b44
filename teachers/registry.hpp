#pragma once

#include <memory>
#include <string>

#include "teachers/teacher.hpp"

namespace trd {

/// Every teacher trd can fit, for help texts and error messages.
inline constexpr const char* kTeacherNames = "mostpop, itemknn, bprmf, item2vec, puresvd, neumf";

/// The hyper-parameters `name` is fitted with unless flags say otherwise
/// (each teacher's tuned defaults; see the README). InputError for an unknown name.
TeacherSettings default_settings(const std::string& name);

/// InputError naming the setting (and its flag) unless every field of
/// `settings` is in range for any teacher: counts positive, the learning rate
/// finite and > 0, the L2 penalty finite and >= 0. Each teacher adds its own
/// rules (puresvd's dim against the data, item2vec's negatives).
void check_teacher_settings(const TeacherSettings& settings);

/// The teacher called `name` when it is an Eigen one, nullptr when it needs
/// LibTorch (neumf); InputError for an unknown name. Settings are checked
/// with check_teacher_settings(). An explicit factory, not self-registration,
/// which static linking drops.
std::unique_ptr<Teacher> make_eigen_teacher(const std::string& name,
                                            const TeacherSettings& settings);

/// Every teacher by name, NeuMF included: defined in trd_teachers_neural
/// (teachers/neural/registry.cpp). The trd executable, which never loads
/// LibTorch, defines it without NeuMF (apps/libtorch_handoff.cpp).
std::unique_ptr<Teacher> make_teacher(const std::string& name, const TeacherSettings& settings);

}  // namespace trd
