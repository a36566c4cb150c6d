#!/usr/bin/env bash
# Installs the benchmark peers on demand. None of them is a dependency of receptive:
#   - npm packages go into bench/node_modules (bench/package.json, gitignored install)
#   - Debian packages (PyTorch, oneDNN, OpenBLAS) through apt-get when run as root
#   - bench/peers/gemm_peers.cc is compiled against whichever of oneDNN/OpenBLAS exist
#   - bench/peers/fma_peak.cc (FMA-loop peak) is always compiled
# Every step is optional: a failure is reported and the bench skips that peer.
# Usage: bash bench/setup-peers.sh [--no-apt] [--no-npm]
set -u
cd "$(dirname "$0")"
BENCH_DIR=$(pwd)
DO_APT=1; DO_NPM=1
for a in "$@"; do
  case "$a" in
    --no-apt) DO_APT=0 ;;
    --no-npm) DO_NPM=0 ;;
  esac
done
note() { echo "setup-peers: $*"; }

# ---- npm peers (into bench/node_modules, one command: a second `npm install --no-save`
# would prune the first one's packages) ----
if [ "$DO_NPM" = 1 ]; then
  # onnxruntime-node: its CPU binary ships inside the package; its install script (which
  # downloads extra binaries) cannot run here, hence --ignore-scripts. TensorFlow.js: the
  # pure-JS cpu backend and the wasm backend (tfjs-node cannot install here).
  npm install --no-save --no-audit --no-fund --ignore-scripts \
      onnxruntime-node @tensorflow/tfjs @tensorflow/tfjs-backend-wasm \
    && note "onnxruntime-node, @tensorflow/tfjs, @tensorflow/tfjs-backend-wasm installed in bench/node_modules" \
    || note "npm peers FAILED (the bench skips onnxruntime / tfjs)"
fi

# ---- Debian peers ----
if [ "$DO_APT" = 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || note "apt-get update failed"
    for p in libopenblas-dev libdnnl-dev python3-torch; do
      if dpkg -s "$p" >/dev/null 2>&1; then note "$p already installed"; continue; fi
      apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 \
        && note "$p installed" || note "$p FAILED (bench will skip it)"
    done
  else
    note "not root (or no apt-get): skipping python3-torch, libdnnl-dev, libopenblas-dev"
  fi
fi

# ---- C++ peers: fma_peak and gemm_peers (oneDNN / OpenBLAS), into bench/build ----
node peers/build.js --force || note "C++ peers FAILED to build"
if [ -f /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  note "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') available"
else
  note "PyTorch not available to /usr/bin/python3 (bench will skip it)"
fi
exit 0
