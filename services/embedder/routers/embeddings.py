"""OpenAI-compatible `/v1/embeddings`, with NIM's `input_type` and `truncate`."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from services.embedder.encoder import Embedded
from services.embedder.errors import ApiError, require_model
from services.embedder.schemas import EmbeddingRequest
from services.embedder.state import EmbedderState, StateDep

TRUNCATED_HEADER = "X-Truncated-Inputs"

router = APIRouter()


@router.post("/v1/embeddings")
async def embeddings(req: EmbeddingRequest, state: StateDep) -> Response:
    state.require_ready()
    settings = state.settings
    require_model(req.model, settings.served_name)
    prefix = settings.query_prefix if req.input_type == "query" else settings.passage_prefix
    texts = [prefix + t for t in _texts(req, state)]
    results = await state.embed_batcher.asubmit(texts)  # type: ignore[union-attr]
    truncated = sum(r.truncated for r in results)
    if truncated and req.truncate == "NONE":
        raise ApiError(
            400,
            f"{truncated} input(s) exceed the model's limit of "
            f"{state.encoder.max_seq_length} tokens and truncate is NONE; "  # type: ignore[union-attr]
            "shorten them or send truncate END.",
        )
    state.metrics.inputs.labels(settings.served_name).inc(len(results))
    state.metrics.truncated.labels(settings.served_name).inc(truncated)
    body = _body(results, req.encoding_format, settings.served_name, truncated)
    return JSONResponse(body, headers={TRUNCATED_HEADER: str(truncated)})


def _texts(req: EmbeddingRequest, state: EmbedderState) -> list[str]:
    """The inputs, refused with a 400 that says why when empty, too many or asking for other dimensions."""
    texts = [req.input] if isinstance(req.input, str) else list(req.input)
    if not texts:
        raise ApiError(400, "'input' is empty: send a non-empty string or a non-empty list of strings.")
    for i, t in enumerate(texts):
        if not t.strip():
            where = "'input'" if isinstance(req.input, str) else f"'input[{i}]'"
            raise ApiError(400, f"{where} is an empty string: every input needs some text to embed.")
    limit = state.settings.max_inputs
    if len(texts) > limit:
        raise ApiError(400, f"{len(texts)} inputs in one request; the limit is {limit}. Split the request.")
    dimension = state.encoder.dimension  # type: ignore[union-attr]
    if req.dimensions is not None and req.dimensions != dimension:
        raise ApiError(
            400,
            f"This model gives {dimension}-dimensional vectors; "
            f"'dimensions'={req.dimensions} is not supported.",
        )
    return texts


def _encode_vector(vector: Any, fmt: str) -> list[float] | str:
    if fmt == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector.tolist()


def _body(results: list[Embedded], fmt: str, model: str, truncated: int) -> dict[str, Any]:
    tokens = sum(r.tokens for r in results)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _encode_vector(r.vector, fmt)}
            for i, r in enumerate(results)
        ],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "truncated_inputs": truncated},
    }
