"""Runs one service process: gRPC server, outbox relay, chain sealer and consumers, till SIGTERM."""

from __future__ import annotations

import ctypes
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder

from .audit_api import AuditIndexer, AuditLog, registration as audit_registration
from .checkpoints import CheckpointWitness
from .config import ConfigError, Settings
from .consumer import TrackedConsumer
from .eventstore import ServiceApplication
from .grpc_server import GrpcServer, Registration
from .logs import configure_logging
from .metrics import configure_metrics
from .relay import OutboxRelay
from .sealer import ChainSealer
from .supervision import WorkerHealth
from .tracing import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)


@dataclass
class Service:
    """Everything one service process runs, assembled by the service's bootstrap."""

    settings: Settings
    app: ServiceApplication
    registrations: list[Registration]
    relay: OutboxRelay | None = None
    consumers: list[TrackedConsumer] = field(default_factory=list)
    # Called as shutdown begins, before in-flight calls are drained: long-lived server
    # streams end here (clients reconnect elsewhere) instead of holding the drain.
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)
    # Other background loops of the service, each with a ``name`` and ``run(stop_event)``
    # (e.g. a periodic task holding an advisory lock), started and stopped like the consumers;
    # one with a ``health`` (WorkerHealth) counts in the service's gRPC health like them.
    workers: list[Any] = field(default_factory=list)
    # Plain HTTP endpoints the service must offer by standard (an ASGI app), on MOTCUA_HTTP_ADDR.
    http_app: Any = None
    # The auditor API over the service's log, with the service's agency tree (and, for dossiers,
    # its codes); None: the plain one. Every service with a PostgreSQL log serves it.
    audit: AuditLog | None = None


class ServiceRuntime:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.stopping = threading.Event()
        registrations = list(service.registrations)
        self.audit_indexer: AuditIndexer | None = None
        if isinstance(service.app.recorder, PostgresApplicationRecorder):
            # Every service answers auditors from its own log: one API and index for all, from here.
            registrations.append(audit_registration(service.audit or AuditLog(service.app)))
            self.audit_indexer = AuditIndexer(service.app)
        self.server = GrpcServer(service.settings, registrations)
        self.http = None
        if service.http_app is not None:
            if not service.settings.http_addr:
                raise ConfigError(f"MOTCUA_HTTP_ADDR is not set: {service.settings.service} serves HTTP endpoints")
            from .http_server import HttpServer  # uvicorn only in the processes that serve HTTP (~5 MB)

            self.http = HttpServer(service.http_app, service.settings.http_addr, service.settings.trusted_proxies)
        self.sealer: ChainSealer | None = None
        self._threads: list[threading.Thread] = []
        self._watched: list[tuple[threading.Thread, WorkerHealth | None]] = []
        self.serving = True

    def start(self) -> None:
        workers: list[tuple[str, Callable[[threading.Event], None], WorkerHealth | None]] = []
        if self.service.relay is not None and self.service.settings.relay_enabled:
            workers.append(("relay", self.service.relay.run, self.service.relay.health))
        if self.service.settings.chain_enabled and isinstance(self.service.app.recorder, PostgresApplicationRecorder):
            # Every service with an event log seals it: the same worker for all, from here.
            self.sealer = ChainSealer(self.service.app)
            workers.append((self.sealer.name, self.sealer.run, self.sealer.health))
            # ...and keeps every service's signed checkpoints, its own included (cross-witnessing).
            witness = CheckpointWitness(self.service.settings)
            workers.append((witness.name, witness.run, witness.health))
        workers += [(f"consumer-{c.name}", c.run, c.health) for c in self.service.consumers]
        workers += [(w.name, w.run, getattr(w, "health", None)) for w in self.service.workers]
        if self.audit_indexer is not None:
            workers.append((self.audit_indexer.name, self.audit_indexer.run, self.audit_indexer.health))
        for name, target, health in workers:
            thread = threading.Thread(target=target, args=(self.stopping,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
            self._watched.append((thread, health))
        if self.http is not None:
            self.http.start()
        self.server.start()
        if self._watched:
            threading.Thread(target=self._watch_workers, name="worker-health", daemon=True).start()

    def unhealthy_workers(self) -> list[str]:
        """The background workers that died or have been failing for longer than allowed, with
        why."""
        limit = self.service.settings.worker_unhealthy_after
        found = []
        for thread, health in self._watched:
            if not thread.is_alive():
                found.append(f"{thread.name}: stopped")
            elif health is not None and health.failing_for() > limit:
                found.append(f"{thread.name}: failing for {health.failing_for():.0f}s ({health.last_error})")
        return found

    def _watch_workers(self) -> None:
        """Keeps the gRPC health in step with the workers: a service whose relay or consumer
        is dead or stuck is not doing its job, even if it still answers calls."""
        interval = min(1.0, max(self.service.settings.worker_unhealthy_after / 2, 0.1))
        while not self.stopping.wait(interval):
            unhealthy = self.unhealthy_workers()
            serving = not unhealthy
            if serving != self.serving:
                if serving:
                    log.warning("background workers recovered: SERVING again")
                else:
                    log.error("background workers unhealthy: NOT_SERVING", extra={"workers": unhealthy})
                self.serving = serving
                self.server.set_serving(serving)

    def stop(self) -> None:
        """Drains in-flight calls first, then stops publishing and consuming."""
        log.info("shutting down")
        for callback in self.service.on_shutdown:
            try:
                callback()
            except Exception:
                log.exception("shutdown callback failed")
        self.server.stop()
        if self.http is not None:
            self.http.stop()
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=15)
        self.service.app.close()
        log.info("stopped")


# Seconds after start at which the heap's free memory is handed back to the system, and the period
# after that: starting leaves megabytes freed but kept by the allocator (import-time parsing,
# connection set-up), which a long-running, mostly idle service would otherwise hold for good.
RELEASE_FREED_MEMORY_AT = (2, 10)
RELEASE_FREED_MEMORY_EVERY = 300


def release_freed_memory() -> None:
    """Returns the C heap's free pages to the system (glibc's malloc_trim; elsewhere nothing)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def main(service_name: str, build: Callable[[Settings], Service]) -> None:
    settings = Settings.from_env(service=service_name)
    configure_logging(settings.service, settings.log_level)
    configure_tracing(settings.service)
    configure_metrics(settings.service, settings.metrics_addr)
    runtime = ServiceRuntime(build(settings))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start()
    seconds = 0
    while not stop.wait(1.0):
        seconds += 1
        if seconds in RELEASE_FREED_MEMORY_AT or seconds % RELEASE_FREED_MEMORY_EVERY == 0:
            release_freed_memory()
    runtime.stop()
    shutdown_tracing()
