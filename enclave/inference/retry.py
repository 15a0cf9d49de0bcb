"""The one retry decision of the model clients: after an attempt, use the answer, wait and retry, or give up.

Connection errors and RETRY_STATUSES (429, 502/503/504) are retried with exponential backoff, honouring
Retry-After; after the last attempt the caller gets `ModelUnavailable`. Any other error status is a refused
request (`ModelRequestError`) and is never retried.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from enclave.inference.errors import ModelRequestError, ModelUnavailable

RETRY_STATUSES = frozenset({429, 502, 503, 504})


def error_detail(response: httpx.Response) -> str:
    """The service's own words for an error response (its body must have been read)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        err = body.get("detail") or body.get("error") or body
        if isinstance(err, dict):
            err = err.get("message", err)
        return str(err)[:500]
    return str(body)[:500]


@dataclass(frozen=True)
class RetryPolicy:
    service: str  # "embedding", "chat", "ranking": named in the errors
    max_retries: int
    backoff_base_s: float = 0.25
    backoff_max_s: float = 8.0

    @property
    def attempts(self) -> int:
        return max(0, self.max_retries) + 1

    def backoff_s(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            try:
                return min(float(response.headers.get("retry-after", "")), self.backoff_max_s)
            except ValueError:
                pass
        return min(self.backoff_base_s * 2**attempt, self.backoff_max_s)

    def next_delay(
        self, url: str, attempt: int, response: httpx.Response | None, exc: Exception | None = None
    ) -> float | None:
        """After attempt `attempt` (from 0) answered `response`, or failed in transport with `exc`:
        None to use the response, or the seconds to wait before the next attempt.

        Raises ModelRequestError for a refused request and ModelUnavailable once no attempt is left. An error
        response's body must have been read, so that the error can quote it.
        """
        if response is not None and response.status_code not in RETRY_STATUSES:
            if response.status_code >= 400:
                raise ModelRequestError(self.service, url, response.status_code, error_detail(response))
            return None
        if attempt + 1 >= self.attempts:
            raise self.unavailable(url, _reason(response, exc)) from exc
        return self.backoff_s(attempt, response)

    def unavailable(self, url: str, reason: str) -> ModelUnavailable:
        return ModelUnavailable(self.service, url, reason, attempts=self.attempts)


def _reason(response: httpx.Response | None, exc: Exception | None) -> str:
    if response is not None:
        return f"HTTP {response.status_code} {error_detail(response)}"
    return f"{type(exc).__name__}: {exc}"
