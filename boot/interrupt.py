"""Running a command's event loop so that Ctrl-C always stops it.

asyncio.run turns Ctrl-C into one `Task.cancel()` of the main task. That one cancellation can be lost on
its way down the HTTP stack: anyio's cancel scopes (under httpx) can swallow a native cancel that lands
while anyio is cancelling a scope of its own, and the request then returns normally
(agronholm/anyio#1214). `enclave ingest` then carried on to the end of the run as if no key had been
pressed. Here the main task is cancelled again until it ends, and a run that was interrupted raises
KeyboardInterrupt whatever the task returned.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
RECANCEL_S = 0.2  # how often a task still running after Ctrl-C is cancelled again


def run_interruptible(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main), where SIGINT (Ctrl-C) always ends in KeyboardInterrupt."""
    interrupted = False

    async def guarded() -> T:
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        assert task is not None

        def cancel_until_done() -> None:
            if not task.done():
                task.cancel()
                loop.call_later(RECANCEL_S, cancel_until_done)

        def on_sigint() -> None:
            nonlocal interrupted
            interrupted = True
            cancel_until_done()

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        except (NotImplementedError, RuntimeError):  # no loop signal handlers here: asyncio.run's own
            return await main
        try:
            return await main
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    try:
        result = asyncio.run(guarded())
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    if interrupted:
        raise KeyboardInterrupt
    return result
