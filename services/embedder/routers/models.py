"""`/v1/models`: the embedding model and, when configured, the reranker this service serves."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from services.embedder.state import StateDep

router = APIRouter()


@router.get("/v1/models")
async def models(state: StateDep) -> dict[str, Any]:
    created = int(time.time())
    data = [
        {
            "id": state.settings.served_name,
            "object": "model",
            "created": created,
            "owned_by": "enclave",
            "type": "embedding",
            "dimension": state.encoder.dimension if state.encoder else None,
        }
    ]
    if state.settings.rerank_model:
        data.append(
            {
                "id": state.rerank_name,
                "object": "model",
                "created": created,
                "owned_by": "enclave",
                "type": "ranking",
            }
        )
    return {"object": "list", "data": data}
