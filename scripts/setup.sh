#!/usr/bin/env bash
# Installs the Debian packages s3rec needs. Idempotent: installs only what is missing.
set -euo pipefail
PKGS=(build-essential cmake pkg-config libopenblas-openmp-dev nlohmann-json3-dev libcli11-dev
      libspdlog-dev libfmt-dev libyaml-cpp-dev libcpp-httplib-dev libgtest-dev libgmock-dev
      libbenchmark-dev libopenmpi-dev openmpi-bin libfaiss-dev
      # the Python package (python/, docs/python.md) and its tests
      pybind11-dev python3-dev python3-numpy python3-setuptools python3-wheel python3-venv python3-pytest
      python3-pandas python3-tqdm)
[ "${S3REC_WITH_TORCH:-0}" = 1 ] && PKGS+=(python3-torch python3-numpy)
PKGS+=(python3-matplotlib)  # python3 -m s3rec.plot and its test, bench/scale_report.py
# make fuzz, make check-sanitize, make check-tsan: clang with its sanitizer runtimes and LLVM's OpenMP
# runtime (libarcher)
[ "${S3REC_WITH_CLANG:-0}" = 1 ] && PKGS+=(clang libclang-rt-dev libomp-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
