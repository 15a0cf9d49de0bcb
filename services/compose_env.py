"""Variables that only the Compose stack reads (passwords, images, GPUs, model servers), one field each.

The application's own settings are `enclave.settings.Settings` (ENCLAVE_*). `.env.example` is rendered
from both: `python -m services.compose_env > .env.example` after adding a field to either.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict


def _f(default: Any, description: str, group: str) -> Any:
    return Field(default, description=description, json_schema_extra={"group": group})


class DeploySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    # --- the stack -------------------------------------------------------------------------------
    compose_profiles: str = _f(
        "gpu",
        "Model servers to run: gpu (vLLM + GPU embedder), cpu (llama.cpp + CPU embedder) or nim; "
        "add flower or monitoring after a comma.",
        "Stack",
    )
    gateway_bind: str = _f(
        "0.0.0.0",
        "Host address the gateway port is published on (127.0.0.1 behind a local reverse proxy).",
        "Stack",
    )
    gateway_port: int = _f(8000, "Host port of the gateway, the only published port.", "Stack")
    stack_env_file: str = _f(
        ".env",
        "The file gateway, worker and beat read ENCLAVE_* settings from (relative to compose.yaml).",
        "Stack",
    )
    log_max_size: str = _f("20m", "Docker log rotation: size of one log file per container.", "Stack")
    log_max_file: int = _f(5, "Docker log rotation: log files kept per container.", "Stack")

    # --- secrets -----------------------------------------------------------------------------------
    postgres_user: str = _f("enclave", "PostgreSQL user of the catalog.", "Secrets")
    postgres_password: SecretStr | None = _f(
        None, "PostgreSQL password (required; URL-safe, e.g. `openssl rand -hex 24`).", "Secrets"
    )
    postgres_db: str = _f("enclave", "PostgreSQL database of the catalog.", "Secrets")
    redis_password: SecretStr | None = _f(
        None, "Redis password (required; URL-safe, e.g. `openssl rand -hex 24`).", "Secrets"
    )
    qdrant_api_key: SecretStr | None = _f(None, "Qdrant API key (required).", "Secrets")
    hf_token: SecretStr | None = _f(
        None,
        "Hugging Face token, only for gated models while HF_HUB_OFFLINE=0; never baked into images.",
        "Secrets",
    )
    ngc_api_key: SecretStr | None = _f(None, "NGC API key for the nim profile's containers.", "Secrets")

    # --- images --------------------------------------------------------------------------------------
    enclave_image: str = _f("enclave:latest", "Image of gateway, worker, migrate and the cpu llm.", "Images")
    torch_variant: str = _f(
        "cpu", "torch build in the enclave image: cpu, or a CUDA tag such as cu126.", "Images"
    )
    embedder_image: str = _f("enclave-embedder:latest", "Image of the GPU embedder.", "Images")
    embedder_cpu_image: str = _f("enclave-embedder:cpu", "Image of the CPU embedder (cpu profile).", "Images")
    vllm_image: str = _f("vllm/vllm-openai:v0.8.5", "vLLM image of the gpu profile.", "Images")
    qdrant_image: str = _f("qdrant/qdrant:v1.13.6", "Qdrant image.", "Images")
    postgres_image: str = _f("postgres:16-alpine", "PostgreSQL image.", "Images")
    redis_image: str = _f("redis:7-alpine", "Redis image.", "Images")
    flower_image: str = _f("mher/flower:2.0", "Flower image (flower profile).", "Images")
    prometheus_image: str = _f("prom/prometheus:v3.2.1", "Prometheus image (monitoring profile).", "Images")
    nim_llm_image: str = _f("nvcr.io/nim/meta/llama-3.1-8b-instruct:latest", "NIM LLM image.", "Images")
    nim_embed_image: str = _f("nvcr.io/nim/nvidia/nv-embedqa-e5-v5:latest", "NIM embedding image.", "Images")
    nim_rerank_image: str = _f(
        "nvcr.io/nim/nvidia/nv-rerankqa-mistral-4b-v3:latest", "NIM reranking image.", "Images"
    )
    nim_uid: int = _f(1000, "User id the NIM containers run as (owner of the nim-cache volume).", "Images")

    # --- GPUs ------------------------------------------------------------------------------------------
    embedder_gpu_ids: str = _f(
        "0", "GPU id(s) of the embedder and NIM embedding/reranking, e.g. 0 or 0,1.", "GPUs"
    )
    llm_gpu_ids: str = _f(
        "0", "GPU id(s) of the LLM (vLLM or NIM); as many as VLLM_TENSOR_PARALLEL_SIZE.", "GPUs"
    )

    # --- model servers -------------------------------------------------------------------------------
    models_dir: str = _f(
        "models",
        "What model servers see as /models: the named volume `models`, or the absolute path of a folder "
        "filled by `enclave models pull` (air-gapped sites).",
        "Models",
    )
    hf_hub_offline: int = _f(
        1,
        "1: model servers never reach the hub (air-gapped). 0 for one start to fill the models volume.",
        "Models",
    )
    embedder_model: str = _f(
        "",
        "Embedding model: folder in the models volume, or hub name cached there; empty = bundled MiniLM.",
        "Models",
    )
    embedder_rerank_model: str = _f(
        "", "CrossEncoder for /v1/ranking on our embedder (folder or hub name); empty = none.", "Models"
    )
    embedder_max_batch: int = _f(256, "Embedder: most inputs in one dynamic batch.", "Models")
    embedder_max_wait_ms: float = _f(5.0, "Embedder: longest an input waits for its batch to fill.", "Models")
    vllm_model: str = _f(
        "Qwen/Qwen2.5-7B-Instruct",
        "vLLM: hub name (cached in the models volume) or folder of the chat model.",
        "Models",
    )
    vllm_gpu_memory_utilization: float = _f(0.85, "vLLM: fraction of GPU memory it may take.", "Models")
    vllm_tensor_parallel_size: int = _f(1, "vLLM: GPUs one model is split over.", "Models")
    llamacpp_model: str = _f(
        "",
        "cpu profile: GGUF path or file name in the models volume's gguf/; empty = bundled SmolLM2-135M.",
        "Models",
    )
    llamacpp_threads: int = _f(0, "cpu profile: llama.cpp threads; 0 = llama.cpp's default.", "Models")

    # --- observability ---
    otel_exporter_otlp_endpoint: str = _f(
        "",
        "OpenTelemetry: OTLP/HTTP collector URL for traces of gateway, workers and embedder; empty = off.",
        "Observability",
    )


# ENCLAVE_* settings that compose.yaml sets for gateway/worker itself (the value in .env is not used).
COMPOSE_MANAGED = frozenset(
    {
        "ENCLAVE_DATA_DIR",
        "ENCLAVE_DATABASE_URL",
        "ENCLAVE_BROKER_URL",
        "ENCLAVE_REDIS_URL",
        "ENCLAVE_INDEX_BACKEND",
        "ENCLAVE_QDRANT_URL",
        "ENCLAVE_QDRANT_API_KEY",
    }
)


def _value(info: FieldInfo) -> str | None:
    default = info.default
    if default is None:
        return None
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, SecretStr):
        return default.get_secret_value()
    if isinstance(default, Path):
        return str(default)
    return str(default)


def _line(name: str, info: FieldInfo) -> list[str]:
    comment = f"# {info.description or ''}".rstrip()
    value = _value(info)
    if name in COMPOSE_MANAGED:
        comment += " (compose.yaml sets it for gateway and worker)"
    # An empty value would not mean "unset" to pydantic (a Path would become "."), so leave it commented.
    return [comment, f"# {name}=" if value is None else f"{name}={value}"]


def render_env_example() -> str:
    from enclave.settings import Settings

    out = [
        "# Enclave: every variable compose.yaml reads, and every ENCLAVE_* setting of the application.",
        "# Copy to .env and set the secrets. Regenerate: python -m services.compose_env > .env.example",
        "",
    ]
    group = None
    for name, info in DeploySettings.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("group") != group:
            group = extra.get("group")
            out += ["", f"# ===== {group} " + "=" * (90 - len(str(group)))]
        out += _line(name.upper(), info)
    out += ["", "# ===== Application settings (ENCLAVE_*; gateway and worker read them) " + "=" * 30]
    for name, info in Settings.model_fields.items():
        out += _line(f"ENCLAVE_{name.upper()}", info)
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_env_example())
