"""What the client raises: the server's refusal (with its sentence) or a server that cannot be reached."""

from __future__ import annotations


class EnclaveClientError(Exception):
    """Base of everything this client raises."""


class APIError(EnclaveClientError):
    """The server answered with an error; `detail` is its sentence, `status` the HTTP status."""

    def __init__(self, status: int, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth trying again later: rate limited or a server-side fault."""
        return self.status == 429 or self.status >= 500


class ConnectionFailed(EnclaveClientError):
    """No answer from the server (refused, reset, timed out), after the retries."""


class NotReady(EnclaveClientError):
    """Documents were still being processed when the wait ran out."""

    def __init__(self, pending: list[str], timeout: float) -> None:
        super().__init__(
            f"{len(pending)} document(s) were not ready after {timeout:.0f}s; "
            "wait longer or check their status."
        )
        self.pending = pending
