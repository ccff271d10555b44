#include "apps/teacher_options.hpp"

#include <type_traits>

#include "teachers/registry.hpp"

namespace trd::cli {

po::options_description teacher_setting_options(const std::string& prefix,
                                                const std::string& caption) {
  po::options_description options(caption);
  auto add = [&](const char* name, auto* typed, const char* help) {
    options.add_options()((prefix + name).c_str(), typed, help);
  };
  add("epochs", po::value<int>(), "training epochs (puresvd: power iterations)");
  add("dim", po::value<int>(), "embedding size");
  add("lr", po::value<float>(), "learning rate");
  add("negatives", po::value<int>(), "negatives per positive");
  add("l2", po::value<float>(), "L2 penalty");
  add("neighbours", po::value<int>(), "itemknn: neighbours kept per item");
  add("window", po::value<int>(), "item2vec: context items on each side");
  return options;
}

TeacherSettings teacher_settings(const po::variables_map& v, const std::string& teacher,
                                 const std::string& prefix) {
  TeacherSettings settings = default_settings(teacher);
  auto override_with = [&](const char* flag, auto& field) {
    if (v.count(prefix + flag)) field = v[prefix + flag].as<std::decay_t<decltype(field)>>();
  };
  override_with("epochs", settings.epochs);
  override_with("dim", settings.dim);
  override_with("lr", settings.lr);
  override_with("negatives", settings.negatives);
  override_with("l2", settings.l2);
  override_with("neighbours", settings.neighbours);
  override_with("window", settings.window);
  override_with("threads", settings.threads);
  override_with("seed", settings.seed);
  check_teacher_settings(settings);
  return settings;
}

}  // namespace trd::cli
