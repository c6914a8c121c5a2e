"""Fixtures: the gateway as a real process (`python -m motcua.gateway`) in front of real service
processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.support import GatewayStarter, StartGateway


@pytest.fixture(scope="module")
def services(stack) -> Iterator[dict[str, str]]:
    """procedures and dossiers, really running on PostgreSQL and Kafka: {name: gRPC address}."""
    procedures = stack.service("procedures").start()
    dossiers = stack.service("dossiers").start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr}
    assert procedures.terminate() == 0
    assert dossiers.terminate() == 0


@pytest.fixture
def start_gateway(stack) -> Iterator[StartGateway]:
    """Starts `python -m motcua.gateway` on a free port; each one left running must stop with exit
    code 0."""
    starter = GatewayStarter(stack)
    yield starter
    starter.stop()


@pytest.fixture(scope="module")
def start_module_gateway(stack) -> Iterator[StartGateway]:
    """The same, for gateways shared by a module's tests."""
    starter = GatewayStarter(stack)
    yield starter
    starter.stop()
