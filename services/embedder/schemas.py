"""Request bodies of the embedder: OpenAI `/v1/embeddings` (with NIM's extras) and NIM `/v1/ranking`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class EmbeddingRequest(BaseModel):
    input: str | list[str]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    input_type: Literal["query", "passage"] = "passage"
    truncate: Literal["NONE", "END"] = "END"
    dimensions: int | None = None
    user: str | None = None


class TextItem(BaseModel):
    text: str


class RankingRequest(BaseModel):
    model: str | None = None
    query: TextItem
    passages: list[TextItem]
    truncate: Literal["NONE", "END"] = "END"
