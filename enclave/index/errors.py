"""Errors raised by the vector index backends."""

from __future__ import annotations


class IndexUnavailable(Exception):
    """The vector index could not be reached or answered with a server-side fault: worth retrying."""

    def __init__(self, backend: str, reason: str) -> None:
        self.backend = backend
        self.reason = reason
        super().__init__(
            f"The vector index ({backend}) is unavailable: {reason}. Check that it is running and healthy."
        )

    def __reduce__(self) -> tuple[type[IndexUnavailable], tuple[str, str]]:
        # Rebuilt from its own fields, so it survives pickling between processes (Celery, worker pools).
        return (type(self), (self.backend, self.reason))
