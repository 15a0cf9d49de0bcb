"""Errors raised by the model clients, worded for the operator who has to fix the deployment."""

from __future__ import annotations


class ModelUnavailable(Exception):
    """A model service could not be reached (or kept answering 429/503) after all retries."""

    def __init__(self, service: str, url: str, reason: str, attempts: int = 1) -> None:
        self.service = service
        self.url = url
        self.reason = reason
        self.attempts = attempts
        super().__init__(
            f"The {service} service at {url} is unavailable after {attempts} attempt(s): {reason}. "
            f"Check that it is running and healthy (docker compose ps), or fix its URL in the settings."
        )


class ModelRequestError(Exception):
    """A model service answered, but refused the request (a 4xx other than 429): retrying will not help."""

    def __init__(self, service: str, url: str, status: int, detail: str) -> None:
        self.service = service
        self.url = url
        self.status = status
        self.detail = detail
        super().__init__(f"The {service} service at {url} refused the request (HTTP {status}): {detail}")
