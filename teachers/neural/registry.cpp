#include "teachers/registry.hpp"

#include "teachers/neural/neumf.hpp"

namespace trd {

std::unique_ptr<Teacher> make_teacher(const std::string& name, const TeacherSettings& settings) {
  if (std::unique_ptr<Teacher> teacher = make_eigen_teacher(name, settings)) return teacher;
  return std::make_unique<NeuMf>(settings);
}

}  // namespace trd
