"""A consumer that goes away stops in-process generation (what a disconnecting chat client triggers)."""

from __future__ import annotations

import asyncio
import time

import pytest

from enclave.inference.local_chat import LocalChatModel

pytestmark = pytest.mark.llm


def test_closing_the_stream_stops_generating_tokens() -> None:
    model = LocalChatModel(context_tokens=2048)
    prompt = [{"role": "user", "content": "Write the numbers from 1 to 1000, separated by commas."}]

    async def take_three_then_leave() -> int:
        n = 0
        stream = model.astream(prompt, max_tokens=1800, temperature=0)
        async for _chunk in stream:
            n += 1
            if n == 3:
                break
        await stream.aclose()
        return n

    assert asyncio.run(take_three_then_leave()) == 3
    # 1800 tokens take many seconds on this CPU; a stopped generation frees the model almost at once.
    started = time.monotonic()
    assert model._lock.acquire(timeout=5), "generation kept running after the consumer left"
    model._lock.release()
    assert time.monotonic() - started < 5
    done = model.complete(prompt, max_tokens=4)
    assert done["choices"][0]["message"]["content"] is not None
    model.close()
