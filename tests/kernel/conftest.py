"""In-process kernel pieces against the session's real PostgreSQL and Kafka."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.domain import Aggregate, event

from motcua.kernel.config import Settings
from motcua.kernel.eventstore import ServiceApplication


class Note(Aggregate):
    """A minimal aggregate for exercising the kernel."""

    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


class NotesApp(ServiceApplication):
    name = "notes"


def kernel_settings(stack, service: str) -> Settings:
    stack.postgres.create_database(f"motcua_{service}")
    return Settings.from_env(
        {
            "MOTCUA_SERVICE": service,
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(stack.profile.pg_port),
            "POSTGRES_USER": stack.postgres.user,
            "POSTGRES_PASSWORD": stack.postgres.password,
            "KAFKA_BOOTSTRAP_SERVERS": stack.kafka.bootstrap,
            "MOTCUA_RELAY_IDLE_WAIT": "0.1",
        }
    )


@pytest.fixture
def service_name() -> str:
    """A fresh service name per test: its own database and topics."""
    return f"k{uuid.uuid4().hex[:10]}"


@pytest.fixture
def notes(stack, service_name):
    app = NotesApp(kernel_settings(stack, service_name))
    yield app
    app.close()
