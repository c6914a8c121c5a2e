"""Pure rules behind the kernel's reliability: which settings reach eventsourcing, which
errors are an unavailable dependency (retry) rather than a bad message (dead-letter)."""

from __future__ import annotations

import eventsourcing.persistence as es
import psycopg
import pytest
from kafka.errors import KafkaTimeoutError

from motcua.kernel.config import Settings
from motcua.kernel.errors import InvalidArgument
from motcua.kernel.supervision import WorkerHealth
from motcua.kernel.transient import is_transient

BASE = {"MOTCUA_SERVICE": "dossiers", "POSTGRES_HOST": "db", "POSTGRES_PORT": "5432", "POSTGRES_USER": "motcua"}


def test_eventsourcing_settings_reach_the_event_store_and_pre_ping_is_on_by_default() -> None:
    assert Settings.from_env(BASE).eventstore_env["POSTGRES_PRE_PING"] == "y"
    library = {
        "POSTGRES_PRE_PING": "n",
        "POSTGRES_CONNECT_TIMEOUT": "3",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
        "POSTGRES_MAX_WAITING": "50",
        "POSTGRES_CONN_MAX_AGE": "600",
        "SINGLE_ROW_TRACKING": "n",
    }
    store = Settings.from_env({**BASE, **library}).eventstore_env
    assert {k: store[k] for k in library} == library
    assert "UNRELATED_SETTING" not in Settings.from_env({**BASE, "UNRELATED_SETTING": "x"}).eventstore_env


def _raised_from(wrapper: type[Exception], cause: Exception) -> Exception:
    try:
        try:
            raise cause
        except Exception as e:
            raise wrapper(str(e)) from e
    except Exception as wrapped:
        return wrapped


@pytest.mark.parametrize("error", [
    es.OperationalError("server closed the connection unexpectedly"),  # eventsourcing's wrapper
    es.InterfaceError("connection already closed"),
    psycopg.OperationalError("connection refused"),
    _raised_from(es.PersistenceError, psycopg.OperationalError("the pool is exhausted")),
    KafkaTimeoutError("no broker"),
    ConnectionRefusedError(),
])
def test_an_unavailable_dependency_is_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    InvalidArgument.field("text", "refused"),
    es.ProgrammingError("relation does not exist"),
    es.DataError("invalid input syntax"),
    KeyError("a bug in a policy"),
])
def test_a_rejection_or_a_bug_is_not_transient(error: Exception) -> None:
    assert not is_transient(error)


def test_a_worker_is_failing_from_its_first_failure_until_it_works_again() -> None:
    health = WorkerHealth("relay")
    assert health.failing_for() == 0
    health.failing(es.OperationalError("down"))
    first = health.failing_for()
    health.failing(es.OperationalError("still down"))
    assert health.failing_for() >= first  # measured from the first failure, not the last
    assert health.last_error == "OperationalError: still down"
    health.working()
    assert health.failing_for() == 0 and health.last_error == ""
