"""When to try a request again: connection errors, 429 and 5xx, with exponential backoff and jitter, and
the server's Retry-After when it sends one."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first included
    backoff_s: float = 0.5  # the first wait; doubled each time
    max_wait_s: float = 30.0

    def wait(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed try number `attempt` (0-based); None: give up."""
        if attempt + 1 >= self.attempts:
            return None
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait_s)
        return min(self.max_wait_s, self.backoff_s * 2**attempt) * (0.5 + random.random() / 2)


NO_RETRY = RetryPolicy(attempts=1)


def retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (a number or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES
