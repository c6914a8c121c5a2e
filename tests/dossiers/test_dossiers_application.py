"""The dossiers application in-process on the session's real PostgreSQL, with a set clock:
what depends on the date and time of day, which a running service cannot be told."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from psycopg.sql import SQL

from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.application.register_reads import LookupsExhausted
from motcua.dossiers.application.views import PublishedVersion, Submission
from motcua.dossiers.config import DossiersConfig
from motcua.dossiers.domain.code_sequence import DossierCodeSequence
from motcua.dossiers.domain.lifecycle import RECEIVED
from motcua.dossiers.domain.values import Applicant, Document, UnknownProcedure
from motcua.kernel.config import ConfigError, Settings
from motcua.kernel.context import Actor, Grant, acting_as
from motcua.kernel.errors import NotFound
from motcua.kernel.keyfiles import keyed_hash

AGENCY = "000.00.12.H56"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def desk_officer():
    """The caller of these in-process commands: a desk officer and administrator of the agency,
    and a desk officer of a second one (these tests are not about authorization; the gRPC
    interceptor sets it from the bearer token in a running service)."""
    grants = (Grant("desk_officer", AGENCY), Grant("administrator", AGENCY), Grant("desk_officer", "000.00.13.H56"))
    with acting_as(Actor(subject="officer-1", agency_id=AGENCY, roles=("desk_officer", "administrator"),
                         grants=grants)) as actor:
        yield actor


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 1, 5, 1, 0, tzinfo=UTC))


@pytest.fixture
def settings(stack) -> Settings:
    return stack.settings(f"d{uuid.uuid4().hex[:10]}")  # a database of its own


@pytest.fixture
def office(settings, clock):
    app = DossiersApplication(settings, clock=clock)
    yield app
    app.close()


@pytest.fixture
def other_replica(settings, clock, office):
    """A second application on the same database, as another replica of the service would be."""
    app = DossiersApplication(settings, clock=clock)
    yield app
    app.close()


def losing_the_race_to(office: DossiersApplication, rival) -> None:
    """Makes ``office``'s next save run only after ``rival()`` saved in between."""
    save = office.save

    def save_after_rival(*objs, **kwargs):
        office.save = save
        rival()
        return save(*objs, **kwargs)

    office.save = save_after_rival  # type: ignore[method-assign]  # the one save that loses the race


@pytest.fixture
def procedure_id(office) -> uuid.UUID:
    procedure_id = uuid.uuid4()
    office.save(
        office.replicate_procedure(
            PublishedVersion(procedure_id, "1.001193.000.00.00.H56", "Đăng ký khai sinh", "000.00.10.H56", 1, 2)
        )
    )
    return procedure_id


def submission(procedure_id: uuid.UUID, **overrides) -> Submission:
    fields: dict[str, Any] = {
        "procedure_id": procedure_id,
        "agency_id": AGENCY,
        "applicant": Applicant(kind="citizen", full_name="Lê Thị Thu Hà", identity_number="001190012345"),
        "channel": "online",
        "documents": (Document("Tờ khai đăng ký khai sinh", 1, 0),),
    }
    fields.update(overrides)
    return Submission(**fields)


def test_codes_restart_at_midnight_in_vietnam(office, clock, procedure_id):
    clock.now = datetime(2026, 1, 5, 16, 59, 59, tzinfo=UTC)  # 23:59:59 on 5 January in Vietnam
    assert office.submit_dossier(submission(procedure_id)).code == "000.00.12.H56-260105-0001"
    assert office.submit_dossier(submission(procedure_id)).code == "000.00.12.H56-260105-0002"
    clock.now += timedelta(seconds=1)  # midnight in Vietnam, still 5 January in UTC
    assert office.submit_dossier(submission(procedure_id)).code == "000.00.12.H56-260106-0001"
    assert (
        office.submit_dossier(submission(procedure_id, agency_id="000.00.13.H56")).code == "000.00.13.H56-260106-0001"
    )


def test_a_number_taken_by_another_replica_meanwhile_is_retried_without_a_gap(office, other_replica, procedure_id):
    rival = []
    losing_the_race_to(office, lambda: rival.append(other_replica.submit_dossier(submission(procedure_id))))
    mine = office.submit_dossier(submission(procedure_id))
    assert office.submit_conflicts == 1
    assert [rival[0].code, mine.code] == ["000.00.12.H56-260105-0001", "000.00.12.H56-260105-0002"]
    assert office.submit_dossier(submission(procedure_id)).code == "000.00.12.H56-260105-0003"


def test_a_request_saved_by_another_replica_meanwhile_is_returned(office, other_replica, procedure_id):
    request_id = str(uuid.uuid4())
    rival = []
    losing_the_race_to(
        office, lambda: rival.append(other_replica.submit_dossier(submission(procedure_id, request_id=request_id)))
    )
    mine = office.submit_dossier(submission(procedure_id, request_id=request_id))
    assert office.submit_conflicts == 1
    assert mine == rival[0]
    assert office.submit_dossier(submission(procedure_id)).code == "000.00.12.H56-260105-0002"


def test_a_refused_submission_takes_no_number(office, procedure_id):
    with pytest.raises(UnknownProcedure):
        office.submit_dossier(submission(uuid.uuid4()))
    assert office.submit_dossier(submission(procedure_id)).code.endswith("-0001")


def test_numbers_continue_past_snapshots(office, procedure_id):
    codes = [office.submit_dossier(submission(procedure_id)).code for _ in range(120)]
    assert codes == [f"000.00.12.H56-260105-{n:04d}" for n in range(1, 121)]
    sequence_id = DossierCodeSequence.id_for(AGENCY, date(2026, 1, 5))
    # A snapshot every 10 numbers: a submission replays at most 9 of the day's Issued events.
    assert [s.originator_version for s in office.snapshots.get(sequence_id)] == list(range(10, 121, 10))


def test_a_friday_reception_is_due_on_monday(office, clock, procedure_id):
    clock.now = datetime(2026, 1, 9, 3, 0, tzinfo=UTC)  # Friday 10:00 in Vietnam
    submitted = office.submit_dossier(submission(procedure_id))
    received = office.receive_dossier(submitted.dossier_id, expected_version=submitted.version)
    assert received.state == RECEIVED
    assert received.received_at == clock.now
    assert received.appointed_return_at == datetime(2026, 1, 12, 10, 0, tzinfo=UTC)  # Monday, end of working hours
    assert office.get_dossier(submitted.dossier_id) == received


def test_the_log_reads_back_with_the_default_transcodings_as_the_auditor_reads_it(office, procedure_id):
    from motcua.audit.reader import EventLog

    submitted = office.submit_dossier(submission(procedure_id))
    office.receive_dossier(submitted.dossier_id, note="Đủ giấy tờ")
    with EventLog("dossiers", office.settings.eventstore_env) as log:
        history = log.history(submitted.dossier_id)
        assert [(r.type, r.problem) for r in history] == [("Dossier.Submitted", None), ("Dossier.Received", None)]
        # The auditor holds no subject key: the applicant's personal fields read as sealed.
        applicant = history[0].data["applicant"]
        assert "full_name" not in applicant and "_sealed" in applicant and "Lê Thị Thu Hà" not in repr(applicant)
        assert applicant["kind"] == "citizen" and applicant["subject_id"].startswith(("account:", "person:"))
        assert history[1].data["note"] == "Đủ giấy tờ"
        assert log.aggregate(submitted.dossier_id).code == submitted.code
        sequence = log.aggregate(DossierCodeSequence.id_for(AGENCY, date(2026, 1, 5)))
        assert sequence.last_number == 1


def test_status_lookups_are_counted_per_address_under_keyed_hashes_and_full_buckets_are_purged(office, clock):
    code, phone = f"{AGENCY}-260105-9999", "0912345678"
    throttle = office.lookup_throttle
    for _ in range(throttle.burst):
        with pytest.raises(NotFound):
            office.look_up_status(code, phone, "198.51.100.1")
    with pytest.raises(LookupsExhausted):
        office.look_up_status(code, phone, "198.51.100.1")
    with pytest.raises(NotFound):  # someone else's bucket
        office.look_up_status(code, phone, "2001:db8:1:2::1")
    with pytest.raises(NotFound):  # the same /64: the same bucket, not yet empty
        office.look_up_status(code, phone, "2001:db8:1:2::99")

    def keys() -> set[str]:
        with throttle.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT key FROM {t}").format(t=throttle.table))
            return {row["key"] for row in curs.fetchall()}

    stored = keys()
    assert len(stored) == 2
    assert not any("198.51.100.1" in key or "2001:db8" in key for key in stored)
    assert hashlib.sha256(b"motcua/dossiers/lookup/198.51.100.1").hexdigest() not in stored  # not a plain hash
    clock.now += throttle.refill_time + timedelta(minutes=10)  # full again, and the next purge is due
    with pytest.raises(NotFound):
        office.look_up_status(code, phone, "203.0.113.9")
    assert keys() == {throttle.key("203.0.113.9")}


def test_the_lookup_throttles_key_comes_from_the_environment_when_given(settings, clock):
    key = bytes(range(32))
    env = {"MOTCUA_DOSSIERS_LOOKUP_KEY": base64.b64encode(key).decode()}
    app = DossiersApplication(settings, clock=clock, config=DossiersConfig.from_env(env))
    try:
        assert app.lookup_throttle.key("198.51.100.1") == keyed_hash(key, "dossiers/lookup", "198.51.100.1")
    finally:
        app.close()
    with pytest.raises(ConfigError, match="MOTCUA_DOSSIERS_LOOKUP_KEY"):
        DossiersApplication(
            settings, clock=clock, config=DossiersConfig.from_env({"MOTCUA_DOSSIERS_LOOKUP_KEY": "c2hvcnQ="})
        )
