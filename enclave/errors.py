"""Domain errors; gateway/errors.py maps each to one HTTP status in one place."""


class EnclaveError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(EnclaveError):
    status = 401


class Forbidden(EnclaveError):
    status = 403


class NotFound(EnclaveError):
    status = 404


class Conflict(EnclaveError):
    status = 409


class TooLarge(EnclaveError):
    status = 413


class UnsupportedType(EnclaveError):
    status = 415


class Invalid(EnclaveError):
    status = 422


class RateLimited(EnclaveError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageFull(EnclaveError):
    status = 507


class Unavailable(EnclaveError):
    """A service the request depends on (the identity provider) could not be reached."""

    status = 503
