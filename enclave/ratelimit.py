"""Per-tenant request rate limit (fixed one-minute windows): Redis when configured, else in-process."""

from __future__ import annotations

import threading
import time

from enclave.errors import RateLimited


class RateLimiter:
    def __init__(self, per_minute: int, redis_url: str = "") -> None:
        self.per_minute = per_minute
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2)
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def check(self, tenant_id: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.time()
        window = int(now // 60)
        retry_after = max(1, int(60 - now % 60))
        if self._redis is not None:
            key = f"enclave:rate:{tenant_id}:{window}"
            pipe = self._redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            count = int(pipe.execute()[0])
        else:
            with self._lock:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
                count = self._counts.get((tenant_id, window), 0) + 1
                self._counts[(tenant_id, window)] = count
        if count > self.per_minute:
            raise RateLimited(
                f"Your tenant has made more than {self.per_minute} search and chat requests this minute. "
                f"Wait {retry_after} seconds and try again.",
                retry_after=retry_after,
            )
