"""Ctrl-C stops a command's event loop even when a library swallows the cancellation (boot/interrupt.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

import pytest

from boot.interrupt import run_interruptible


def _press_ctrl_c_after(seconds: float) -> None:
    asyncio.get_running_loop().call_later(seconds, os.kill, os.getpid(), signal.SIGINT)


async def _stubborn(swallow: int) -> str:
    """Swallows the first `swallow` cancellations and then returns normally, as a request can when
    anyio loses a native cancel (agronholm/anyio#1214)."""
    _press_ctrl_c_after(0.05)
    for _ in range(swallow):
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(5)
    return "finished"


def test_a_swallowed_cancellation_still_ends_the_run_as_interrupted() -> None:
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_interruptible(_stubborn(swallow=3))
    assert time.monotonic() - t0 < 3  # cancelled again each 0.2 s, not left to sleep its 15 s out


def test_plain_asyncio_run_lets_the_same_run_finish() -> None:
    # The failure this module exists for: one cancel, swallowed, and the run goes on to its end.
    assert asyncio.run(_stubborn(swallow=1)) == "finished"


def test_a_cancellation_that_propagates_is_keyboardinterrupt_and_the_handler_is_given_back() -> None:
    async def waits() -> None:
        _press_ctrl_c_after(0.05)
        await asyncio.sleep(5)

    with pytest.raises(KeyboardInterrupt):
        run_interruptible(waits())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_uninterrupted_run_returns_its_result() -> None:
    async def quick() -> int:
        await asyncio.sleep(0)
        return 7

    assert run_interruptible(quick()) == 7
