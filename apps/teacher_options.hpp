#pragma once

// The teacher hyper-parameter flags, shared by `trd teacher` (--lr) and
// `trd run` (--teacher-lr), so both read and check them the same way.

#include <string>

#include "apps/cli.hpp"
#include "teachers/teacher.hpp"

namespace trd::cli {

/// --<prefix>epochs, --<prefix>dim, ... without defaults: an unset flag keeps
/// the teacher's own tuned value.
po::options_description teacher_setting_options(const std::string& prefix,
                                                const std::string& caption);

/// `teacher`'s defaults overridden by the flags given, and checked
/// (check_teacher_settings) so a bad value fails before any work.
TeacherSettings teacher_settings(const po::variables_map& values, const std::string& teacher,
                                 const std::string& prefix);

}  // namespace trd::cli
