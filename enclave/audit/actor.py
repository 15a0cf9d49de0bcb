"""Who acts and from where: the actor of audit records, built at the HTTP edge for each request, and
`audited`, which records one action with the outcome it had.

A service takes an `Actor` next to the principal it scopes by; without one (the CLI, internal calls)
nothing is recorded. The actor carries the runtime's audit log, so a service needs no log of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from enclave.audit.events import OPERATOR, Outcome, outcome_of
from enclave.tenancy.principal import Principal

if TYPE_CHECKING:
    from enclave.audit.service import AuditLog


@dataclass(frozen=True)
class Actor:
    log: AuditLog
    principal: Principal | None = None  # None: not authenticated, or the platform operator
    source: str | None = None  # the client's address
    user_id: str | None = None  # the user the key acts as, once keys belong to users
    operator: bool = False

    def record(self, action: str, *, outcome: Outcome = Outcome.OK, **fields: Any) -> None:
        if self.operator:
            fields.setdefault("key_id", OPERATOR)
        self.log.record(self, action, outcome=outcome, **fields)


@dataclass
class Attempt:
    """What an audited action turned out to touch, filled in as it runs."""

    target: str | None
    details: dict[str, Any]
    tenant_id: str | None = None
    done: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    def succeeded(self, target: str | None, **details: Any) -> None:
        """One record per call (an upload of several records touches several documents)."""
        self.done.append((target, details))


@contextmanager
def audited(actor: Actor | None, action: str, target: str | None = None, **details: Any) -> Iterator[Attempt]:
    """Records `action` when the block ends: ok, or the outcome of what it raised (then re-raised)."""
    step = Attempt(target, dict(details))
    if actor is None:
        yield step
        return
    try:
        yield step
    except BaseException as exc:
        outcome, reason = outcome_of(exc)
        failed = {**step.details, "reason": reason}
        actor.record(action, target=step.target, outcome=outcome, tenant_id=step.tenant_id, **failed)
        raise
    for done, extra in step.done or [(step.target, {})]:
        actor.record(action, target=done, tenant_id=step.tenant_id, **{**step.details, **extra})
