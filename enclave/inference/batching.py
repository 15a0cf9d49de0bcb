"""Dynamic batching: items submitted concurrently by many callers are run together by one worker thread.

A batch closes when it holds `max_batch` items or when its oldest item has waited `max_wait_ms`, so a
lone caller pays at most `max_wait_ms` of latency and a crowd gets full batches.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

OnBatch = Callable[[int, float, float], None]
log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Request(Generic[R]):
    future: Future[list[R]]
    results: list[R | None]
    remaining: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, index: int, result: R) -> None:
        with self.lock:
            self.results[index] = result
            self.remaining -= 1
            done = self.remaining == 0
        if done and not self.future.done():
            self.future.set_result(self.results)  # type: ignore[arg-type]

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


@dataclass(eq=False, slots=True)
class _Slot(Generic[T, R]):
    request: _Request[R]
    index: int
    item: T
    enqueued: float


class DynamicBatcher(Generic[T, R]):
    """Runs `fn(items) -> results` (same length, same order) on batches drawn from all callers."""

    def __init__(
        self,
        fn: Callable[[list[T]], list[R]],
        max_batch: int,
        max_wait_ms: float,
        name: str,
        on_batch: OnBatch | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait_s = max(0.0, max_wait_ms) / 1000.0
        self.name = name
        self.on_batch = on_batch
        self._queue: deque[_Slot[T, R]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    # --- callers -------------------------------------------------------------------------------
    def submit(self, items: list[T]) -> Future[list[R]]:
        """Queue `items`; the future resolves to their results in the same order."""
        future: Future[list[R]] = Future()
        if not items:
            future.set_result([])
            return future
        request: _Request[R] = _Request(future, [None] * len(items), len(items))
        now = time.monotonic()
        with self._cond:
            if self._closed:
                raise RuntimeError(f"batcher {self.name!r} is closed")
            self._queue.extend(_Slot(request, i, item, now) for i, item in enumerate(items))
            self._cond.notify()
        return future

    async def asubmit(self, items: list[T]) -> list[R]:
        return await asyncio.wrap_future(self.submit(items))

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop taking work, finish the batch in flight, fail whatever is still queued."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
        for slot in left:
            slot.request.fail(RuntimeError(f"batcher {self.name!r} closed before this item ran"))

    # --- worker --------------------------------------------------------------------------------
    def _next_batch(self) -> list[_Slot[T, R]] | None:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            # The deadline counts from the oldest queued item, not from when the worker got free.
            deadline = self._queue[0].enqueued + self.max_wait_s
            while len(self._queue) < self.max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            n = min(self.max_batch, len(self._queue))
            return [self._queue.popleft() for _ in range(n)]

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            batch = [s for s in batch if not s.request.future.done()]  # a sibling slot already failed
            if not batch:
                continue
            started = time.monotonic()
            wait_s = started - batch[0].enqueued
            try:
                results = self.fn([s.item for s in batch])
                if len(results) != len(batch):
                    raise RuntimeError(
                        f"batcher {self.name!r}: function returned {len(results)} results "
                        f"for {len(batch)} items"
                    )
            except BaseException as exc:
                for slot in batch:
                    slot.request.fail(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            run_s = time.monotonic() - started
            for slot, result in zip(batch, results, strict=True):
                slot.request.deliver(slot.index, result)
            if self.on_batch is not None:
                try:
                    self.on_batch(len(batch), wait_s, run_s)
                except Exception:  # a metrics callback must never stop the worker
                    log.exception("on_batch callback of batcher %r failed", self.name)
