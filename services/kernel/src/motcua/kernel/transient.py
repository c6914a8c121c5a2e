"""Which failures are the infrastructure's (retry: the work is fine, try again later) and
which are the work's own (retrying cannot help)."""

from __future__ import annotations

import eventsourcing.persistence as es
import grpc
import psycopg
from kafka.errors import KafkaError

# eventsourcing wraps psycopg's errors in classes of its own (not subclasses of psycopg's):
# both must be recognised. psycopg's OperationalError covers a lost connection, a server
# shutting down (AdminShutdown), a pool that cannot hand out a connection in time
# (PoolTimeout) and serialization failures or deadlocks (TransactionRollbackError).
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    es.OperationalError,
    es.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    KafkaError,
    ConnectionError,
    TimeoutError,
)

_TRANSIENT_GRPC_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def is_transient(error: BaseException) -> bool:
    """True when ``error``, or an error it was raised from, says a dependency (PostgreSQL,
    Kafka, another service) is unavailable for now, not that the work itself is wrong."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _TRANSIENT_TYPES):
            return True
        if isinstance(current, grpc.RpcError) and callable(getattr(current, "code", None)):
            if current.code() in _TRANSIENT_GRPC_CODES:
                return True
        current = current.__cause__ or current.__context__
    return False
