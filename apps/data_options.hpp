#pragma once

#include <string>

#include "apps/cli.hpp"
#include "data/prepare.hpp"

namespace trd::cli {

/// The flags that choose and prepare a dataset; shared by `trd data` and `trd run`.
/// `seed_help` says what --seed seeds in the calling command.
po::options_description dataset_options(const char* seed_help = "seed of the synthetic generator");

/// Settings from those flags, with the input located (see data_dirs()).
/// Prints to stderr which source was picked when --dataset is auto.
PrepareSettings prepare_settings(const po::variables_map& values);

}  // namespace trd::cli
