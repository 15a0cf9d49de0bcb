"""Settings of the embedder service: `EMBEDDER_<NAME>` environment variables or `--flags`."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class EmbedderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMBEDDER_", extra="ignore")

    model: str = Field(
        "", description="Local folder, or hub name resolved once into cache_dir; empty = bundled MiniLM."
    )
    served_name: str = Field("all-MiniLM-L6-v2", description="Model id clients send and /v1/models lists.")
    rerank_model: str = Field("", description="CrossEncoder folder or hub name; empty = no /v1/ranking.")
    rerank_served_name: str = Field("", description="Model id of the reranker; empty = its folder name.")
    cache_dir: str = Field("", description="Where hub names are resolved/downloaded (HF hub cache layout).")
    device: str = Field("auto", description="auto (cuda when present, else cpu), cpu, cuda, cuda:1...")
    fp16: bool = Field(True, description="Half precision on CUDA (ignored on CPU).")
    max_batch: int = Field(256, description="Most inputs one dynamic batch may hold.")
    max_wait_ms: float = Field(5.0, description="Longest an input waits for its batch to fill.")
    batch_size: int = Field(
        0, description="Inputs per forward pass inside a batch; 0 = 32 on CPU, 256 on GPU."
    )
    max_seq_length: int = Field(0, description="Token limit per input; 0 = the model's own limit.")
    query_prefix: str = Field("", description="Text put before every input_type=query input (e5: 'query: ').")
    passage_prefix: str = Field("", description="Text put before every passage input (e5: 'passage: ').")
    max_inputs: int = Field(2048, description="Most inputs accepted in one request.")
    api_key: SecretStr | None = Field(None, description="Bearer token clients must send; empty = open.")
    torch_threads: int = Field(0, description="CPU threads for torch; 0 = torch's default.")
    host: str = Field("127.0.0.1", description="Listen address.")
    port: int = Field(8000, description="Listen port.")
    log_level: str = Field("info", description="uvicorn log level.")
    access_log: bool = Field(False, description="Log every HTTP request (noisy under load).")
