"""Fixtures: every service of the walk-through as a real process, and the gateway in front of them."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.gateway.support import Gateway, GatewayStarter


# As `make run` does: the development seals carry the seeded agencies' names.
SEED_AGENCIES = Path(__file__).resolve().parents[2] / "infra" / "local" / "seed" / "agencies.sample.json"


@pytest.fixture(scope="module")
def backends(stack, tmp_path_factory) -> Iterator[dict[str, str]]:
    """The session's identity; procedures, dossiers, notifications and signing on PostgreSQL and Kafka:
    {name: gRPC address}."""
    signing_dir = tmp_path_factory.mktemp("signing")
    processes = {
        "procedures": stack.service("procedures"),
        "dossiers": stack.service("dossiers"),
        "notifications": stack.service("notifications"),
        "signing": stack.service("signing", MOTCUA_SIGNING_DIR=str(signing_dir),
                                 MOTCUA_SIGNING_DEV_AGENCIES=str(SEED_AGENCIES)),
    }
    for process in processes.values():
        process.start()
    yield {"identity": stack.identity.addr, **{name: process.addr for name, process in processes.items()}}
    for name, process in processes.items():
        assert process.terminate() == 0, f"{name}: {process.log_path.read_text()}"


@pytest.fixture(scope="module")
def gateway(stack, backends) -> Iterator[Gateway]:
    """`python -m motcua.gateway` in front of the backends, exporting its spans to the test's collector."""
    starter = GatewayStarter(stack)
    try:
        yield starter(backends, OTEL_EXPORTER_OTLP_ENDPOINT=stack.collector.endpoint, OTEL_BSP_SCHEDULE_DELAY="100")
    finally:
        starter.stop()
