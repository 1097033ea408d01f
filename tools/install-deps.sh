#!/bin/sh
# Install the Debian packages mimonet needs, only when something is missing.
#   tools/install-deps.sh           build and test dependencies
#   tools/install-deps.sh --bench   also PyTorch 1.13 and numpy (the benchmark peers)
#   tools/install-deps.sh --fuzz    also clang and its sanitizer/libFuzzer runtimes
#   tools/install-deps.sh --clang   also clang and its OpenMP runtime (make test-clang)
#   tools/install-deps.sh --valgrind also valgrind
#   tools/install-deps.sh --check   only report what is missing (exit 1 if anything is)
# Uses apt-get (through sudo when not root).  Safe to run repeatedly: it does nothing when all
# packages are present.
set -eu

pkgs="build-essential pkg-config libcjson-dev libfftw3-dev libopenblas-dev liblapacke-dev libmatio-dev"
mode=build
case "${1:-}" in
  --bench) pkgs="$pkgs python3-torch python3-numpy"; mode=bench ;;
  --fuzz) pkgs="$pkgs clang libclang-rt-14-dev"; mode=fuzz ;;
  --clang) pkgs="$pkgs clang libomp-dev"; mode=clang ;;
  --valgrind) pkgs="$pkgs valgrind"; mode=valgrind ;;
  --check) mode=check ;;
  "") ;;
  *) echo "usage: $0 [--bench|--fuzz|--clang|--valgrind|--check]" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi
if [ "$mode" = check ]; then
  echo "missing Debian packages:$missing"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "mimonet: these packages are missing and apt-get is not available:$missing" >&2
  echo "mimonet: install their equivalents, then run make again." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "mimonet: need root (or sudo) to install:$missing" >&2; exit 1
  fi
fi
echo "mimonet: installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
