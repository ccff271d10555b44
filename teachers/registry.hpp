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

/// The teacher called `name`; InputError for an unknown name. An explicit
/// factory (not self-registration, which static linking drops). Built into
/// trd_teachers_neural because it names NeuMF too.
std::unique_ptr<Teacher> make_teacher(const std::string& name, const TeacherSettings& settings);

}  // namespace trd
