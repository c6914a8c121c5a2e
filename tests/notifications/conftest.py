"""Notifications service processes over real gRPC, PostgreSQL and Kafka.

The processes of this folder use a database of their own (not `motcua_notifications`),
so that the positions their consumer records for the hand-made dossiers events
(tests.support.dossier_events) never make another test's notifications service
skip the real dossiers service's events.
"""

from __future__ import annotations

import os
import queue
import threading
import uuid
from pathlib import Path

import grpc
import pytest
from kafka import KafkaAdminClient
from kafka.errors import CoordinatorNotAvailableError

from motcua.devstack import ServiceProcess
from motcua.devstack.provider_simulator import ProviderSimulator
from motcua.devstack.services import gateway_env
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.subject_keys import KeyEncryptionKeys
from motcua.notifications.application import NotificationsApplication
from motcua.notifications.personal_data import seal_personal_data
from tests.support import auth
from tests.support.clients import notifications_stub
from tests.support.dossier_events import DossierEvents
from tests.support.smtp_sink import SmtpSink
from tests.support.waiting import eventually

# The consumer group of notifications' agency-tree replica (motcua.kernel.agencies).
AGENCY_TREE_GROUP = "motcua.notifications.agency-tree"
# What a broker answers while its group coordinator is still being elected or loaded.
COORDINATOR_NOT_READY = ("NotCoordinatorError", "CoordinatorNotAvailableError", "CoordinatorLoadInProgressError")


@pytest.fixture(scope="session")
def notifications_db(stack) -> str:
    """The folder's database; its agency-tree replica starts empty, so its consumer group starts
    from the beginning of identity's topic, as a new deployment's would. The group's offsets
    committed by an earlier folder's notifications service (on another database) would otherwise
    skip the tree that folder's tests seeded: identity publishes each agency once, and seeding it
    again publishes nothing."""
    name = f"motcua_notifications_t{uuid.uuid4().hex[:8]}"
    stack.postgres.create_database(name)
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka.bootstrap)
    try:
        # A broker just started has no group coordinator until its offsets topic exists.
        outcome = eventually(lambda: _deleted_groups(admin), what="the broker's group coordinator")
    finally:
        admin.close()
    assert outcome is not None  # eventually returns a truthy answer
    assert outcome.get(AGENCY_TREE_GROUP) in ("OK", "GroupIdNotFoundError"), outcome  # not NonEmptyGroup
    return name


def _deleted_groups(admin: KafkaAdminClient) -> dict | None:
    try:
        outcome = admin.delete_groups([AGENCY_TREE_GROUP])  # {group: "OK" or the error's name}
    except CoordinatorNotAvailableError:
        return None
    return None if outcome.get(AGENCY_TREE_GROUP) in COORDINATOR_NOT_READY else outcome


@pytest.fixture(scope="module")
def database(stack) -> str:
    """A database of the module's alone (not the folder's), for a module whose tests read its
    tables' rows."""
    name = f"motcua_notifications_m{uuid.uuid4().hex[:8]}"
    stack.postgres.create_database(name)
    return name


def local_application(stack, database: str, *, sealing: bool = False) -> NotificationsApplication:
    """The application in this process on ``database``, ``database`` kept on it for the tests'
    own queries; ``sealing``: it seals personal data under a key encryption key of its own."""
    center = NotificationsApplication(stack.settings("notifications", POSTGRES_DBNAME=database))
    if sealing:
        seal_personal_data(center, KeyEncryptionKeys("k1", {"k1": os.urandom(32)}))
    center.prepare()
    center.database = database  # type: ignore[attr-defined]
    return center


@pytest.fixture(scope="module")
def smtp():
    """A real SMTP server the module's notifications service sends its e-mails to."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def provider():
    """The SMS (eSMS) and Zalo ZNS providers' simulator, a real HTTP server."""
    simulator = ProviderSimulator().start()
    yield simulator
    simulator.stop()


def mailing_service(stack, database: str, smtp: SmtpSink, **settings: str):
    """The folder's notifications service (not started) sending e-mail to ``smtp``, polling fast;
    ``settings`` add to or override these."""
    return stack.service("notifications", **{
        "POSTGRES_DBNAME": database,
        "MOTCUA_SMTP_HOST": "127.0.0.1",
        "MOTCUA_SMTP_PORT": str(smtp.port),
        "MOTCUA_SMTP_STARTTLS": "false",
        "MOTCUA_NOTIFY_POLL_INTERVAL": "0.05",
        **settings,
    })


def sending_service(stack, database: str, smtp: SmtpSink, provider: ProviderSimulator, **settings: str):
    """The folder's notifications service (not started) sending e-mail to ``smtp`` and SMS through
    eSMS at ``provider``, retrying and polling fast; ``settings`` add to or override these."""
    return mailing_service(stack, database, smtp, **{
        "MOTCUA_ESMS_URL": provider.url,
        "MOTCUA_ESMS_BRANDNAME": "MOTCUA.HNA",
        "MOTCUA_NOTIFY_RETRY_BASE": "0.05",
        **settings,
    })


def remote_signing_service(stack, directory: Path, request_ttl_seconds: int):
    """A signing service (not started) keeping its keys in ``directory``, telling the devices
    enrolled in ``directory / "remote-signers"`` of requests that expire after
    ``request_ttl_seconds``, its expiry worker looking often."""
    return stack.service("signing", MOTCUA_SIGNING_DIR=str(directory),
                         MOTCUA_SIGNING_REMOTE_SIGNERS_DIR=str(directory / "remote-signers"),
                         MOTCUA_SIGNING_REQUEST_TTL=str(request_ttl_seconds),
                         MOTCUA_SIGNING_EXPIRY_INTERVAL="0.2")


@pytest.fixture(scope="session")
def dossier_events(stack):
    events = DossierEvents(stack.kafka.bootstrap)
    yield events
    events.close()


class InboxReader:
    """Reads a StreamInbox call on a thread, so that a test can wait for each message with a
    timeout."""

    def __init__(self, call) -> None:
        self.call = call
        self._messages: queue.Queue = queue.Queue()
        self.error: grpc.RpcError | None = None
        self.metadata: tuple = ()
        self._metadata_ready = threading.Event()
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            self.metadata = tuple(self.call.initial_metadata() or ())
            self._metadata_ready.set()
            for message in self.call:
                self._messages.put(message.notification)
        except grpc.RpcError as e:
            self.error = e
        finally:
            self.ended.set()

    def live(self, timeout: float = 30) -> InboxReader:
        """Waits for the server's sign that the subscription is live."""
        ready = self._metadata_ready.wait(timeout)
        assert ready, f"the stream did not start within {timeout}s (error: {self.error})"
        assert ("motcua-inbox", "live") in self.metadata, self.metadata
        return self

    def is_live(self, timeout: float = 30) -> bool:
        """True once the subscription is live; False if the call ended without going live."""
        return self._metadata_ready.wait(timeout) and ("motcua-inbox", "live") in self.metadata

    def next(self, timeout: float = 60):
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no inbox message within {timeout}s (error: {self.error})") from None

    def pending(self) -> list:
        items = []
        while True:
            try:
                items.append(self._messages.get_nowait())
            except queue.Empty:
                return items

    def wait_end(self, timeout: float = 60) -> grpc.RpcError | None:
        assert self.ended.wait(timeout), f"the stream did not end within {timeout}s"
        return self.error

    def cancel(self) -> None:
        self.call.cancel()
        self.ended.wait(30)


def receipts_gateway(stack, service, http_port: int, gateway_port: int):
    """A gateway (started) in front of ``service``, passing the providers' receipts to its HTTP
    port ``http_port``, as the chart's and `make run`'s gateways do."""
    env = gateway_env(gateway_port, {"notifications": service.addr},
                      {"MOTCUA_NOTIFICATIONS_CALLBACKS_URL": f"http://127.0.0.1:{http_port}"})
    return ServiceProcess("gateway", env, stack.logs / f"gateway-{gateway_port}.log",
                          ready_url=f"http://127.0.0.1:{gateway_port}/livez").start(timeout=120)


def province_operators(service):
    """Stubs of ``service`` for an administrator and an auditor of the province."""
    return tuple(notifications_stub(service.addr, auth.issue(roles=(role,), agency_id="000.00.00.H56").access_token)
                 for role in (Role.ROLE_ADMINISTRATOR, Role.ROLE_AUDITOR))
