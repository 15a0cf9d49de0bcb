"""The one retry policy of ingestion, for the local pool and Celery alike.

`decide` turns what a job raised, and how many times it was retried, into one decision: retry after a
delay, or give up with a sentence for the user. Faults are recognised by type:

- another worker holds the document's lease → retry when the lease ends (not counted as a retry);
- a dependency is down or busy (model service, index, network) → retry with exponential backoff, give up
  after `task_max_retries` retries;
- the job ran past the time limit → give up at once (a retry would run as long again);
- anything else escaped the job (a crash) → retry with backoff like a transient fault, then give up: a
  document that keeps crashing its worker is failed with the last error instead of looping forever.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from celery.exceptions import SoftTimeLimitExceeded

from enclave.documents.lifecycle import LeaseHeld
from enclave.index.errors import IndexUnavailable
from enclave.inference.errors import ModelUnavailable


class Transient(Exception):
    """Worth retrying: a dependency is down or busy. The job has put its documents back to `queued`."""


class TimeLimitExceeded(Exception):
    """The job ran longer than `task_time_limit_s`."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(f"processing took longer than the {limit_s:.0f}s limit")
        self.limit_s = limit_s


TRANSIENT_FAULTS: tuple[type[BaseException], ...] = (
    ModelUnavailable,
    IndexUnavailable,
    httpx.TransportError,
    ConnectionError,
    TimeoutError,
)
TIME_LIMITS: tuple[type[BaseException], ...] = (TimeLimitExceeded, SoftTimeLimitExceeded)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_FAULTS)


def backoff_s(retry: int) -> float:
    """Exponential backoff for transient faults: 2, 4, 8 … capped at 5 minutes."""
    return float(min(300, 2 ** max(1, retry)))


@dataclass(frozen=True)
class Retry:
    delay_s: float
    retries: int  # the retry count the next run carries
    reason: str = ""  # empty: not a fault of the job (a lease held elsewhere), nothing to record
    crash: bool = False  # counts towards retiring the document (Lifecycle.max_attempts)


@dataclass(frozen=True)
class GiveUp:
    reason: str


def _describe(exc: BaseException) -> str:
    if isinstance(exc, Transient) and exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip().splitlines()[0][:500] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def decide(exc: BaseException, retries: int, max_retries: int, time_limit_s: float) -> Retry | GiveUp:
    if isinstance(exc, LeaseHeld):
        return Retry(exc.seconds + 1, retries)
    if isinstance(exc, TIME_LIMITS):
        return GiveUp(
            f"Processing took longer than the {time_limit_s:.0f}s limit; split the document into smaller "
            "files, or raise ENCLAVE_TASK_TIME_LIMIT_S."
        )
    transient = isinstance(exc, Transient) or is_transient(exc)
    if retries < max_retries:
        return Retry(backoff_s(retries + 1), retries + 1, _describe(exc), crash=not transient)
    if transient:
        return GiveUp(
            f"Gave up after {retries + 1} attempts; a dependency stayed unavailable: {_describe(exc)}"
        )
    return GiveUp(
        f"Ingestion crashed {retries + 1} times on this document (last: {_describe(exc)}); the error was "
        "logged. Try uploading it again, or report it to your administrator."
    )
