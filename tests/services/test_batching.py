"""DynamicBatcher: concurrent submissions share batches, results keep their order, failures reach callers."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from enclave.inference.batching import DynamicBatcher


def square_all(items: list[int]) -> list[int]:
    time.sleep(0.005)  # a batch costs something, so waiting callers pile up
    return [i * i for i in items]


def test_results_come_back_in_order_even_when_split_across_batches() -> None:
    sizes: list[int] = []
    batcher = DynamicBatcher(
        square_all, max_batch=7, max_wait_ms=1, name="t", on_batch=lambda n, w, r: sizes.append(n)
    )
    try:
        assert batcher.submit(list(range(50))).result(5) == [i * i for i in range(50)]
    finally:
        batcher.close()
    assert sum(sizes) == 50
    assert max(sizes) == 7


def test_concurrent_callers_share_batches() -> None:
    sizes: list[int] = []
    batcher = DynamicBatcher(
        square_all, max_batch=64, max_wait_ms=20, name="t", on_batch=lambda n, w, r: sizes.append(n)
    )
    try:
        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(lambda i: batcher.submit([i, i + 1000]).result(5), range(64)))
    finally:
        batcher.close()
    assert results == [[i * i, (i + 1000) ** 2] for i in range(64)]
    assert max(sizes) > 2
    assert len(sizes) < 64


def test_a_lone_item_waits_no_longer_than_max_wait() -> None:
    waits: list[float] = []
    batcher = DynamicBatcher(
        square_all, max_batch=1000, max_wait_ms=30, name="t", on_batch=lambda n, w, r: waits.append(w)
    )
    try:
        started = time.monotonic()
        assert batcher.submit([3]).result(5) == [9]
        elapsed = time.monotonic() - started
    finally:
        batcher.close()
    assert 0.025 <= waits[0] < 0.5
    assert elapsed < 0.5


def test_a_failing_batch_fails_its_callers_and_the_worker_keeps_going() -> None:
    def picky(items: list[int]) -> list[int]:
        if -1 in items:
            raise ValueError("negative input")
        return items

    batcher = DynamicBatcher(picky, max_batch=4, max_wait_ms=0, name="t")
    try:
        with pytest.raises(ValueError, match="negative input"):
            batcher.submit([-1]).result(5)
        assert batcher.submit([1, 2]).result(5) == [1, 2]
    finally:
        batcher.close()


def test_a_function_returning_the_wrong_number_of_results_is_an_error() -> None:
    batcher = DynamicBatcher(lambda items: items[:-1], max_batch=4, max_wait_ms=0, name="short")
    try:
        with pytest.raises(RuntimeError, match="returned 1 results for 2 items"):
            batcher.submit([1, 2]).result(5)
    finally:
        batcher.close()


def test_asubmit_awaits_the_results() -> None:
    batcher = DynamicBatcher(square_all, max_batch=8, max_wait_ms=5, name="t")

    async def many() -> list[list[int]]:
        return await asyncio.gather(*(batcher.asubmit([i]) for i in range(20)))

    try:
        assert asyncio.run(many()) == [[i * i] for i in range(20)]
    finally:
        batcher.close()


def test_empty_submission_needs_no_batch() -> None:
    batcher = DynamicBatcher(square_all, max_batch=8, max_wait_ms=5, name="t")
    try:
        assert batcher.submit([]).result(1) == []
    finally:
        batcher.close()


def test_close_fails_queued_work_and_refuses_new_work() -> None:
    gate = threading.Event()

    def blocked(items: list[int]) -> list[int]:
        gate.wait(5)
        return items

    batcher = DynamicBatcher(blocked, max_batch=1, max_wait_ms=0, name="t")
    first = batcher.submit([1])
    time.sleep(0.05)  # the worker is now inside blocked() with item 1
    queued = batcher.submit([2])
    closer = threading.Thread(target=batcher.close)
    closer.start()
    time.sleep(0.05)
    gate.set()
    closer.join(5)
    assert first.result(1) == [1]
    with pytest.raises(RuntimeError, match="closed"):
        queued.result(1)
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit([3])
