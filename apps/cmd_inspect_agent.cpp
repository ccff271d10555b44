// `trd inspect` of a `trd train` folder: reading the checkpoint needs
// LibTorch, so this part is built into trd-torch only.

#include <filesystem>
#include <iostream>

#include "agents/networks.hpp"
#include "apps/cli.hpp"
#include "apps/libtorch_commands.hpp"
#include "apps/student.hpp"
#include "data/error.hpp"
#include "data/report.hpp"

namespace trd::cli {

namespace {

// "7 epochs run (of at most 10)" or "10 epochs"; sidecars from before
// --patience ran every epoch and have no epochs_run.
std::string epochs_run(const nlohmann::json& sidecar) {
  const int most = sidecar.at("training").at("epochs").get<int>();
  const int run = sidecar.value("epochs_run", most);
  return run == most ? std::to_string(most) + " epochs"
                     : std::to_string(run) + " epochs run (of at most " + std::to_string(most) + ")";
}

}  // namespace

// A `trd train` folder (or its agent.json): what the student is, what it
// learned from, and how it did on valid.
int inspect_agent(const std::string& sidecar_path, bool json) {
  const nlohmann::json sidecar = read_agent_sidecar(sidecar_path);
  const std::string checkpoint = verified_checkpoint(sidecar_path, sidecar);
  const std::string stored_agent = checkpoint_agent(checkpoint);
  if (stored_agent != sidecar.at("agent").get<std::string>()) {
    throw InputError(checkpoint + ": holds a '" + stored_agent + "' agent, but " + sidecar_path +
                     " describes a '" + sidecar.at("agent").get<std::string>() + "' agent");
  }
  try {
    const nlohmann::json& learned = sidecar.at("train_knowledge");
    std::cout << sidecar_path << ": trd-agent v" << sidecar.at("version").get<int>() << ", "
              << sidecar.at("agent").get<std::string>() << " student of "
              << learned.at("teacher").get<std::string>() << " ("
              << learned.at("file").get<std::string>() << ", embeddings of width "
              << learned.at("dim").get<int>() << "), dataset "
              << sidecar.at("dataset").at("fingerprint").get<std::string>() << "\n  best epoch "
              << sidecar.at("best_epoch").get<int>() << " of " << epochs_run(sidecar)
              << ": valid "
              << sidecar.at("selection").get<std::string>() << " "
              << fixed4(sidecar.at("valid_student").get<double>()) << " against the teacher's "
              << fixed4(sidecar.at("valid_teacher").get<double>())
              << (sidecar.at("beats_teacher").get<bool>() ? "" : " (never beat the teacher)")
              << "\n  checkpoint " << checkpoint << " (" << std::filesystem::file_size(checkpoint)
              << " bytes)\n";
  } catch (const nlohmann::json::exception& error) {
    throw InputError(sidecar_path + ": malformed agent sidecar: " + error.what());
  }
  if (json) print_json(sidecar);
  return kExitOk;
}

}  // namespace trd::cli
