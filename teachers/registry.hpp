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

/// The teacher called `name`; InputError for an unknown name. An explicit
/// factory (not self-registration, which static linking drops); settings are
/// checked with check_teacher_settings(). Built into
/// trd_teachers_neural because it names NeuMF too.
std::unique_ptr<Teacher> make_teacher(const std::string& name, const TeacherSettings& settings);

}  // namespace trd
