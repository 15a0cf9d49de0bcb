"""Settings of the cpu profile's llama.cpp chat server: `LLAMACPP_<NAME>` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LlamaCppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LLAMACPP_", extra="ignore")

    host: str = Field("127.0.0.1", description="Listen address.")
    port: int = Field(8000, description="Listen port.")
    model: str = Field(
        "", description="GGUF path, or a file name in /models/gguf; empty = the bundled SmolLM2."
    )
    alias: str = Field("smollm2", description="Model name clients send and /v1/models lists.")
    n_ctx: int = Field(8192, description="Context window in tokens.")
    threads: int = Field(0, description="CPU threads; 0 = llama.cpp's default.")
    api_key: SecretStr = Field(SecretStr(""), description="Bearer token clients must send; empty = open.")
