"""Reading a streamed answer: OpenAI-style SSE chunks, then Enclave's citations event."""

from __future__ import annotations

import json

from enclave_client.errors import APIError
from enclave_client.models import Answer, Citation, StreamEvent


class AnswerStream:
    """Feed it the lines of the SSE body; it returns what each line means for the caller."""

    def __init__(self) -> None:
        self.text = ""
        self.answer: Answer | None = None

    def feed(self, line: str) -> StreamEvent | None:
        if not line.startswith("data:"):
            return None
        data = line[5:].strip()
        if not data or data == "[DONE]":
            return None
        frame = json.loads(data)
        if "error" in frame:  # the model failed after the first bytes went out
            raise APIError(502, str((frame["error"] or {}).get("message") or "The answer stopped midway."))
        if frame.get("object") == "enclave.citations":
            cites = [Citation.of(c) for c in frame.get("citations") or []]
            self.answer = Answer(self.text, cites, frame.get("conversation_id"))
            return StreamEvent(answer=self.answer)
        for choice in frame.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                self.text += piece
                return StreamEvent(text=piece)
        return None
