#include "agents/networks.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "data/atomic_file.hpp"
#include "data/error.hpp"
#include "data/zip_crc.hpp"

namespace trd {
namespace {

torch::Tensor ids_tensor(const std::vector<int32_t>& ids, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<int32_t*>(ids.data()), shape, torch::kInt32).to(torch::kInt64);
}

torch::Tensor embedding_rows(const RowMatrixXf& source, int64_t rows, int dim, bool pad_row) {
  const int64_t total = rows + (pad_row ? 1 : 0);
  torch::Tensor weight;
  if (source.size() > 0) {
    weight = torch::zeros({total, source.cols()});
    weight.narrow(0, 0, rows)
        .copy_(torch::from_blob(const_cast<float*>(source.data()), {rows, source.cols()},
                                torch::kFloat32));
  } else {
    weight = torch::randn({total, dim}) * 0.1;
    if (pad_row) weight[rows].zero_();
  }
  return weight;
}

}  // namespace

ObservationTensors to_tensors(const ObservationBatch& observations, int episode_length,
                              IdTensors ids) {
  const int64_t b = observations.batch;
  const int64_t n = observations.n_actions;
  ObservationTensors tensors;
  if (ids == IdTensors::kMake) {
    if (!observations.arrays.ids) {
      throw std::logic_error("to_tensors: ids asked of observations that do not hold them");
    }
    tensors.user = ids_tensor(observations.user, {b});
    tensors.history = ids_tensor(observations.history, {b, observations.history_length});
    tensors.window = ids_tensor(observations.window, {b, n});
  }
  tensors.mask =
      torch::from_blob(const_cast<int8_t*>(observations.mask.data()), {b, n}, torch::kInt8)
          .to(torch::kBool);
  tensors.mask_offset = mask_offsets(observations);
  // Float arithmetic as the tensor expression (t - 1.0) / K does it, without
  // its three tensor operations.
  tensors.position = torch::empty({b, 1});
  std::transform(observations.t.begin(), observations.t.begin() + b,
                 tensors.position.data_ptr<float>(), [episode_length](int32_t t) {
                   return (static_cast<float>(t) - 1.0f) / static_cast<float>(episode_length);
                 });

  if (observations.arrays.teacher) {
    tensors.teacher_score = torch::from_blob(const_cast<float*>(observations.teacher_score.data()),
                                             {b, n}, torch::kFloat32);
    tensors.teacher_rank = torch::from_blob(const_cast<int32_t*>(observations.teacher_rank.data()),
                                            {b, n}, torch::kInt32);
  }
  const int64_t f = observations.n_features;
  tensors.features = f == 0 ? torch::zeros({b, n, 0})
                            : torch::from_blob(const_cast<float*>(observations.features.data()),
                                               {b, n, f}, torch::kFloat32);
  return tensors;
}

torch::Tensor teacher_features(const ObservationTensors& tensors) {
  const torch::Tensor rank = tensors.teacher_rank.to(torch::kFloat32);
  const torch::Tensor rank_feature =
      tensors.mask.to(torch::kFloat32) / torch::log2(rank.clamp_min(0.0) + 2.0);
  return torch::stack({standardize_rows(tensors.teacher_score, tensors.mask), rank_feature},
                      /*dim=*/2);
}

torch::Tensor mask_offsets(const ObservationBatch& observations) {
  torch::Tensor offsets = torch::empty({observations.batch, observations.n_actions});
  std::transform(observations.mask.begin(), observations.mask.begin() + offsets.numel(),
                 offsets.data_ptr<float>(), [](int8_t valid) {
                   return valid != 0 ? 0.0f : -std::numeric_limits<float>::infinity();
                 });
  return offsets;
}

torch::Tensor bootstrap_flags(const ReplaySample& sample) {
  const ObservationBatch& next = sample.next_observations;
  const auto n = static_cast<int64_t>(sample.terminated.size());
  torch::Tensor flags = torch::empty({n}, torch::kBool);
  bool* flag = flags.data_ptr<bool>();
  for (int64_t row = 0; row < n; ++row) {
    const auto first = next.mask.begin() + row * next.n_actions;
    flag[row] = sample.terminated[static_cast<std::size_t>(row)] == 0 &&
                std::any_of(first, first + next.n_actions, [](int8_t valid) { return valid != 0; });
  }
  return flags;
}

ReplayTensors to_tensors(ReplaySample& sample, int episode_length, IdTensors ids) {
  const int64_t n = static_cast<int64_t>(sample.actions.size());
  ReplayTensors tensors;
  tensors.states = to_tensors(sample.observations, episode_length, ids);
  tensors.next = to_tensors(sample.next_observations, episode_length, ids);
  tensors.actions =
      torch::from_blob(sample.actions.data(), {n, 1}, torch::kInt32).to(torch::kInt64);
  tensors.rewards = torch::from_blob(sample.rewards.data(), {n}, torch::kFloat32);
  tensors.bootstrap = bootstrap_flags(sample);
  return tensors;
}

torch::Tensor standardize_rows(const torch::Tensor& values, const torch::Tensor& mask) {
  const torch::Tensor valid = mask.to(torch::kFloat32);
  const torch::Tensor count = valid.sum(1, /*keepdim=*/true).clamp_min(1.0);
  const torch::Tensor mean = (values * valid).sum(1, true) / count;
  const torch::Tensor centred = (values - mean) * valid;
  const torch::Tensor spread = (centred.pow(2).sum(1, true) / count).sqrt().clamp_min(1e-6);
  return centred / spread;
}

void copy_values(const torch::Tensor& values, std::vector<float>& out) {
  const torch::Tensor flat = values.to(torch::kFloat32).contiguous().view(-1);
  out.assign(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

torch::Tensor masked(const torch::Tensor& values, const torch::Tensor& mask) {
  return torch::where(mask, values, -std::numeric_limits<float>::infinity());
}

EmbeddingTablesImpl::EmbeddingTablesImpl(const EnvData& data, int dim, bool trainable) {
  // In sequence, not as two constructor arguments: without teacher
  // embeddings both draw from the generator, users first.
  const torch::Tensor user_weight =
      embedding_rows(data.user_embeddings, data.n_users, dim, /*pad_row=*/false);
  const torch::Tensor item_weight =
      embedding_rows(data.item_embeddings, data.n_items, dim, /*pad_row=*/true);
  register_tables(user_weight, item_weight, trainable);
}

EmbeddingTablesImpl::EmbeddingTablesImpl(const torch::Tensor& user_weight,
                                         const torch::Tensor& item_weight, bool trainable) {
  register_tables(user_weight, item_weight, trainable);
}

void EmbeddingTablesImpl::register_tables(const torch::Tensor& user_weight,
                                          const torch::Tensor& item_weight, bool trainable) {
  const torch::NoGradGuard no_grad;
  users_ = register_module(
      "users",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(user_weight.size(0), user_weight.size(1))
                               ._weight(user_weight)));
  items_ = register_module(
      "items",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(item_weight.size(0), item_weight.size(1))
                               .padding_idx(item_weight.size(0) - 1)
                               ._weight(item_weight)));
  users_->weight.set_requires_grad(trainable);
  items_->weight.set_requires_grad(trainable);
}

std::shared_ptr<EmbeddingTablesImpl> EmbeddingTablesImpl::same_shape() const {
  return std::make_shared<EmbeddingTablesImpl>(torch::empty_like(users_->weight),
                                               torch::empty_like(items_->weight),
                                               users_->weight.requires_grad());
}

torch::Tensor EmbeddingTablesImpl::history_mean(const torch::Tensor& history, int32_t pad_item) {
  const torch::Tensor present = history.ne(pad_item).to(torch::kFloat32);  // [B, H]
  const torch::Tensor sum = items(history).sum(1);                         // pad rows are zero
  return sum / present.sum(1, /*keepdim=*/true).clamp_min(1.0);
}

void copy_parameters(const torch::nn::Module& source, torch::nn::Module& target) {
  soft_update(source, target, 1.0);
}

void soft_update(const torch::nn::Module& source, torch::nn::Module& target, double tau) {
  const torch::NoGradGuard no_grad;
  const auto from = source.parameters();
  auto to = target.parameters();
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (tau == 1.0) {
      to[i].copy_(from[i]);
    } else {
      to[i].mul_(1.0 - tau).add_(from[i], tau);
    }
  }
}

FlatParameters::FlatParameters(const std::vector<torch::Tensor>& parameters) {
  const torch::NoGradGuard no_grad;
  int64_t total = 0;
  for (const torch::Tensor& parameter : parameters) total += parameter.numel();
  all_ = torch::empty({total});
  gradients_ = torch::zeros({total});
  int64_t offset = 0;
  for (torch::Tensor parameter : parameters) {
    const int64_t n = parameter.numel();
    torch::Tensor values = all_.narrow(0, offset, n).view(parameter.sizes());
    values.copy_(parameter);
    parameter.set_data(values);
    // With a gradient already defined, backward adds into it in place.
    parameter.mutable_grad() = gradients_.narrow(0, offset, n).view(parameter.sizes());
    offset += n;
  }
  all_.set_requires_grad(true);
  all_.mutable_grad() = gradients_;
}

namespace {

constexpr const char* kAgentKey = "trd/agent";
constexpr const char* kDimensionsKey = "trd/dimensions";

torch::Tensor text_tensor(const std::string& text) {
  std::vector<int64_t> codes(text.begin(), text.end());
  return torch::tensor(codes, torch::kInt64);
}

std::string tensor_text(const torch::Tensor& tensor) {
  std::string text;
  const torch::Tensor codes = tensor.to(torch::kInt64).contiguous();
  for (int64_t i = 0; i < codes.numel(); ++i) text += static_cast<char>(codes[i].item<int64_t>());
  return text;
}

}  // namespace

std::vector<CheckpointDimension> env_dimensions(const Spaces& spaces, int64_t embedding_dim) {
  return {{"n_users", spaces.n_users},
          {"n_items", spaces.n_items},
          {"embedding dim", embedding_dim},
          {"n_actions", spaces.n_actions},
          {"history length", spaces.history_length},
          {"episode length", spaces.episode_length}};
}

void save_modules(const std::string& path, const std::string& agent,
                  const std::vector<CheckpointDimension>& dimensions,
                  const std::vector<std::pair<std::string, const torch::nn::Module*>>& modules) {
  torch::serialize::OutputArchive archive;
  archive.write(kAgentKey, text_tensor(agent));
  std::vector<int64_t> values;
  for (const auto& dimension : dimensions) values.push_back(dimension.value);
  archive.write(kDimensionsKey, torch::tensor(values, torch::kInt64));
  for (const auto& [name, module] : modules) {
    torch::serialize::OutputArchive part;
    module->save(part);
    archive.write(name, part);
  }
  replace_atomically(path, [&](const std::string& temporary) {
    try {
      archive.save_to(temporary);
    } catch (const c10::Error&) {
      throw InputError(path + ": cannot write the checkpoint");
    }
  });
}

namespace {

// A flipped byte in a float can make it NaN, and a NaN weight makes every
// Q-value NaN: the student would silently fall back to the teacher's order.
void check_finite(const std::string& path, const std::string& module_name,
                  const torch::nn::Module& module) {
  auto check = [&](const std::string& key, const torch::Tensor& tensor) {
    if (tensor.defined() && tensor.is_floating_point() &&
        !torch::isfinite(tensor).all().item<bool>()) {
      throw InputError(path + ": tensor " + module_name + "." + key +
                       " holds NaN or infinite values (a corrupted checkpoint)");
    }
  };
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    check(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) check(item.key(), item.value());
}

}  // namespace

void require_setting(bool holds, const std::string& name, double value, const char* rule) {
  if (holds) return;
  std::string flag = name;
  std::replace(flag.begin(), flag.end(), '_', '-');
  std::ostringstream text;
  text << "agent setting " << name << " (--" << flag << ") " << value << ": " << rule;
  throw InputError(text.str());
}

// Runs `body`, which reads the archive at `path`. LibTorch reports damage as
// c10::Error or, from its TorchScript parser, as other exceptions whose text
// spans lines: each becomes one line of bad input naming the file.
template <typename Body>
void reading_checkpoint(const std::string& path, const char* problem, Body body) {
  auto first_line = [](const std::string& text) { return text.substr(0, text.find('\n')); };
  try {
    body();
  } catch (const InputError&) {
    throw;
  } catch (const c10::Error& error) {
    throw InputError(path + ": " + problem + ": " + first_line(error.what_without_backtrace()));
  } catch (const std::exception& error) {
    throw InputError(path + ": " + problem + ": " + first_line(error.what()));
  }
}

std::string checkpoint_agent(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw InputError(path + ": no such checkpoint");
  verify_zip_crcs(path);
  std::string agent;
  reading_checkpoint(path, "not a trd agent checkpoint (empty, truncated or damaged)", [&] {
    torch::serialize::InputArchive archive;
    torch::Tensor agent_tensor;
    archive.load_from(path);
    archive.read(kAgentKey, agent_tensor);
    agent = tensor_text(agent_tensor);
  });
  return agent;
}

void load_modules(const std::string& path, const std::string& agent,
                  const std::vector<CheckpointDimension>& dimensions,
                  const std::vector<std::pair<std::string, torch::nn::Module*>>& modules) {
  if (!std::filesystem::is_regular_file(path)) throw InputError(path + ": no such checkpoint");
  verify_zip_crcs(path);
  torch::serialize::InputArchive archive;
  torch::Tensor agent_tensor, dimension_tensor;
  std::string saved_agent;
  reading_checkpoint(path, "not a trd agent checkpoint", [&] {
    archive.load_from(path);
    archive.read(kAgentKey, agent_tensor);
    archive.read(kDimensionsKey, dimension_tensor);
    saved_agent = tensor_text(agent_tensor);
    dimension_tensor = dimension_tensor.to(torch::kInt64).reshape(-1);
  });
  if (saved_agent != agent) {
    throw InputError(path + ": holds a '" + saved_agent + "' agent, not '" + agent + "'");
  }
  if (dimension_tensor.numel() != static_cast<int64_t>(dimensions.size())) {
    throw InputError(path + ": has " + std::to_string(dimension_tensor.numel()) +
                     " dimensions in its header, expected " + std::to_string(dimensions.size()));
  }
  for (std::size_t i = 0; i < dimensions.size(); ++i) {
    const int64_t saved = dimension_tensor[static_cast<int64_t>(i)].item<int64_t>();
    if (saved != dimensions[i].value) {
      throw InputError(path + ": was trained with " + dimensions[i].name + " = " +
                       std::to_string(saved) + ", but this setup has " +
                       std::to_string(dimensions[i].value));
    }
  }
  reading_checkpoint(path, "cannot be restored", [&] {
    for (const auto& [name, module] : modules) {
      torch::serialize::InputArchive part;
      archive.read(name, part);
      // Module::load takes each tensor's shape from the archive.
      std::vector<std::vector<int64_t>> shapes;
      for (const torch::Tensor& tensor : module->parameters())
        shapes.push_back(tensor.sizes().vec());
      module->load(part);
      std::size_t i = 0;
      for (const auto& item : module->named_parameters()) {
        if (item.value().sizes().vec() != shapes[i++]) {
          throw InputError(path + ": tensor " + name + "." + item.key() + " has shape " +
                           c10::str(item.value().sizes()) + ", expected " +
                           c10::str(c10::IntArrayRef(shapes[i - 1])));
        }
      }
      check_finite(path, name, *module);
    }
  });
}

}  // namespace trd
