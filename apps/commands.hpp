#pragma once

#include <string>
#include <vector>

namespace trd::cli {

int run_data(const std::vector<std::string>& args);
int run_inspect(const std::vector<std::string>& args);
int run_teacher(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_train(const std::vector<std::string>& args);
int run_recommend(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);

}  // namespace trd::cli
