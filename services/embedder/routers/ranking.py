"""NIM-compatible `/v1/ranking`: CrossEncoder logits for (query, passage) pairs, best first."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from services.embedder.errors import ApiError, require_model
from services.embedder.schemas import RankingRequest
from services.embedder.state import StateDep

router = APIRouter()


@router.post("/v1/ranking")
async def ranking(req: RankingRequest, state: StateDep) -> Response:
    settings = state.settings
    if not settings.rerank_model:
        raise ApiError(
            404,
            "No reranking model is configured on this embedder: set EMBEDDER_RERANK_MODEL "
            "to a CrossEncoder folder or hub name to enable /v1/ranking.",
            "model_not_found",
        )
    state.require_ready()
    require_model(req.model, state.rerank_name)
    if not req.query.text.strip() or not req.passages:
        raise ApiError(400, "Send a non-empty 'query.text' and at least one passage.")
    if len(req.passages) > settings.max_inputs:
        raise ApiError(
            400, f"{len(req.passages)} passages in one request; the limit is {settings.max_inputs}."
        )
    pairs = [(req.query.text, p.text) for p in req.passages]
    logits = await state.rank_batcher.asubmit(pairs)  # type: ignore[union-attr]
    state.metrics.inputs.labels(state.rerank_name).inc(len(pairs))
    order = sorted(range(len(logits)), key=lambda i: -logits[i])
    return JSONResponse({"rankings": [{"index": i, "logit": logits[i]} for i in order]})
