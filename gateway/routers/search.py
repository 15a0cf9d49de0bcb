"""Search API: hybrid retrieval under the caller's access filter; every call is audited."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from gateway.deps import PrincipalDep, RuntimeDep
from gateway.schemas import SearchHit, SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search")
async def search(body: SearchIn, principal: PrincipalDep, rt: RuntimeDep) -> SearchOut:
    rt.rate_limiter.check(principal.tenant_id)
    results = await run_in_threadpool(rt.search.search, principal, body.query, body.collection, body.top_k)
    return SearchOut(results=[SearchHit(**r.__dict__) for r in results])
