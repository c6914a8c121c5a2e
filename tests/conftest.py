"""The test session's real infrastructure: PostgreSQL and Kafka of the `test` profile.

Started once per session on ports apart from `make run`'s, wiped at start, and
stopped at the end. Service processes are started by the fixtures of the tests
that need them, on free ports, exporting traces to an in-test OTLP receiver.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator

import pytest

from motcua.devstack import (
    Kafka,
    Postgres,
    ServiceProcess,
    auth_env,
    free_port,
    identity_env,
    profile,
    repo_root,
    service_env,
)
from motcua.kernel.config import Settings
from tests.support import auth
from tests.support.clients import dossiers_stub, procedures_stub
from tests.support.otlp import OtlpCollector

PROFILE = profile("test")  # MOTCUA_TEST_SLOT=N: a session of its own


class Stack:
    def __init__(self) -> None:
        self.profile = PROFILE
        self.postgres = Postgres(PROFILE)
        self.kafka = Kafka(PROFILE)
        self.collector = OtlpCollector()
        self.logs = PROFILE.root / "logs"
        self._counter = itertools.count(1)
        self._processes: list[ServiceProcess] = []
        self.identity_http_port = free_port()
        self.identity: ServiceProcess | None = None

    def start(self) -> None:
        self.postgres.start(fresh=True)
        self.kafka.start(fresh=True)
        self.collector.start()
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        # Every service verifies tokens with this identity service's keys (a fresh key per session).
        shutil.rmtree(self.profile.root / "identity", ignore_errors=True)
        self.identity = self.service("identity", **identity_env(self.profile, self.identity_http_port)).start()
        auth.use_identity(self.identity.addr)

    @property
    def auth_env(self) -> dict[str, str]:
        return auth_env(self.identity_http_port)

    @property
    def identity_keys(self):
        """The session's token signing keys (tests forge tokens with and without them)."""
        return self.profile.root / "identity" / "keys"

    def stop(self) -> None:
        for process in self._processes:
            process.kill()
        self.collector.stop()
        self.kafka.stop()
        self.postgres.stop()

    def service(self, name: str, module: str | None = None, **extra_env: str) -> ServiceProcess:
        """A service process (not started) with tracing to the collector and fast span export."""
        port = free_port()
        env = service_env(
            self.profile,
            name,
            port,
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": self.collector.endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "MOTCUA_LOG_LEVEL": "INFO",
                "PYTHONPATH": str(repo_root()),  # test-only services live in tests/
                **self.auth_env,
                **extra_env,
            },
        )
        if name == "dossiers":  # attachments' bytes: in the session's folder, wiped with it
            env.setdefault("MOTCUA_DOSSIERS_DOCUMENTS_DIR", str(self.profile.root / "dossiers" / "documents"))
        log = self.logs / f"{name}-{next(self._counter)}.log"
        process = ServiceProcess(name, env, log, module=module)
        self._processes.append(process)
        return process

    def settings(self, service: str, **extra_env: str) -> Settings:
        """Kernel settings for an in-process application of `service`, on its own database."""
        self.postgres.create_database(f"motcua_{service}")
        return Settings.from_env(
            {
                "MOTCUA_SERVICE": service,
                "POSTGRES_HOST": self.postgres.host,
                "POSTGRES_PORT": str(self.profile.pg_port),
                "POSTGRES_USER": self.postgres.user,
                "POSTGRES_PASSWORD": self.postgres.password,
                "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap,
                **self.auth_env,
                **extra_env,
            }
        )

    def dsn(self, service: str) -> str:
        return self.postgres.dsn(f"motcua_{service}")


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    stack = Stack()
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def services(stack) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """The procedures and dossiers services, as processes of this test module; they must stop
    cleanly."""
    procedures = stack.service("procedures").start()
    dossiers = stack.service("dossiers").start()
    yield procedures, dossiers
    assert procedures.terminate() == 0
    assert dossiers.terminate() == 0


@pytest.fixture(scope="module")
def procedures(services):
    return procedures_stub(services[0].addr)


@pytest.fixture(scope="module")
def dossiers(services):
    return dossiers_stub(services[1].addr)
