"""Follow-up questions become standalone search queries, using the conversation so far."""

from __future__ import annotations

import re
from typing import Any

_FOLLOW_UP = re.compile(
    r"^(and|but|also|what about|how about|and what|then|so|or)\b|\b(it|its|they|them|their|that|those|this|"
    r"these|he|she|his|her|there|same|next|previous|former|latter)\b",
    re.IGNORECASE,
)

REWRITE_PROMPT = """Rewrite the last user question as one standalone search query that includes the names,
dates and subjects it refers to from the conversation. Answer with the query only.

Conversation:
{history}

Last question: {question}
Standalone query:"""


def needs_context(question: str) -> bool:
    words = question.split()
    return len(words) <= 6 or bool(_FOLLOW_UP.search(question))


def previous_questions(history: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("content", "")) for m in history if m.get("role") == "user"]


def standalone_query(question: str, history: list[dict[str, Any]], llm: Any = None) -> str:
    """With an LLM, ask it; without one (or if its answer is unusable), prefix the last question so the
    entities it named are searched for too."""
    earlier = previous_questions(history)
    if not earlier or not needs_context(question):
        return question
    if llm is not None:
        convo = "\n".join(f"{m['role']}: {str(m.get('content', ''))[:500]}" for m in history[-6:])
        try:
            out = llm.complete(
                [{"role": "user", "content": REWRITE_PROMPT.format(history=convo, question=question)}],
                max_tokens=64,
                temperature=0,
            )
            text = out["choices"][0]["message"]["content"].strip().strip('"').splitlines()[0]
            if 3 <= len(text.split()) <= 40:
                return text
        except Exception:  # a failed rewrite must not fail the answer
            pass
    return f"{earlier[-1]} {question}"
