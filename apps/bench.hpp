#pragma once

// What the `trd bench` suites share.

#include <functional>
#include <vector>

#include "apps/cli.hpp"

namespace trd::cli {

double median(std::vector<double> values);

/// Median seconds of `repeat` calls of `work`.
double median_seconds(int repeat, const std::function<void()>& work);

/// `trd bench agent`: the learner's speed (LibTorch; in trd-torch).
int bench_agent(const po::variables_map& values);

}  // namespace trd::cli
