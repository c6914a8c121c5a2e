"""In-process kernel pieces against the session's real PostgreSQL and Kafka."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.domain import Aggregate, event

from motcua.kernel.config import Settings
from motcua.kernel.eventstore import ServiceApplication


class Note(Aggregate):
    """A minimal aggregate for exercising the kernel."""

    class Written(Aggregate.Created):
        text: str

    @event(Written)
    def __init__(self, text: str) -> None:
        self.text = text


class NotesApp(ServiceApplication):
    name = "notes"


def kernel_settings(stack, service: str) -> Settings:
    return stack.settings(service, MOTCUA_RELAY_IDLE_WAIT="0.1")


@pytest.fixture
def service_name() -> str:
    """A fresh service name per test: its own database and topics."""
    return f"k{uuid.uuid4().hex[:10]}"


@pytest.fixture
def notes(stack, service_name):
    app = NotesApp(kernel_settings(stack, service_name))
    yield app
    app.close()
