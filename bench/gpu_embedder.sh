#!/usr/bin/env bash
# Embedder GPU check for an H100 machine without network. Run from the repository root:
#   bench/gpu_embedder.sh [--model DIR] [--limit N]      (extra flags go to bench/gpu_embedder.py)
# Needs a Python with torch (CUDA), sentence-transformers, fastapi, uvicorn, httpx, pydantic-settings,
# prometheus-client. The model can travel with the tree in fp16 (~45 MB), exported beforehand with
#   .venv/bin/python bench/gpu_embedder.py --save-fp16 artifacts/minilm-fp16
# Results: JSON on stdout and in ${OUT:-artifacts}/gpu_embedder.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false DO_NOT_TRACK=1
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3 )}
out_dir=${OUT:-artifacts}
mkdir -p "$out_dir"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || {
  echo "gpu_embedder: nvidia-smi failed; is this the GPU machine?" >&2; exit 2; }
"$PY" - <<'PY'
import importlib.util, sys
missing = [m for m in ("torch", "sentence_transformers", "fastapi", "uvicorn", "httpx", "pydantic_settings",
                       "prometheus_client") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"gpu_embedder: missing Python packages: {', '.join(missing)}")
import torch
print(f"torch {torch.__version__}, cuda {torch.version.cuda}, available {torch.cuda.is_available()}")
PY
model_args=()
if [ -d artifacts/minilm-fp16 ] && [[ " $* " != *" --model "* ]]; then
  model_args=(--model artifacts/minilm-fp16)
fi
"$PY" bench/gpu_embedder.py --device cuda "${model_args[@]}" "$@" | tee "$out_dir/gpu_embedder.json"
