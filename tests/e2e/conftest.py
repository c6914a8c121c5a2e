"""Fixtures: every service of the walk-through as a real process, and the gateway in front of
them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.support import Gateway, GatewayStarter
from tests.support.platform import every_service

# As `make run` does: the development seals carry the seeded agencies' names.
SEED_AGENCIES = Path(__file__).resolve().parents[2] / "infra" / "local" / "seed" / "agencies.sample.json"


@pytest.fixture(scope="module")
def backends(stack, tmp_path_factory) -> Iterator[dict[str, str]]:
    """The session's identity; procedures, dossiers, notifications and signing on PostgreSQL and
    Kafka:
    {name: gRPC address}."""
    with every_service(stack, tmp_path_factory.mktemp("signing"),
                       MOTCUA_SIGNING_DEV_AGENCIES=str(SEED_AGENCIES)) as addresses:
        yield addresses


@pytest.fixture(scope="module")
def gateway(stack, backends) -> Iterator[Gateway]:
    """`python -m motcua.gateway` in front of the backends, exporting its spans to the test's
    collector."""
    starter = GatewayStarter(stack)
    try:
        yield starter(backends, OTEL_EXPORTER_OTLP_ENDPOINT=stack.collector.endpoint, OTEL_BSP_SCHEDULE_DELAY="100")
    finally:
        starter.stop()
