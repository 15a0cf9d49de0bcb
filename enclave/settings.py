"""The one settings object. Every variable is `ENCLAVE_<NAME>`; `.env.example` documents each one."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ENCLAVE_", env_file=None, extra="ignore", env_ignore_empty=True
    )

    # --- where state lives -------------------------------------------------------------------
    data_dir: Path = Field(Path("./data"), description="Root for files, SQLite and the embedded index.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite under data_dir.")
    storage_dir: Path | None = Field(None, description="Uploaded originals; empty means data_dir/files.")

    # --- security ------------------------------------------------------------------------------
    operator_key: SecretStr | None = Field(None, description="Platform operator key; creates tenants.")

    # --- vector index --------------------------------------------------------------------------
    index_backend: str = Field("edge", description="edge (in-process Qdrant Edge) | qdrant (server).")
    qdrant_url: str = Field("", description="Qdrant server URL, e.g. http://qdrant:6333.")
    qdrant_api_key: SecretStr | None = Field(None, description="Qdrant API key.")
    qdrant_path: str = Field("", description="qdrant-client local mode path (tests, ':memory:').")
    collection: str = Field("enclave_chunks", description="The one Qdrant collection.")

    # --- models ----------------------------------------------------------------------------------
    embedder_url: str = Field("", description="OpenAI-compatible embeddings base URL; empty = in-process.")
    embedder_model: str = Field("all-MiniLM-L6-v2", description="Served name of the embedding model.")
    embedder_api_key: SecretStr | None = Field(None, description="Bearer token for the embedder.")
    embedding_dim: int = Field(384, description="Dimension of the embedding model.")
    embed_batch_size: int = Field(64, description="Chunks per embedding call.")
    rerank_url: str = Field("", description="NIM-style /v1/ranking base URL; empty disables reranking.")
    rerank_model: str = Field("", description="Served name of the reranking model.")
    llm_url: str = Field("", description="OpenAI-compatible chat base URL; empty = in-process llama.cpp.")
    llm_model: str = Field("smollm2", description="Served name of the chat model.")
    llm_api_key: SecretStr | None = Field(None, description="Bearer token for the chat server.")
    llm_context_tokens: int = Field(4096, description="Context window of the chat model in tokens.")
    llm_timeout_s: float = Field(60.0, description="Timeout for one chat request.")
    model_timeout_s: float = Field(30.0, description="Timeout for one embeddings/ranking request.")

    # --- ingestion -------------------------------------------------------------------------------
    broker_url: str = Field("", description="Celery broker (redis://...); empty = in-process thread pool.")
    redis_url: str = Field("", description="Redis for rate limits and progress; defaults to broker_url.")
    ingest_threads: int = Field(16, description="Embedded mode: ingestion threads.")
    ingest_record_batch: int = Field(
        32, description="JSON records ingested together (one embedding call, one index write)."
    )
    parse_concurrency: int = Field(
        4, description="Parser processes per ingesting process: files parsed at the same time (memory bound)."
    )
    parse_max_memory_mb: int = Field(
        2048,
        description="Memory one parser process may use for a file; over it the file fails with a reason.",
    )
    parse_timeout_s: int = Field(
        600, description="Parsing time (wall clock and CPU) allowed for one file; over it the file fails."
    )
    ingest_max_attempts: int = Field(
        3, description="Attempts that crashed or were killed after which a document is retired as failed."
    )
    max_upload_mb: int = Field(100, description="Largest accepted upload.")
    max_upload_request_mb: int = Field(
        500, description="Largest upload request (all its files); counted as the bytes arrive."
    )
    max_records_request_mb: int = Field(64, description="Largest bulk records request (JSON).")
    max_pages: int = Field(2000, description="Documents with more pages fail with a reason.")
    archive_max_uncompressed_mb: int = Field(
        512, description="Office/OpenDocument/EPUB files whose parts unpack to more than this are refused."
    )
    archive_max_ratio: float = Field(
        200.0,
        description="Such files with a part over 1 MiB compressed more than this many times are refused.",
    )
    archive_max_members: int = Field(
        10000, description="Office/OpenDocument/EPUB files with more parts (zip members) are refused."
    )
    json_max_depth: int = Field(100, description="JSON nested deeper than this fails with a reason.")
    chunk_chars: int = Field(1500, description="Target chunk size in characters.")
    chunk_overlap: int = Field(150, description="Overlap between consecutive chunks.")
    chunk_min_chars: int = Field(
        500, description="A chunk shorter than this takes in the next section or page instead of ending."
    )
    task_time_limit_s: int = Field(
        1800, description="Time limit of one ingestion task; a document still processing then fails."
    )
    task_max_retries: int = Field(
        5, description="Retries of one ingestion task on transient faults or crashes, then it fails."
    )
    lease_s: int = Field(900, description="A document stuck in queued/processing longer is re-enqueued.")
    visibility_timeout_s: int = Field(3600, description="Redis broker: redeliver unacked tasks after.")
    reconcile_interval_s: int = Field(60, description="How often the reconciler looks for stuck work.")

    # --- search ----------------------------------------------------------------------------------
    search_candidates: int = Field(100, description="Candidates per retriever before fusion.")
    search_document_weight: float = Field(
        1.0, description="Weight of a chunk's document-level rank in its score (0 = chunks alone)."
    )

    # --- answering ---------------------------------------------------------------------------------
    answer_min_score: float = Field(
        0.25,
        description="Passages below this cosine relevance are not used; none left: 'not in your documents'.",
    )
    answer_top_k: int = Field(6, description="Passages given to the LLM as numbered sources.")
    query_rewrite: str = Field("history", description="Follow-up rewriting: history (prefix) | llm.")
    max_request_kb: int = Field(256, description="Largest body of any other API request, in KiB.")
    rate_limit_per_minute: int = Field(120, description="Chat and search requests per tenant per minute.")

    # --- gateway -----------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Listen address of `enclave serve`.")
    port: int = Field(8000, description="Listen port of `enclave serve`.")
    log_level: str = Field("INFO", description="Python log level.")
    trusted_proxies: str = Field(
        "",
        description="Reverse proxies whose X-Forwarded-For names the client in the audit log "
        "(comma-separated addresses or CIDR networks); empty: the connection's peer is the client.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"ENCLAVE_TRUSTED_PROXIES: {part!r} is not an address or network") from None
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'enclave.db').resolve()}"

    def resolved_storage_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "files"

    def resolved_redis_url(self) -> str:
        return self.redis_url or self.broker_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
