#!/usr/bin/env bash
# Install the Debian packages moerate needs (those missing only) and build it into build/.
#   bash jobs/setup.sh [more Debian packages to install]
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=("$@" build-essential cmake pkg-config git petsc-dev libhdf5-openmpi-dev hdf5-tools openmpi-bin libopenmpi-dev
      libopenblas0 libgsl-dev zlib1g-dev python3-numpy python3-scipy python3-h5py python3-matplotlib python3-pytest)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
