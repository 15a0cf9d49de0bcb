"""Runs one ingestion job and applies the retry policy: what both queues call, so embedded and
distributed modes end every fault the same way. A queue only schedules what `run` hands back."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

from enclave import tracing
from enclave.metrics import INGEST_OUTCOMES
from enclave.runtime import Runtime
from ingest.pipeline import drop_points, process_document, process_records
from ingest.retry import GiveUp, Retry, decide

log = logging.getLogger(__name__)
DOCUMENT: Literal["document"] = "document"
RECORDS: Literal["records"] = "records"


@dataclass(frozen=True)
class Job:
    kind: Literal["document", "records"]
    ids: tuple[str, ...]
    retries: int = 0


@dataclass(frozen=True)
class FollowUp:
    job: Job
    delay_s: float


def run(rt: Runtime, job: Job) -> list[FollowUp]:
    """Runs the job; returns the jobs to run next (a retry, or records handed to the one-document path)."""
    with tracing.span(
        f"ingest.{job.kind}", **{"enclave.document_ids": job.ids, "enclave.retries": job.retries}
    ):
        return _run(rt, job)


def _run(rt: Runtime, job: Job) -> list[FollowUp]:
    try:
        if job.kind == DOCUMENT:
            process_document(rt, job.ids[0])
            return []
        result = process_records(rt, list(job.ids))
    except Exception as exc:  # every fault is the policy's to decide; nothing escapes to the queue
        return _after_fault(rt, job, exc)
    return [
        FollowUp(Job(DOCUMENT, (doc_id,)), delay + 1 if delay else 0.0)
        for doc_id, delay in result.later.items()
    ]


def _after_fault(rt: Runtime, job: Job, exc: Exception) -> list[FollowUp]:
    st = rt.settings
    decision = decide(exc, job.retries, st.task_max_retries, st.task_time_limit_s)
    if isinstance(decision, Retry):
        if decision.reason:
            log.warning(
                "%s %s: retry %d in %.0fs: %s",
                job.kind,
                job.ids[0],
                decision.retries,
                decision.delay_s,
                decision.reason,
            )
            for doc_id in job.ids:
                rt.lifecycle.requeue(doc_id, decision.reason, crashed=decision.crash)
        return [FollowUp(replace(job, retries=decision.retries), decision.delay_s)]
    assert isinstance(decision, GiveUp)
    if not isinstance(exc, TimeoutError | ConnectionError):
        log.error("%s %s: giving up: %s", job.kind, job.ids[0], decision.reason, exc_info=exc)
    for doc_id in job.ids:
        tenant = rt.lifecycle.give_up(doc_id, decision.reason)
        if tenant is None:
            continue
        INGEST_OUTCOMES.labels("failed").inc()
        drop_points(rt, tenant, doc_id)  # a failed document keeps no points of an interrupted attempt
    return []
