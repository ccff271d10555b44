#!/usr/bin/env bash
# Installs every Debian package trd needs to build, test and run. Idempotent:
# silent and quick when everything is already there.
set -euo pipefail

packages=(
  cmake g++ make                      # build
  libtorch-dev libopenblas-dev        # networks (agents/, NeuMF); BLAS for LibTorch and Eigen
  libgloo-dev                         # c10d's Gloo headers: trd train --world-size (LibTorch ships the library)
  libeigen3-dev                       # linear algebra in data/, teachers/, env/
  libboost-program-options-dev        # the command line and --config files
  libhdf5-dev                         # dataset and knowledge files
  zlib1g-dev                          # gzip-compressed inputs, CRC-32 of sources
  nlohmann-json3-dev                  # --json output, Amazon JSON-lines input
  catch2                              # unit tests (v2)
  python3 python3-h5py python3-numpy hdf5-tools  # second-client interop tests
  pybind11-dev python3-dev            # the Python package (python/)
  python3-matplotlib                  # python3 -m trd.plot: trd run's pictures
  python3-torch                       # examples/python/dqn_agent.py, a PyTorch student
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
