"""The vocabulary of the audit log: actions, outcomes, the tenant-less chain, and the request's source.

docs/ACCESS.md ("What is audited") lists what each action records; keep the two in step.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from enum import StrEnum

from enclave.errors import EnclaveError, Forbidden, Unauthorized

# Records whose tenant is unknown (a malformed key, a key id that does not exist, a wrong operator key)
# form a chain of their own under this tenant id, which no tenant can read: operators verify it.
NO_TENANT = ""
# The key id of records made with the platform operator key (not a tenant key; real ids are hex).
OPERATOR = "operator"

AUTHENTICATE = "authenticate"  # only failures are recorded: a success is the record of what it did
DOCUMENT_UPLOAD = "document.upload"
DOCUMENT_DOWNLOAD = "document.download"
DOCUMENT_DELETE = "document.delete"
KEY_CREATE = "key.create"
KEY_REVOKE = "key.revoke"
TENANT_CREATE = "tenant.create"
USER_CREATE = "user.create"
USER_DELETE = "user.delete"
USER_UPDATE = "user.update"  # a single sign-on user whose name, email or role the token changed
GROUP_CREATE = "group.create"
GROUP_DELETE = "group.delete"
GROUP_MEMBER_ADD = "group.member.add"
GROUP_MEMBER_REMOVE = "group.member.remove"
DOCUMENT_ACL = "document.acl"
SEARCH = "search"
ANSWER = "answer"
AUDIT_READ = "audit.read"
AUDIT_EXPORT = "audit.export"


class Outcome(StrEnum):
    OK = "ok"
    DENIED = "denied"  # the credential or the role did not allow it (401, 403)
    FAILED = "failed"  # did not happen: invalid or not found (4xx), or the answering model failed
    ERROR = "error"  # an unexpected error on our side (500), or a full volume (507)
    ABORTED = "aborted"  # the client went away before the answer was complete


# The address of the client whose request is being served, set once at the HTTP edge. A record made for
# a bare Principal during that request (a search, an answer) is stamped with it; an Actor carries its own.
request_source: ContextVar[str | None] = ContextVar("enclave_audit_request_source", default=None)


def outcome_of(exc: BaseException) -> tuple[Outcome, str]:
    """The outcome an exception stands for, and a reason safe to keep (never a secret or content)."""
    if isinstance(exc, Unauthorized | Forbidden):
        return Outcome.DENIED, exc.message
    if isinstance(exc, EnclaveError):
        # A document of another tenant answers "not found" like a missing one, so it is a failure, never
        # "denied": the caller's tenant admin reads this log, and it must not tell the two apart either.
        return (Outcome.ERROR if exc.status >= 500 else Outcome.FAILED), exc.message
    if isinstance(exc, GeneratorExit | asyncio.CancelledError | KeyboardInterrupt):
        return Outcome.ABORTED, "The request ended before the action was complete."
    return Outcome.ERROR, type(exc).__name__  # the message of an unexpected error may quote anything
