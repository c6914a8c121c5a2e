"""Domain errors shared by every service.

Pure: domain code raises these; the API layer maps them to gRPC statuses
(see ``grpc_errors``). Each service's domain module subclasses them.
"""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base class of every error a domain rule raises."""


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request: its path and what is wrong with it."""

    field: str
    description: str
    reason: str = ""


class InvalidArgument(DomainError):
    """The input breaks a rule about its shape or value."""

    def __init__(self, *violations: FieldViolation) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    @classmethod
    def field(cls, field: str, description: str, reason: str = "") -> InvalidArgument:
        return cls(FieldViolation(field, description, reason))


class NotFound(DomainError):
    """The named resource does not exist."""

    def __init__(self, resource_type: str, resource_id: str) -> None:
        self.resource_type = resource_type
        self.resource_id = resource_id
        super().__init__(f"{resource_type} {resource_id} not found")


class AlreadyExists(DomainError):
    """A resource with the same unique key exists; ``field``, when given, names the request
    field that makes the key (reported as a field violation beside the resource)."""

    def __init__(self, resource_type: str, key: str, field: str = "", description: str = "") -> None:
        self.resource_type = resource_type
        self.key = key
        self.field = field
        super().__init__(description or f"{resource_type} {key} already exists")


class InvalidTransition(DomainError):
    """The command is not allowed in the aggregate's current state."""

    def __init__(self, subject: str, current_state: str, action: str) -> None:
        self.subject = subject
        self.current_state = current_state
        self.action = action
        super().__init__(f"cannot {action} {subject}: it is {current_state}")


class VersionConflict(DomainError):
    """The aggregate changed since the caller read it (optimistic concurrency)."""

    def __init__(self, aggregate_id: str, expected: int | None, current: int | None) -> None:
        self.aggregate_id = aggregate_id
        self.expected = expected
        self.current = current
        detail = f"expected version {expected}" if expected else "a concurrent write won"
        super().__init__(f"{aggregate_id} was changed concurrently ({detail}, current version {current})")


class PermissionDenied(DomainError):
    """The caller is known but may not do this (role, agency or ownership)."""

    def __init__(self, action: str, reason: str, error_reason: str = "PERMISSION_DENIED", **metadata: str) -> None:
        self.action = action
        self.reason = reason
        # Machine-readable, for clients (ErrorInfo.reason): ROLE_REQUIRED, AGENCY_SCOPE,
        # NOT_OWNER...
        self.error_reason = error_reason
        self.metadata = metadata
        super().__init__(f"not allowed to {action}: {reason}")


class LimitExceeded(DomainError):
    """The command would take the caller past a limit on what one person or record may hold
    (open drafts, attachment bytes): RESOURCE_EXHAUSTED, naming the limit and its setting."""

    def __init__(self, subject: str, limit: str, allowed: int, setting: str) -> None:
        self.subject = subject
        self.limit = limit
        self.allowed = allowed
        self.setting = setting
        super().__init__(f"{subject} is at its limit: at most {allowed} {limit} ({setting})")


class Throttled(DomainError):
    """The caller made too many calls of a kind for now (a rate limit, not a quota of what they
    hold): RESOURCE_EXHAUSTED with a google.rpc.RetryInfo saying when to try again (the
    gateway's Retry-After)."""

    def __init__(self, subject: str, retry_after_seconds: float, limit: str) -> None:
        self.subject = subject
        self.retry_after_seconds = max(1.0, retry_after_seconds)
        self.limit = limit
        super().__init__(f"too many {limit} from {subject}; try again in {round(self.retry_after_seconds)} s")
