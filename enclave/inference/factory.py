"""Picks the model implementations from settings: an OpenAI-compatible server when its URL is set,
else the bundled model in-process (embedded mode)."""

from __future__ import annotations

from typing import Any

from enclave.inference.embeddings import Embedder
from enclave.settings import Settings


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value else None


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedder_url:
        from enclave.inference.http_clients import HttpEmbedder

        return HttpEmbedder(
            settings.embedder_url,
            settings.embedder_model,
            api_key=_secret(settings.embedder_api_key),
            timeout_s=settings.model_timeout_s,
        )
    from enclave.inference.embeddings import LocalEmbedder

    return LocalEmbedder(batch_size=settings.embed_batch_size)


def build_chat_model(settings: Settings) -> Any:
    if settings.llm_url:
        from enclave.inference.http_clients import ChatClient

        return ChatClient(
            settings.llm_url,
            settings.llm_model,
            api_key=_secret(settings.llm_api_key),
            timeout_s=settings.llm_timeout_s,
        )
    from enclave.inference.local_chat import LocalChatModel

    return LocalChatModel(context_tokens=settings.llm_context_tokens)


def build_ranker(settings: Settings) -> Any:
    from enclave.inference.http_clients import RankingClient

    return RankingClient(settings.rerank_url, settings.rerank_model, timeout_s=settings.model_timeout_s)
