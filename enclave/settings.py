"""The one settings object. Every variable is `ENCLAVE_<NAME>`; `.env.example` documents each one."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    # A Qdrant cluster (distributed mode): how collections are created and how writes are acknowledged.
    qdrant_shards: int = Field(1, ge=1, description="Qdrant server: shards of each new collection.")
    qdrant_replicas: int = Field(
        1, ge=1, description="Qdrant server: copies of each shard (replication factor) of a new collection."
    )
    qdrant_write_consistency: int = Field(
        1,
        ge=1,
        description="Qdrant server: replicas that must acknowledge a write or delete before it returns; "
        "equal to ENCLAVE_QDRANT_REPLICAS, a deleted document is gone from every replica on return.",
    )
    qdrant_write_ordering: str = Field(
        "medium",
        pattern="^(weak|medium|strong)$",
        description="Qdrant server: ordering of writes across replicas: weak | medium | strong.",
    )

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
    # OCR (Tesseract) reads images and PDF pages without a text layer, in the parser child process.
    ocr_languages: str = Field(
        "eng",
        description="Tesseract languages joined by '+', e.g. eng+kor; each needs tesseract-ocr-<lang>.",
    )
    ocr_max_pages: int = Field(
        50, description="Pages of one document read with OCR at most; a document needing more fails."
    )
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
    search_fusion: Literal["adaptive", "rrf", "dense", "sparse"] = Field(
        "adaptive",
        description="How dense and BM25 results are fused: adaptive (per-query weights, "
        "enclave/search/fusion.py) | rrf (equal-weight reciprocal rank fusion) | dense | sparse (one alone).",
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
    worker_metrics_port: int = Field(
        0,
        description="Port on which `enclave worker` serves the Prometheus metrics of all its processes "
        "(ingestion outcomes, stage durations); 0: none.",
    )
    trusted_proxies: str = Field(
        "",
        description="Reverse proxies whose X-Forwarded-For names the client in the audit log "
        "(comma-separated addresses or CIDR networks); empty: the connection's peer is the client.",
    )

    # --- OIDC single sign-on (docs/ACCESS.md, "OIDC single sign-on"); off while the issuer is empty ----
    oidc_issuer: str = Field(
        "", description="Issuer URL of the organisation's OpenID provider; empty: API keys only."
    )
    oidc_client_id: str = Field("", description="Client id of the web UI at the issuer.")
    oidc_client_secret: SecretStr | None = Field(
        None, description="Client secret, if the issuer treats the web UI as a confidential client."
    )
    oidc_audience: str = Field(
        "", description="The `aud` a token must carry; empty: the client id (the ID token's audience)."
    )
    oidc_jwks_url: str = Field("", description="JWKS URL; empty: `jwks_uri` from the issuer's discovery.")
    oidc_scopes: str = Field("openid profile email", description="Scopes the web UI asks for.")
    oidc_tenant_claim: str = Field("tenant", description="Claim naming the tenant (its name or id).")
    oidc_groups_claim: str = Field("groups", description="Claim listing the user's group names.")
    oidc_role_claim: str = Field("role", description="Claim with the user's role (admin, member, reader).")
    oidc_default_role: str = Field("member", description="Role of a user whose token names none.")
    oidc_max_role: str = Field(
        "admin", description="The highest role a token may grant; `member` keeps admin rights to keys."
    )

    @field_validator("oidc_default_role", "oidc_max_role")
    @classmethod
    def _is_role(cls, value: str) -> str:
        if value not in ("admin", "member", "reader"):
            raise ValueError(f"an OIDC role must be admin, member or reader; got {value!r}")
        return value

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
