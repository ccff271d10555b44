#include "agents/replica_group.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "data/error.hpp"

namespace trd {
namespace {

struct Rendezvous {
  std::string host;  // tcp://
  int port = 0;
  std::string path;  // file://
};

std::optional<Rendezvous> parse_rendezvous(const std::string& address) {
  const std::string tcp = "tcp://";
  const std::string file = "file://";
  Rendezvous parsed;
  if (address.rfind(file, 0) == 0 && address.size() > file.size()) {
    parsed.path = address.substr(file.size());
    return parsed;
  }
  if (address.rfind(tcp, 0) != 0) return std::nullopt;
  const std::string rest = address.substr(tcp.size());
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return std::nullopt;
  parsed.host = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) {
    return std::nullopt;
  }
  parsed.port = std::stoi(port);
  if (parsed.port < 1 || parsed.port > 65535) return std::nullopt;
  return parsed;
}

// c10d's messages carry a backtrace after their first line.
std::string first_line(const std::exception& error) {
  const std::string what = error.what();
  return what.substr(0, what.find('\n'));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

uint64_t fnv1a(const torch::Tensor& tensor, uint64_t hash) {
  const torch::Tensor dense = tensor.contiguous();
  const auto* bytes = static_cast<const unsigned char*>(dense.data_ptr());
  const std::size_t n = static_cast<std::size_t>(dense.numel()) * dense.element_size();
  for (std::size_t i = 0; i < n; ++i) hash = (hash ^ bytes[i]) * 1099511628211ULL;
  return hash;
}

}  // namespace

void check_replica_settings(const ReplicaSettings& settings) {
  if (settings.world_size < 1) {
    throw InputError("--world-size " + std::to_string(settings.world_size) +
                     ": a group needs at least 1 process");
  }
  if (settings.rank < 0 || settings.rank >= settings.world_size) {
    throw InputError("--rank " + std::to_string(settings.rank) + " is outside [0, " +
                     std::to_string(settings.world_size) + ") for --world-size " +
                     std::to_string(settings.world_size));
  }
  if (settings.timeout_s < 1) {
    throw InputError("--rendezvous-timeout " + std::to_string(settings.timeout_s) +
                     ": must be at least 1 second");
  }
  if (settings.world_size > 1 && !parse_rendezvous(settings.rendezvous)) {
    throw InputError("--rendezvous '" + settings.rendezvous +
                     "': --world-size > 1 needs tcp://HOST:PORT (rank 0 listens there) or "
                     "file://PATH");
  }
}

std::vector<int32_t> user_shard(const std::vector<int32_t>& users, int rank, int world_size) {
  std::vector<int32_t> shard;
  for (std::size_t i = static_cast<std::size_t>(rank); i < users.size();
       i += static_cast<std::size_t>(world_size)) {
    shard.push_back(users[i]);
  }
  return shard;
}

struct ReplicaGroup::Connection {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ReplicaGroup::ReplicaGroup(const ReplicaSettings& settings, const nlohmann::json& shared)
    : settings_((check_replica_settings(settings), settings)),
      connection_(std::make_unique<Connection>()) {
  if (settings_.world_size == 1) return;
  const Rendezvous rendezvous = *parse_rendezvous(settings_.rendezvous);
  const std::chrono::milliseconds timeout(1000LL * settings_.timeout_s);
  const std::string where = "--rendezvous " + settings_.rendezvous;
  const std::string who = "rank " + std::to_string(settings_.rank);
  if (rendezvous.path.empty()) {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(rendezvous.port);
    options.isServer = settings_.rank == 0;
    options.waitWorkers = false;
    options.timeout = timeout;
    try {
      connection_->store = c10::make_intrusive<c10d::TCPStore>(rendezvous.host, options);
    } catch (const std::exception& error) {
      if (options.isServer) {
        throw InputError(where + ": rank 0 cannot listen there (is another rank 0 running?): " +
                         first_line(error));
      }
      throw ExternalError(where + ": " + who + " reached no rank 0 there within " +
                          std::to_string(settings_.timeout_s) + " s: " + first_line(error));
    }
  } else {
    // Every key a group writes waits on rank 0's, so a file that holds
    // anything when rank 0 arrives is an earlier group's.
    std::error_code ignored;
    if (settings_.rank == 0 && std::filesystem::file_size(rendezvous.path, ignored) > 0 &&
        !ignored) {
      throw InputError(where +
                       ": the file holds an earlier group's keys: remove it or name "
                       "a fresh one");
    }
    // LibTorch 1.13's FileStore reads the file before anything writes it.
    std::ofstream(rendezvous.path, std::ios::app);
    try {
      connection_->store =
          c10::make_intrusive<c10d::FileStore>(rendezvous.path, settings_.world_size);
    } catch (const std::exception& error) {
      throw InputError(where + ": cannot use the file: " + first_line(error));
    }
  }
  c10d::Store& store = *connection_->store;
  store.setTimeout(timeout);
  try {
    // Checked before Gloo's own rendezvous, which would wait out the
    // timeout on a group that can never form.
    nlohmann::json agreed = shared;
    agreed["verify_replicas"] = settings_.verify;
    if (settings_.rank == 0) {
      store.set("trd/settings", bytes_of(agreed.dump()));
      store.set("trd/world_size", bytes_of(std::to_string(settings_.world_size)));
    }
    const std::vector<uint8_t> world = store.get("trd/world_size");
    const std::string group_size(world.begin(), world.end());
    if (group_size != std::to_string(settings_.world_size)) {
      throw InputError(where + ": " + who + " was started with --world-size " +
                       std::to_string(settings_.world_size) + ", but rank 0 started a group of " +
                       group_size);
    }
    if (store.add("trd/rank/" + std::to_string(settings_.rank), 1) != 1) {
      throw InputError(where + ": " + who +
                       " has already joined this group: give each process its own --rank");
    }
    const std::vector<uint8_t> first = store.get("trd/settings");
    const nlohmann::json first_settings = nlohmann::json::parse(first.begin(), first.end());
    const nlohmann::json differences = nlohmann::json::diff(first_settings, agreed);
    if (!differences.empty()) {
      const nlohmann::json::json_pointer pointer(differences[0]["path"].get<std::string>());
      const auto shown = [&](const nlohmann::json& side) {
        return side.contains(pointer) ? side[pointer].dump() : std::string("nothing");
      };
      throw InputError(where + ": " + who + " has " + pointer.to_string() + " = " + shown(agreed) +
                       ", rank 0 has " + shown(first_settings) +
                       ": every rank needs the same flags and inputs, apart from --rank");
    }
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // As in PyTorch, GLOO_SOCKET_IFNAME names the interface to bind; a
    // group met on loopback stays there; otherwise each rank binds to the
    // address its own hostname resolves to.
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    if (interface != nullptr && *interface != 0) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else if (is_loopback(rendezvous.host)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    options->threads = 1;
    connection_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("trd/gloo", connection_->store), settings_.rank,
        settings_.world_size, options);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& error) {
    throw ExternalError(where + ": the group of " + std::to_string(settings_.world_size) +
                        " did not form within " + std::to_string(settings_.timeout_s) + " s (" +
                        who + "): " + first_line(error));
  }
}

ReplicaGroup::~ReplicaGroup() = default;

namespace {

void wait_for(const c10::intrusive_ptr<c10d::Work>& work, const ReplicaSettings& settings,
              const std::string& exchange) {
  try {
    work->wait();
  } catch (const std::exception& error) {
    throw ExternalError("rank " + std::to_string(settings.rank) + " of " +
                        std::to_string(settings.world_size) + ": " + exchange +
                        " failed: another rank died, stopped or took longer than --rendezvous-"
                        "timeout " +
                        std::to_string(settings.timeout_s) + " s (" + first_line(error) + ")");
  }
}

}  // namespace

void ReplicaGroup::broadcast_from_first(const std::vector<torch::Tensor>& tensors) {
  if (settings_.world_size == 1) return;
  const torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat;
  for (const torch::Tensor& tensor : tensors) flat.push_back(tensor.detach().reshape({-1}));
  std::vector<torch::Tensor> buffer = {torch::cat(flat)};
  wait_for(connection_->group->broadcast(buffer), settings_, "sharing rank 0's weights");
  int64_t offset = 0;
  for (const torch::Tensor& tensor : tensors) {
    tensor.detach().view({-1}).copy_(buffer[0].narrow(0, offset, tensor.numel()));
    offset += tensor.numel();
  }
}

void ReplicaGroup::average_gradients(const std::vector<torch::Tensor>& parameters) {
  if (settings_.world_size == 1) return;
  const torch::NoGradGuard no_grad;
  int64_t total = 0;
  for (const torch::Tensor& parameter : parameters) {
    if (parameter.grad().defined()) total += parameter.numel();
  }
  auto reused = std::find_if(gradient_buffers_.begin(), gradient_buffers_.end(),
                             [total](const torch::Tensor& b) { return b.numel() == total; });
  if (reused == gradient_buffers_.end()) {
    gradient_buffers_.push_back(torch::empty({total}));
    reused = gradient_buffers_.end() - 1;
  }
  const torch::Tensor gradient_buffer = *reused;
  int64_t offset = 0;
  for (const torch::Tensor& parameter : parameters) {
    const torch::Tensor& grad = parameter.grad();
    if (!grad.defined()) continue;
    gradient_buffer.narrow(0, offset, grad.numel()).copy_(grad.reshape({-1}));
    offset += grad.numel();
  }
  std::vector<torch::Tensor> buffer = {gradient_buffer};
  wait_for(connection_->group->allreduce(buffer), settings_, "averaging the gradients");
  gradient_buffer.div_(settings_.world_size);
  offset = 0;
  for (const torch::Tensor& parameter : parameters) {
    torch::Tensor grad = parameter.grad();
    if (!grad.defined()) continue;
    grad.view({-1}).copy_(gradient_buffer.narrow(0, offset, grad.numel()));
    offset += grad.numel();
  }
}

std::vector<double> ReplicaGroup::sum(const std::vector<double>& values) {
  if (settings_.world_size == 1) return values;
  std::vector<torch::Tensor> buffer = {torch::tensor(values, torch::dtype(torch::kFloat64))};
  wait_for(connection_->group->allreduce(buffer), settings_, "summing the epoch's figures");
  const double* summed = buffer[0].data_ptr<double>();
  return {summed, summed + values.size()};
}

void ReplicaGroup::verify_identical(const std::vector<torch::Tensor>& parameters, int64_t update) {
  if (!settings_.verify || settings_.world_size == 1) return;
  uint64_t hash = 14695981039346656037ULL;
  for (const torch::Tensor& parameter : parameters) hash = fnv1a(parameter.detach(), hash);
  // 63 bits, so that the negation below cannot overflow: the maximum of h
  // and of -h over the ranks are h and -h only when every rank has h.
  const auto mine = static_cast<int64_t>(hash >> 1);
  std::vector<torch::Tensor> buffer = {torch::tensor({mine, -mine}, torch::kInt64)};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  wait_for(connection_->group->allreduce(buffer, options), settings_,
           "comparing the weights after update " + std::to_string(update));
  const int64_t* extremes = buffer[0].data_ptr<int64_t>();
  if (extremes[0] != -extremes[1]) {
    throw ExternalError("rank " + std::to_string(settings_.rank) +
                        ": the ranks' weights differ "
                        "after update " +
                        std::to_string(update) +
                        " (--verify-replicas): the replicas drifted apart");
  }
  ++verified_updates_;
}

}  // namespace trd
