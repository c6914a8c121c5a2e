"""The fault suite at scale: thousands of dossier commands while, in turn, Kafka is killed and
restarted, PostgreSQL restarted, and each service killed with SIGKILL and restarted; afterwards
every accepted command is applied exactly once in effect in every consumer, none lost.

Clients do what a real client does in an outage: retry the same command (the same
`request_id` for a submission, the same `expected_version` for a reception) until it is
answered, and take "already done" as done. The consumers checked afterwards:

- the dossiers' own log: one DossierSubmitted and one DossierReceived per accepted dossier,
  and no dossier more than the accepted ones (a retried submission created nothing new);
- the notifications inbox: one notice of the reception and one of the fee due per received dossier;
- the dossiers' replicas: every procedure published during the faults is there;
- a non-idempotent tally of the dossiers' events (tests/faults/dossier_tally.py): each event
  counted exactly once, so no redelivery slipped past the kernel's tracking.

``MOTCUA_FAULT_COMMANDS`` sets how many dossier commands (a submission and a reception per
dossier): 300 in ``make test``, 10,000 in ``make faults``. The counts are printed.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
import psycopg
import pytest

from motcua.dossiers.v1 import dossier_pb2, dossier_service_pb2 as dpb
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.domain import DOSSIER_RECEIVED, FEE_DUE, IN_APP, template_id
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as npb
from motcua.procedures.v1 import procedure_service_pb2 as ppb
from tests.faults.dossier_tally import NAME as TALLY, tally_id
from tests.support import auth
from tests.support.clients import dossiers_stub, notifications_stub, procedures_stub
from tests.support.dossiers import applicant, fresh_agency, submit_request
from tests.support.procedures import full_create_request
from tests.support.waiting import eventually

COMMANDS = int(os.environ.get("MOTCUA_FAULT_COMMANDS", "300"))
WORKERS = int(os.environ.get("MOTCUA_FAULT_WORKERS", "6"))
RECIPIENTS = 20  # applicants the dossiers are spread over (their inboxes are read back)
CALL_TIMEOUT = 10.0
GIVE_UP_AFTER = 600.0  # one command retried this long means the system did not recover
# Outcomes a retry may cure: the service or its database is away, or the call's fate is unknown.
TRANSIENT = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN,
             grpc.StatusCode.INTERNAL, grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED}

# The notices of a received dossier in its applicant's inbox, one each: of the reception, and of
# the fee due on it.
NOTICES = (str(template_id(DOSSIER_RECEIVED.key, IN_APP)), str(template_id(FEE_DUE.key, IN_APP)))

pytestmark = pytest.mark.faults


@dataclass
class Ledger:
    """What the clients saw: the commands accepted, the attempts it took."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    submitted: dict[str, str] = field(default_factory=dict)  # request_id -> dossier_id
    received: set[str] = field(default_factory=set)
    recipients: dict[str, str] = field(default_factory=dict)  # dossier_id -> applicant account
    attempts: int = 0
    retries: Counter = field(default_factory=Counter)
    published: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    failed: threading.Event = field(default_factory=threading.Event)  # the run is lost: clients stop
    officer: str = ""  # the desk officer's token
    recipient_tokens: dict[str, str] = field(default_factory=dict)  # applicant account -> token

    @property
    def accepted(self) -> int:
        return len(self.submitted) + len(self.received)


def retrying(ledger: Ledger, call, what: str):
    """call() until it answers or fails with a non-transient status (returned, not raised)."""
    deadline = time.monotonic() + GIVE_UP_AFTER
    while True:
        with ledger.lock:
            ledger.attempts += 1
        try:
            return call()
        except grpc.RpcError as error:
            if error.code() not in TRANSIENT:
                return error
            with ledger.lock:
                ledger.retries[f"{what} {error.code().name}"] += 1
            if ledger.failed.is_set():
                raise AssertionError(f"{what}: the run failed elsewhere") from error
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what} still failing after {GIVE_UP_AFTER}s: {error.code()} {error.details()}"
                ) from error
            time.sleep(0.2 + random.random() * 0.3)


class Stack:
    """The processes of the run, and the faults done to them."""

    def __init__(self, stack) -> None:
        self.stack = stack
        stack.postgres.create_database(f"motcua_{TALLY}")
        self.services = {
            "procedures": stack.service("procedures"),
            "dossiers": stack.service("dossiers"),
            "notifications": stack.service("notifications"),
            TALLY: stack.service(TALLY, module="tests.faults.dossier_tally"),
        }
        for process in self.services.values():
            process.start()
        self.services["identity"] = stack.identity

    def kill_and_restart(self, name: str) -> None:
        process = self.services[name]
        assert process.kill() == -signal.SIGKILL
        process.start(timeout=300)

    def kill_kafka_and_restart(self) -> None:
        pid = self.stack.kafka.pid
        assert pid, "Kafka is not running"
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: not _alive(pid), what="Kafka gone")
        self.stack.kafka.stop()  # forgets the dead broker's pid file
        self.stack.kafka.start(fresh=False)

    def restart_postgres(self) -> None:
        self.stack.postgres.stop()
        self.stack.postgres.start(fresh=False)

    def faults(self) -> list[tuple[str, Callable[[], None]]]:
        return [("Kafka SIGKILL + restart", self.kill_kafka_and_restart),
                ("PostgreSQL restart", self.restart_postgres),
                *((f"{name} SIGKILL + restart", lambda name=name: self.kill_and_restart(name))
                  for name in ("dossiers", "notifications", "procedures", TALLY, "identity"))]

    def stop(self) -> None:
        for name, process in self.services.items():
            if name != "identity":
                process.terminate()


def _alive(pid: int) -> bool:
    try:
        # The broker is this process's child: reap it, or it lingers as a zombie that signal 0 still
        # finds.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def processes(stack):
    started = Stack(stack)
    yield started
    started.stop()


def publish_procedure(ledger: Ledger, addr: str, agency: str) -> str:
    procedures = procedures_stub(addr, auth.issue(agency_id=agency).access_token)  # the agency's administrator
    created = retrying(
        ledger, lambda: procedures.CreateProcedure(full_create_request(agency_id=agency)), "create procedure"
    )
    assert not isinstance(created, grpc.RpcError), created
    procedure_id = created.procedure.procedure_id
    published = retrying(ledger, lambda: procedures.PublishProcedure(ppb.PublishProcedureRequest(
        procedure_id=procedure_id, expected_version=created.procedure.version)), "publish procedure")
    if isinstance(published, grpc.RpcError):  # a retry after an unseen success finds it published
        state = procedures.GetProcedure(ppb.GetProcedureRequest(procedure_id=procedure_id)).procedure.state
        assert state != 0 and published.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED), \
            f"publishing failed: {published.code()} {published.details()}"
    ledger.published.append(procedure_id)
    return procedure_id


def file_and_receive(ledger: Ledger, dossiers, officer, procedure_id: str, agency: str, recipient: str) -> None:
    """One dossier: submitted by its applicant, received by the desk; two commands."""
    request_id = str(uuid.uuid4())
    request = submit_request(procedure_id, agency, request_id=request_id,
                             applicant=applicant(account_id=recipient, full_name="Trần Văn Bình"))
    submitted = retrying(ledger, lambda: dossiers.SubmitDossier(request, timeout=CALL_TIMEOUT), "submit")
    assert not isinstance(submitted, grpc.RpcError), f"submit refused: {submitted.code()} {submitted.details()}"
    dossier = submitted.dossier
    with ledger.lock:
        assert ledger.submitted.setdefault(request_id, dossier.dossier_id) == dossier.dossier_id
        ledger.recipients[dossier.dossier_id] = recipient
    receive = dpb.ReceiveDossierRequest(dossier_id=dossier.dossier_id, expected_version=dossier.version)
    received = retrying(ledger, lambda: officer.ReceiveDossier(receive, timeout=CALL_TIMEOUT), "receive")
    if isinstance(received, grpc.RpcError):
        # The first attempt was applied though its answer was lost: the retry finds it done.
        assert received.code() in (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION), \
            f"receive refused: {received.code()} {received.details()}"
        current = retrying(ledger, lambda: officer.GetDossier(
            dpb.GetDossierRequest(dossier_id=dossier.dossier_id), timeout=CALL_TIMEOUT), "get").dossier
        assert current.state == dossier_pb2.DOSSIER_STATE_RECEIVED, (received.details(), current.state)
        with ledger.lock:
            ledger.retries["receive found already applied"] += 1
    with ledger.lock:
        ledger.received.add(dossier.dossier_id)


def drive(processes: Stack, ledger: Ledger, commands: int) -> None:
    """The workers file dossiers while the faults happen, one after another, spread over the run."""
    agency = fresh_agency()
    addr = {name: p.addr for name, p in processes.services.items()}
    procedure_id = publish_procedure(ledger, addr["procedures"], agency)
    officer_token = auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=agency, ttl_seconds=6 * 3600).access_token
    recipients = [auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", ttl_seconds=6 * 3600,
                             display_name="Trần Văn Bình") for _ in range(RECIPIENTS)]
    eventually(lambda: dossiers_stub(addr["dossiers"], officer_token).GetProcedureReplica(
        dpb.GetProcedureReplicaRequest(procedure_id=procedure_id)), what="replica in dossiers")

    dossiers_total = commands // 2
    faults = processes.faults()
    # The run in len(faults) + 1 stretches; each fault strikes while its stretch's commands are
    # in flight (and after, the stretch goes on until its commands are all accepted).
    stretches = [range(dossiers_total * i // (len(faults) + 1), dossiers_total * (i + 1) // (len(faults) + 1))
                 for i in range(len(faults) + 1)]
    errors: list[BaseException] = []

    def start_stretch(numbers: range) -> list[threading.Thread]:
        todo = iter(numbers)
        todo_lock = threading.Lock()

        def worker() -> None:
            officer = dossiers_stub(addr["dossiers"], officer_token)
            stubs = {r.account_id: dossiers_stub(addr["dossiers"], r.access_token) for r in recipients}
            try:
                while not ledger.failed.is_set():
                    with todo_lock:
                        n = next(todo, None)
                    if n is None:
                        return
                    recipient = recipients[n % RECIPIENTS].account_id
                    file_and_receive(ledger, stubs[recipient], officer, procedure_id, agency, recipient)
            except BaseException as error:  # noqa: BLE001 - reported after the run
                errors.append(error)
                ledger.failed.set()

        threads = [threading.Thread(target=worker, name=f"client-{i}") for i in range(WORKERS)]
        for thread in threads:
            thread.start()
        return threads

    for thread in start_stretch(stretches[0]):
        thread.join()
    for (name, fault), numbers in zip(faults, stretches[1:], strict=False):
        clients = start_stretch(numbers)
        time.sleep(0.5)  # the stretch's first commands are under way
        try:
            # On this thread: processes are started with a parent-death signal, which a
            # thread of their own would fire as it ended.
            fault()
            ledger.faults.append(name)
        except BaseException:
            ledger.failed.set()
            raise
        finally:
            for thread in clients:
                thread.join()
        if errors:
            raise errors[0]
        # A procedure published right after each fault reaches the dossiers' replicas too.
        publish_procedure(ledger, addr["procedures"], agency)
    if errors:
        raise errors[0]
    assert ledger.accepted == 2 * dossiers_total
    ledger.recipient_tokens = {r.account_id: r.access_token for r in recipients}
    ledger.officer = officer_token


def counts_by_topic(dsn: str, table: str, suffixes: tuple[str, ...]) -> dict[str, Counter]:
    """{suffix: Counter(originator_id -> events)} of the log's events whose topic ends so."""
    found: dict[str, Counter] = {s: Counter() for s in suffixes}
    with psycopg.connect(dsn) as conn:
        for suffix in suffixes:
            for originator, n in conn.execute(
                    f"SELECT originator_id::text, count(*) FROM {table} WHERE topic LIKE %s GROUP BY 1",
                    (f"%{suffix}",)):
                found[suffix][originator] = n
    return found


def settle(probe, done, timeout: float):
    """probe()'s result once done(result), or its last result after timeout (then counted as is)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(1.0)


def inbox(addr: str, account_id: str, token: str) -> list:
    stub = notifications_stub(addr, token)
    notifications: list[notification_pb2.Notification] = []
    page_token = ""
    while True:
        page = stub.ListNotifications(npb.ListNotificationsRequest(
            recipient_account_id=account_id, page_size=100, page_token=page_token))
        notifications += page.notifications
        page_token = page.next_page_token
        if not page_token:
            return notifications


# The budget grows with the commands; the faults and the catching up after them take minutes.
@pytest.mark.timeout(1200 + COMMANDS)
def test_every_accepted_command_is_applied_exactly_once_through_kills_and_restarts(stack, processes):
    ledger = Ledger()
    drive(processes, ledger, COMMANDS)
    dossier_ids = set(ledger.submitted.values())
    addr = {name: p.addr for name, p in processes.services.items()}

    # The dossiers' own log: exactly the accepted dossiers, each submitted and received once.
    log = counts_by_topic(stack.dsn("dossiers"), "dossiers_events", ("Submitted", "Received"))
    ours = {d for d in log["Submitted"] if d in dossier_ids}
    submitted_twice = [d for d in dossier_ids if log["Submitted"][d] != 1]
    received_twice = [d for d in dossier_ids if log["Received"][d] != 1]

    # Replicas: every procedure published during the faults.
    officer = dossiers_stub(addr["dossiers"], ledger.officer)
    for procedure_id in ledger.published:
        eventually(
            lambda procedure_id=procedure_id: officer.GetProcedureReplica(
                dpb.GetProcedureReplicaRequest(procedure_id=procedure_id)
            ),
            timeout=180,
            what=f"replica of {procedure_id}",
        )

    # The tally: every Submitted and Received event of ours counted exactly once.
    def tallied() -> dict[str, Counter]:
        counts = counts_by_topic(stack.dsn(TALLY), f"{TALLY}_events", ("Counted",))["Counted"]
        return {kind: Counter({d: counts[str(tally_id(kind, d))] for d in dossier_ids})
                for kind in ("submitted", "received")}

    tally = settle(tallied, lambda t: all(t[k][d] >= 1 for k in t for d in dossier_ids), timeout=300)

    # The inbox: per received dossier, in its applicant's inbox, one notice of its reception and
    # one of the fee it owes (the procedures have fees), each counted by its template apart.
    def notified() -> Counter[tuple[str, str]]:
        per_notice: Counter[tuple[str, str]] = Counter()
        for account, token in ledger.recipient_tokens.items():
            for notification in inbox(addr["notifications"], account, token):
                per_notice[notification.dossier_id, notification.template_id] += 1
        return per_notice

    notices = settle(notified, lambda n: all(n[d, t] >= 1 for d in ledger.received for t in NOTICES), timeout=300)
    lost = {"log": len(dossier_ids - ours) + sum(1 for d in ledger.received if log["Received"][d] == 0),
            "tally": sum(1 for k in tally for d in dossier_ids if tally[k][d] == 0),
            "inbox": sum(1 for d in ledger.received for t in NOTICES if notices[d, t] == 0)}
    duplicated = {"log": len(submitted_twice) + len(received_twice) - lost["log"],
                  "tally": sum(1 for k in tally for d in dossier_ids if tally[k][d] > 1),
                  "inbox": sum(1 for count in notices.values() if count > 1)}

    report = (
        f"\nfaults: {', '.join(ledger.faults)}\n"
        f"faults: {ledger.accepted} dossier commands accepted ({len(ledger.submitted)} submissions, "
        f"{len(ledger.received)} receptions) in {ledger.attempts} attempts; retries: {dict(ledger.retries)}; "
        f"{len(ledger.published)} procedures published\n"
        f"faults: dossiers log: {sum(log['Submitted'][d] for d in dossier_ids)} submitted, "
        f"{sum(log['Received'][d] for d in dossier_ids)} received events for {len(dossier_ids)} dossiers\n"
        f"faults: tally applied {sum(tally['submitted'].values())} submitted, {sum(tally['received'].values())} "
        f"received\n"
        f"faults: inbox: {sum(notices[d, NOTICES[0]] for d in ledger.received)} reception and "
        f"{sum(notices[d, NOTICES[1]] for d in ledger.received)} fee notices of {sum(notices.values())} "
        f"notifications for {len(ledger.received)} received dossiers; "
        f"replicas: {len(ledger.published)} of {len(ledger.published)}\n"
        f"faults: lost {lost}; duplicated {duplicated}"
    )
    print(report)
    assert len(ledger.faults) == len(processes.faults()), report
    assert lost == {"log": 0, "tally": 0, "inbox": 0}, report
    assert duplicated == {"log": 0, "tally": 0, "inbox": 0}, report
    assert {d for d, _ in notices} <= dossier_ids, report  # nothing else in these applicants' inboxes
    assert {t for _, t in notices} <= set(NOTICES), report
