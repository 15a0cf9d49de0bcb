"""Search API: hybrid retrieval under the caller's access filter; every call is audited."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from gateway.deps import PrincipalDep, RuntimeDep
from gateway.schemas import SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchOut)
async def search(body: SearchIn, principal: PrincipalDep, rt: RuntimeDep) -> Response:
    rt.rate_limiter.check(principal.tenant_id)
    results = await run_in_threadpool(
        rt.search.search, principal, body.query, body.collection, body.top_k, body.fusion
    )
    out = SearchOut(results=results)
    # Serialised once, by the model that built it (the response_model documents the schema).
    return Response(out.model_dump_json(), media_type="application/json")
