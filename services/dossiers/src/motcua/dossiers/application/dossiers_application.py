"""The dossiers service's application: load, call, save."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from motcua.dossiers.adapters.calendar_copies import CalendarCopies, CalendarReplicaView
from motcua.dossiers.adapters.lookup_throttle import LookupThrottle
from motcua.dossiers.adapters.personal_data_holders import PersonalDataHolders
from motcua.dossiers.adapters.register_projection import DossierRecorder
from motcua.dossiers.adapters.signing_client import ResultSigner
from motcua.dossiers.application import authorization as auth
from motcua.dossiers.application.attachments import AttachmentCommands
from motcua.dossiers.application.erasure import ErasureCommands
from motcua.dossiers.application.lifecycle_commands import LifecycleCommands
from motcua.dossiers.application.personal_data import PERSONAL_FIELDS, Retention, Subjects
from motcua.dossiers.application.register_reads import RegisterReads
from motcua.dossiers.application.retries import retried_on_version_conflict
from motcua.dossiers.application.subject_access import SubjectAccessQueries
from motcua.dossiers.application.views import DossierView, ProcedureReplicaView, PublishedVersion, Submission
from motcua.dossiers.config import MAX_OPEN_DRAFTS_SETTING, DossiersConfig
from motcua.dossiers.domain.code_sequence import DossierCodeSequence
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.procedure_replica import ProcedureReplica
from motcua.kernel.agencies import AgencyTree
from motcua.kernel.config import Settings
from motcua.kernel.context import current_actor
from motcua.kernel.errors import InvalidArgument, LimitExceeded, NotFound
from motcua.kernel.keyfiles import decode_key, load_key
from motcua.kernel.localtime import local_date
from motcua.kernel.readmodel import ReadModelApplication
from motcua.kernel.subject_keys import KeyEncryptionKeys, PersonalData, subject_key_store

A = TypeVar("A", bound=Aggregate)

# Dossier ids of idempotent submissions: uuid5(namespace, request_id).
REQUEST_NAMESPACE = UUID("3a0d1f8e-5c2b-5e47-9d61-6d6f74637561")


def dossier_id_for_request(request_id: str) -> UUID:
    """The one dossier id a submission with this idempotency key can have."""
    try:
        key = UUID(request_id)
    except ValueError:
        raise InvalidArgument.field("request_id", "must be a UUID") from None
    return uuid5(REQUEST_NAMESPACE, str(key))


class StripedLocks:
    """A bounded set of locks, one picked per key.

    Correctness never depends on them: the sequence's version does. They only keep the
    threads of one process from racing each other for the same number, so that under a
    burst for one agency each submission commits once instead of retrying O(n) times;
    submissions in other processes still collide and retry.
    """

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    def lock(self, key: UUID) -> threading.Lock:
        return self._locks[key.int % len(self._locks)]


class NumberedSequences(dict[UUID, DossierCodeSequence]):
    """The sequences last saved by this process, by id; emptied when it holds more than a busy
    day's agencies (the days before are of no more use)."""

    limit = 10_000

    def __setitem__(self, key: UUID, value: DossierCodeSequence) -> None:
        if len(self) >= self.limit:
            self.clear()
        super().__setitem__(key, value)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DossiersApplication(LifecycleCommands, RegisterReads, AttachmentCommands, ErasureCommands, SubjectAccessQueries,
                          ReadModelApplication):
    name = "dossiers"
    recorder_class = DossierRecorder
    # A busy desk issues hundreds of numbers a day, and every submission loads its sequence:
    # replay it from a recent snapshot. The state is three fields, so a snapshot every 10
    # numbers costs one small insert per 10 submissions; every 100 had each submission decode
    # and apply 50 events on average, most of its CPU.
    snapshotting_intervals = {DossierCodeSequence: 10}

    # Taking a dossier number is optimistic: a submission that lost the race for the
    # agency's next number (to another replica) reads the sequence again and retries.
    max_submit_attempts = 100
    max_receive_attempts = 3

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], datetime] = _utc_now,
        config: DossiersConfig | None = None,
        signer: ResultSigner | None = None,
        holders: PersonalDataHolders | None = None,
    ) -> None:
        config = config or DossiersConfig()
        # Before the store opens: a bad key is refused with nothing to clean up.
        lookup_key = decode_key(config.lookup_key, "MOTCUA_DOSSIERS_LOOKUP_KEY", "lookup throttle key") \
            if config.lookup_key else load_key(config.lookup_key_file, 32, True, "lookup throttle key")
        personal_key = decode_key(config.personal_key, "MOTCUA_DOSSIERS_PERSONAL_KEY", "personal-data key") \
            if config.personal_key else load_key(config.personal_key_file, 32, config.dev_keys, "personal-data key",
                                                 hint=" or set MOTCUA_DOSSIERS_DEV_KEYS=true")
        keks = KeyEncryptionKeys.from_directory(config.subject_keks_dir, config.subject_kek_id, config.dev_keys)
        super().__init__(settings)
        # Applicants' personal fields are sealed in the log under their subject's key, and
        # unsealed (or masked once erased) by every reader of it: the register, the relay.
        self.subjects = Subjects(personal_key)
        self.subject_keys = subject_key_store(self, keks)
        if config.seal_personal_data:  # off only to measure its cost (DossiersConfig)
            self.mapper.personal = PersonalData(PERSONAL_FIELDS, self.subject_keys)
        self.recorder.number_index = self.subjects.number_index
        self.retention = Retention(config.retention_years, dict(config.retention_years_by_procedure))
        self.clock = clock
        # Seals results; without a signing service (MOTCUA_SIGNING_ADDR) marking a result ready
        # fails.
        self.signer = signer or ResultSigner("")
        # Identity and notifications, asked for their part of a person's export and erasure.
        self.holders = holders or PersonalDataHolders("", "")
        self.officer_signed_procedures = config.officer_signed_procedures
        self.calendars = CalendarCopies(self)
        self.documents_dir = config.documents_dir
        self.max_open_drafts = config.max_open_drafts
        self.max_attachment_bytes_per_dossier = config.max_attachment_bytes_per_dossier
        self.max_attachment_bytes_per_applicant = config.max_attachment_bytes_per_applicant
        self.lookup_throttle = LookupThrottle(
            self.recorder.datastore,
            f"{self.name}_lookup_buckets",
            config.lookup_burst,
            config.lookup_per_minute,
            lookup_key,
        )
        self.lookup_throttle.create_table()
        # Identity's agency tree, kept by the agency-tree consumer: grants reach the subtrees.
        self.agency_tree = AgencyTree(self)
        self._numbering = StripedLocks()
        # Each agency's sequence of the day as last saved here (``_numbering_sequence``).
        self._numbered: NumberedSequences = NumberedSequences()
        self.submit_conflicts = 0  # saves that lost the race for a number to another replica
        self.recorder.rebuild_if_missing()

    def within(self, agency_id: str, ancestor_id: str) -> bool:
        """Whether an agency is ``ancestor_id`` or below it, in the replica of the tree."""
        return self.agency_tree.is_within(agency_id, ancestor_id)

    def view(self, dossier: Dossier) -> DossierView:
        return DossierView.of(dossier)

    # --- procedure replicas (kept by the procedure-catalog consumer) ---

    def replicate_procedure(self, published: PublishedVersion) -> ProcedureReplica:
        """The replica with the published version added (pending events unsaved: the caller
        saves)."""
        fields = {k: v for k, v in vars(published).items() if k != "procedure_id"}
        replica = self.find(ProcedureReplica, published.procedure_id)
        if replica is None:
            fields.pop("superseded")
            return ProcedureReplica(procedure_id=published.procedure_id, **fields)
        replica.update(**fields)
        return replica

    def withdraw_procedure_version(
        self, procedure_id: UUID, version_number: int, effective_until: datetime, procedure_version: int
    ) -> list[ProcedureReplica]:
        """The replica with the version withdrawn (unsaved); none when the procedure was never
        replicated."""
        replica = self.find(ProcedureReplica, procedure_id)
        if replica is None:
            return []
        replica.withdraw(version_number, effective_until, procedure_version)
        return [replica]

    def get_procedure_replica(self, procedure_id: UUID, at: datetime | None = None) -> ProcedureReplicaView:
        """The latest published version, or the one in force at ``at``."""
        replica = self.load(ProcedureReplica, procedure_id)
        if at is None:
            return ProcedureReplicaView.of(replica)
        version = replica.in_force_at(at)
        if version is None:
            raise NotFound("procedure version in force", f"{procedure_id} at {at.isoformat()}")
        return ProcedureReplicaView.of(replica, version)

    # --- dossiers ---

    def get_calendar_replica(self, agency_id: str, year: int, calendar_version: int = 0) -> CalendarReplicaView:
        return self.calendars.get_calendar_replica(agency_id, year, calendar_version)

    def submit_dossier(self, submission: Submission) -> DossierView:
        """Submits a dossier numbered from its agency's sequence of the day (saved together).

        With a request id, the dossier id is derived from it: a repeated submission finds
        the dossier of the first one (to who may read it, as GetDossier), and two racing ones
        collide on its first version.
        A save that loses a race (for the number, or for the dossier id) is retried from a
        fresh read; only the winner's number is ever recorded, so numbers have no gaps.
        """
        auth.may_submit(current_actor(), submission.agency_id, submission.applicant.account_id, within=self.within)
        dossier_id = dossier_id_for_request(submission.request_id) if submission.request_id else uuid4()

        def attempt() -> DossierView:
            now = self.clock()
            day = local_date(now)
            with self._numbering.lock(DossierCodeSequence.id_for(submission.agency_id, day)):
                if submission.request_id:
                    existing = self.find(Dossier, dossier_id)
                    if existing is not None:
                        # Through GetDossier's own read check: a request id is no key to others'
                        # dossiers.
                        return self.get_dossier(existing.id)
                sequence = self._numbering_sequence(submission.agency_id, day)
                dossier = Dossier.submit(
                    dossier_id=dossier_id,
                    procedure_id=submission.procedure_id,
                    procedure=self.find(ProcedureReplica, submission.procedure_id),
                    sequence=sequence,
                    agency_id=submission.agency_id,
                    applicant=self.subjects.identified(submission.applicant),
                    channel=submission.channel,
                    result_delivery=submission.result_delivery,
                    documents=submission.documents,
                    submitted_at=now,
                    request_id=submission.request_id,
                )
                # Another replica may take the number (or save this request's dossier) first.
                self.save(sequence, dossier)
                self._numbered[sequence.id] = sequence
                return DossierView.of(dossier)

        return retried_on_version_conflict(
            attempt, self.max_submit_attempts, spread=True, on_conflict=self._count_submit_conflict
        )

    def _count_submit_conflict(self) -> None:
        self.submit_conflicts += 1

    def create_draft(self, submission: Submission) -> DossierView:
        auth.may_submit(current_actor(), submission.agency_id, submission.applicant.account_id, "save a draft",
                       within=self.within)
        account_id = submission.applicant.account_id
        # Counted on the register (kept in the same transaction as the log): concurrent drafts of
        # one account may pass the limit by the few saved at the same instant, never by more.
        if account_id and self.recorder.open_drafts(account_id) >= self.max_open_drafts:
            raise LimitExceeded(f"account {account_id}", "open drafts per applicant", self.max_open_drafts,
                                MAX_OPEN_DRAFTS_SETTING)
        dossier = Dossier.draft(
            dossier_id=uuid4(), procedure_id=submission.procedure_id, agency_id=submission.agency_id,
            applicant=self.subjects.identified(submission.applicant), channel=submission.channel,
            result_delivery=submission.result_delivery, documents=submission.documents, drafted_at=self.clock(),
        )
        self.save(dossier)
        return DossierView.of(dossier)

    def submit_draft(self, dossier_id: UUID, expected_version: int = 0) -> DossierView:
        """Numbers the draft from its agency's sequence of the day, saved together (as
        submit_dossier)."""
        actor = current_actor()

        def attempt() -> DossierView:
            dossier = self.load(Dossier, dossier_id, expected_version)
            auth.applicant_or_desk(actor, dossier, "submit the draft", self.within)
            now = self.clock()
            sequence = self._sequence(dossier.agency_id, local_date(now))
            self._numbered.pop(sequence.id, None)  # its next number is taken here, outside the numbering lock
            dossier.submit_draft(self.find(ProcedureReplica, dossier.procedure_id), sequence, now)
            self.save(sequence, dossier)
            return DossierView.of(dossier)

        return retried_on_version_conflict(attempt, self.max_submit_attempts, expected_version, spread=True)

    def get_dossier(self, dossier_id: UUID) -> DossierView:
        dossier = self.load(Dossier, dossier_id)
        auth.reader(current_actor(), dossier, "read the dossier", self.within)
        return DossierView.of(dossier)

    def receive_dossier(self, dossier_id: UUID, expected_version: int = 0, note: str = "") -> DossierView:
        """The desk accepts a submitted dossier; the appointed return date is set.

        With ``expected_version`` a concurrent change fails the call (ABORTED). Without it,
        the command is applied to the latest version: after a concurrent change it is
        checked again, so a racing second reception fails on the dossier's state.
        """
        actor = current_actor()

        def attempt() -> DossierView:
            dossier = self.load(Dossier, dossier_id, expected_version)
            auth.desk(actor, dossier, "receive the dossier", self.within)
            now = self.clock()
            dossier.receive(now, actor.subject, note, self.calendar_for(dossier.agency_id, now))
            self.save(dossier)
            return DossierView.of(dossier)

        return retried_on_version_conflict(attempt, self.max_receive_attempts, expected_version)

    # --- helpers ---

    def _numbering_sequence(self, agency_id: str, day: date) -> DossierCodeSequence:
        """Under the sequence's numbering lock: the sequence as this process last saved it, else as
        stored. Reading it from the log (a snapshot, then the numbers after it) was a third of a
        submission's reads; a copy another replica has since moved past fails the save on its
        version, like any lost race, and the retry reads it from the log."""
        kept = self._numbered.pop(DossierCodeSequence.id_for(agency_id, day), None)
        return kept if kept is not None else self._sequence(agency_id, day)

    def _sequence(self, agency_id: str, day: date) -> DossierCodeSequence:
        existing = self.find(DossierCodeSequence, DossierCodeSequence.id_for(agency_id, day))
        return existing if existing is not None else DossierCodeSequence.open(agency_id, day)
