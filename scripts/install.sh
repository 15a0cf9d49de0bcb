#!/usr/bin/env bash
# Installs everything Enclave and its tests need on a fresh Debian machine without a GPU.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
VENV=${VENV:-.venv}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need=()
  for p in chromium poppler-utils libmagic1 tesseract-ocr tesseract-ocr-eng; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip wheel setuptools
# CPU torch first: a bare "torch" requirement would pull a multi-GB CUDA build.
$PIP install -q "torch==2.13.0"
# llama.cpp: built once per machine into a wheel cache, portably (AVX2, no -march=native: a native build
# died with SIGILL on these VMs, whose CPU flags promise more than the hypervisor delivers).
LLAMA_VERSION=0.3.36
WHEELS=${ENCLAVE_WHEEL_CACHE:-$HOME/.cache/enclave/wheels/llama-avx2-$LLAMA_VERSION}
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  mkdir -p "$WHEELS"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF" \
    $PIP wheel -q --no-deps --no-cache-dir -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi
$PIP install -q --force-reinstall --no-deps "$WHEELS"/llama_cpp_python-*.whl
$PIP install -q -e ".[dev,llm]"
# unstructured-inference pins a CUDA torch through its extras; its PDF helpers need none of that.
$PIP install -q --no-deps unstructured-inference
echo "install: ok ($($VENV/bin/python -c 'import torch;print("torch", torch.__version__)'))"
