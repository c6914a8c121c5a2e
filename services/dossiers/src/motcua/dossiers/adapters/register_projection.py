"""The dossier register: one row per dossier, kept from its events in their transaction.

Work queues, search, the citizens' status lookup, statistics and the tracking book read
it (``register_queries``). It is a projection of the log (kernel ``readmodel``): dropped
or truncated, ``rebuild`` derives the same rows again. Every value comes from an event,
never from the clock at projection time, so statistics are reproducible from the log.

Beside it, the supplements table keeps one row per supplement request (a dossier may
have several; statistics count requests, not dossiers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from motcua.dossiers.adapters.deadlines_table import DeadlineRecorder
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.dossier.attachments import AttachmentRules
from motcua.dossiers.domain.dossier.closing import ClosingRules
from motcua.dossiers.domain.dossier.processing import ProcessingRules
from motcua.dossiers.domain.erasure import SubjectErasures
from motcua.kernel.readmodel import Change, Computed, Projection, RowChange, RowsChange
from motcua.kernel.subject_keys import MASKED
from motcua.kernel.text import fold

COLUMNS = (
    "dossier_id uuid PRIMARY KEY, code text NOT NULL, agency_id text NOT NULL, handling_agency_id text NOT NULL, "
    "handling_unit text NOT NULL DEFAULT '', procedure_id uuid NOT NULL, procedure_version integer NOT NULL DEFAULT 0, "
    "procedure_name text NOT NULL DEFAULT '', applicant_kind text NOT NULL, applicant_name text NOT NULL, "
    "applicant_account_id text NOT NULL, applicant_phone text NOT NULL, applicant_address text NOT NULL, "
    "search_text text NOT NULL, channel text NOT NULL, result_delivery text NOT NULL, state text NOT NULL, "
    "assignee text NOT NULL DEFAULT '', step_index integer NOT NULL DEFAULT 0, created_at timestamptz NOT NULL, "
    "submitted_at timestamptz, received_at timestamptz, due_at timestamptz, coming_due_at timestamptz, "
    "appointed_at timestamptz, apologized boolean NOT NULL DEFAULT false, result_at timestamptz, "
    "finished_at timestamptz, refused_at timestamptz, withdrawn_at timestamptz, returned_at timestamptz, "
    "outcome text NOT NULL DEFAULT '', working_days integer, supplement_requests integer NOT NULL DEFAULT 0, "
    "rating integer, rated_at timestamptz, attachment_bytes bigint NOT NULL DEFAULT 0, version integer NOT NULL, "
    "applicant_subject text NOT NULL DEFAULT '', applicant_number_index text NOT NULL DEFAULT ''"
)
# The register's columns that hold the applicant's personal data, masked when they are erased.
PERSONAL_COLUMNS = ("applicant_name", "applicant_phone", "applicant_address")


def search_text(code: str, applicant_name: str) -> str:
    """What free text is matched against: the folded name, and the code in lower case."""
    return f"{fold(applicant_name)} {code.lower()}"


def _chain(*projections: Projection) -> Projection:
    def project(event: Any, position: int) -> Iterable[Change]:
        for projection in projections:
            yield from projection(event, position)
    return project


class DossierRecorder(DeadlineRecorder):
    """The dossiers service's recorder: the deadlines table and the dossier register."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.register = self.table("register")
        self.supplements = self.table("supplements")
        # A register from before attachment bytes were counted gets the column, then is rebuilt
        # from the log at start (rebuild_if_missing) so that the counts include earlier uploads.
        # So does one from before applicants' subjects were recorded (needed to find an erased
        # person's rows).
        self._register_lacks_bytes = self._lacks_column(
            f"{self.table_prefix}_register", "attachment_bytes"
        ) or self._lacks_column(f"{self.table_prefix}_register", "applicant_number_index")
        # The blind index of applicants' identification numbers (a keyed hash, so the register
        # holds no number in the clear): set by the application, which holds the key.
        self.number_index: Callable[[str], str] = lambda number: ""
        index = lambda name: Identifier(f"{self.table_prefix}_{name}")  # noqa: E731
        self.sql_create_statements += [
            SQL("CREATE TABLE IF NOT EXISTS {t} (" + COLUMNS + ")").format(t=self.register),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (agency_id, created_at DESC)").format(
                i=index("register_agency_idx"), t=self.register
            ),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (handling_agency_id, due_at)").format(
                i=index("register_queue_idx"), t=self.register
            ),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (code)").format(i=index("register_code_idx"), t=self.register),
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS attachment_bytes bigint NOT NULL DEFAULT 0").format(
                t=self.register
            ),
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS applicant_subject text NOT NULL DEFAULT ''").format(
                t=self.register
            ),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (applicant_subject)").format(
                i=index("register_subject_idx"), t=self.register
            ),
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS applicant_number_index text NOT NULL DEFAULT ''").format(
                t=self.register
            ),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (applicant_number_index)").format(
                i=index("register_number_idx"), t=self.register
            ),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (applicant_account_id, state)").format(
                i=index("register_applicant_idx"), t=self.register
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (dossier_id uuid NOT NULL, requested_at timestamptz NOT NULL, "
                "agency_id text NOT NULL, procedure_id uuid NOT NULL, during text NOT NULL, "
                "PRIMARY KEY (dossier_id, requested_at))"
            ).format(t=self.supplements),
        ]
        own: dict[str, Projection] = {
            get_topic(Dossier.Drafted): self._drafted,
            get_topic(Dossier.Submitted): self._submitted,
            get_topic(Dossier.DraftSubmitted): self._draft_submitted,
            get_topic(Dossier.Received): self._received,
            get_topic(ProcessingRules.SupplementRequested): self._supplement_requested,
            get_topic(ProcessingRules.Supplemented): self._supplemented,
            get_topic(ProcessingRules.Refused): self._set(
                state="'refused'", refused_at="refused_at", finished_at="refused_at"
            ),
            get_topic(ProcessingRules.Assigned): self._assigned,
            get_topic(ProcessingRules.StepCompleted): self._step_completed,
            get_topic(ProcessingRules.Transferred): self._set(
                assignee="''", handling_agency_id="to_agency_id", handling_unit="to_unit"
            ),
            get_topic(ProcessingRules.ApologyIssued): self._set(appointed_at="new_appointment_at", apologized="true"),
            get_topic(ProcessingRules.CameDue): self._set(),
            get_topic(ProcessingRules.BecameOverdue): self._set(),
            get_topic(ClosingRules.ResultReady): self._set(
                state="'result_ready'",
                result_at="ready_at",
                finished_at="ready_at",
                outcome="outcome",
                working_days="working_days",
            ),
            get_topic(ClosingRules.PaymentRecorded): self._set(),
            get_topic(ClosingRules.Returned): self._set(state="'returned'", returned_at="returned_at"),
            get_topic(ClosingRules.Withdrawn): self._set(
                state="'withdrawn'", withdrawn_at="withdrawn_at", finished_at="withdrawn_at"
            ),
            get_topic(ClosingRules.Rated): self._set(rating="score", rated_at="rated_at"),
            get_topic(AttachmentRules.AttachmentAdded): self._attachment_added,
            get_topic(Dossier.ApplicantDetailsCorrected): self._applicant_corrected,
            get_topic(SubjectErasures.Erased): self._subject_erased,
        }
        for topic, projection in own.items():
            existing = self.projections.get(topic)
            self.projections[topic] = _chain(existing, projection) if existing else projection

    def _lacks_column(self, table: str, column: str) -> bool:
        """True when ``table`` exists without ``column`` (an older deployment's table)."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT to_regclass(%(qualified)s) IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM information_schema.columns "
                "WHERE table_schema = %(schema)s AND table_name = %(table)s AND column_name = %(column)s) AS lacks",
                {
                    "qualified": f'"{self.datastore.schema}"."{table}"',
                    "schema": self.datastore.schema,
                    "table": table,
                    "column": column,
                },
            ).fetchone()
        assert row is not None  # a SELECT of one value, from no table: always one row
        return bool(row["lacks"])

    def attachment_bytes(self, applicant_account_id: str) -> int:
        """The bytes uploaded to this applicant account's dossiers, every state included."""
        rows = self.query(SQL("SELECT coalesce(sum(attachment_bytes), 0) AS total FROM {t} "
                              "WHERE applicant_account_id = %(account)s").format(t=self.register),
                          {"account": applicant_account_id})
        return int(rows[0]["total"])

    def subject_dossiers(self, subject_id: str) -> list[Any]:
        """The dossiers of a data subject, with what retention is decided on."""
        return self.query(SQL(
            "SELECT dossier_id, code, agency_id, procedure_id, state, returned_at, withdrawn_at, refused_at FROM {t} "
            "WHERE applicant_subject = %(subject)s ORDER BY created_at"
        ).format(t=self.register), {"subject": subject_id})

    def subjects_numbered(self, number_index: str) -> list[str]:
        """The subjects without an account whose dossiers' applicant has this number now (by
        its blind index): after a correction, the subject first filed under another number."""
        rows = self.query(SQL(
            "SELECT DISTINCT applicant_subject FROM {t} WHERE applicant_number_index = %(index)s "
            "AND applicant_subject LIKE 'person:%%'"
        ).format(t=self.register), {"index": number_index})
        return sorted(row["applicant_subject"] for row in rows)

    def open_drafts(self, applicant_account_id: str) -> int:
        """How many drafts of this applicant account are not submitted (or withdrawn) yet."""
        rows = self.query(
            SQL(
                "SELECT count(*) AS drafts FROM {t} WHERE applicant_account_id = %(account)s AND state = 'draft'"
            ).format(t=self.register),
            {"account": applicant_account_id},
        )
        return rows[0]["drafts"]

    def read_model_tables(self) -> list[Identifier]:
        return [*super().read_model_tables(), self.register, self.supplements]

    def rebuild_if_missing(self) -> bool:
        """Rebuilds when the register is empty beside a log of dossiers: e.g. a deployment
        whose deadlines table predates the register."""
        if self._register_lacks_bytes:
            self._register_lacks_bytes = False
            self.rebuild()
            return True
        rows = self.query(SQL("SELECT EXISTS (SELECT 1 FROM {t}) AS filled").format(t=self.register), {})
        if rows[0]["filled"]:
            return False
        with self.datastore.transaction(commit=False) as curs:
            if not self._select_projected(curs, 0, 1):
                return False
        self.rebuild()
        return True

    # --- projections ---------------------------------------------------------------------------
    # Each event changes rows by key (kernel ``RowChange``): one statement, its SQL built once per
    # shape, where events are written; folded in memory, each row written once, in a rebuild.

    def _row(self, event: Any, values: dict[str, Any]) -> RowChange:
        """The dossier's register row given ``values`` and the event's version."""
        return RowChange(self.register, {"dossier_id": event.originator_id},
                         {**values, "version": event.originator_version})

    def _insert(self, event: Any, applicant: dict[str, str], created_at: Any, **values: Any) -> RowChange:
        return RowChange(self.register, {"dossier_id": event.originator_id}, {
            "code": getattr(event, "code", ""),
            "agency_id": event.agency_id,
            "handling_agency_id": event.agency_id,
            "procedure_id": event.procedure_id,
            "procedure_version": getattr(event, "procedure_version", 0),
            "procedure_name": getattr(event, "procedure_name", ""),
            "applicant_kind": applicant["kind"],
            "applicant_name": applicant["full_name"],
            "applicant_account_id": applicant.get("account_id", ""),
            "applicant_phone": applicant.get("phone", ""),
            "applicant_address": applicant.get("address", ""),
            "search_text": search_text(getattr(event, "code", ""), applicant["full_name"]),
            "applicant_subject": applicant.get("subject_id", ""),
            "applicant_number_index": self._number_index(applicant.get("identity_number", "")),
            "channel": event.channel,
            "result_delivery": event.result_delivery,
            "created_at": created_at,
            "version": event.originator_version,
            **values,
        }, insert=True)

    def _attachment_added(self, event: Any, position: int) -> Iterable[Change]:
        size = event.size_bytes
        yield self._row(event, {"attachment_bytes": Computed(
            "attachment_bytes + %(_size)s", {"_size": size}, lambda row: row["attachment_bytes"] + size)})

    def _applicant_corrected(self, event: Any, position: int) -> Iterable[Change]:
        applicant = event.applicant
        folded = fold(applicant["full_name"])
        yield self._row(event, {
            "applicant_name": applicant["full_name"], "applicant_phone": applicant.get("phone", ""),
            "applicant_address": applicant.get("address", ""),
            "applicant_number_index": self._number_index(applicant.get("identity_number", "")),
            # rtrim trims spaces only, as rstrip(" ")
            "search_text": Computed("rtrim(%(_folded)s || ' ' || lower(code))", {"_folded": folded},
                                    lambda row: f"{folded} {row['code'].lower()}".rstrip(" "))})

    def _number_index(self, number: str) -> str:
        return self.number_index(number) if number and number != MASKED else ""

    def _subject_erased(self, event: Any, position: int) -> Iterable[Change]:
        # As a rebuild shows them from the log once the key is gone: masked name, phone and
        # address; the code alone still searchable. Counts and dates (statistics) stay.
        folded = fold(MASKED)
        yield RowsChange(self.register, "applicant_subject", event.subject_id, {
            **dict.fromkeys(PERSONAL_COLUMNS, MASKED), "applicant_number_index": "",
            "search_text": Computed("%(_folded)s || ' ' || lower(code)", {"_folded": folded},
                                    lambda row: f"{folded} {row['code'].lower()}")})

    def _drafted(self, event: Any, position: int) -> Iterable[Change]:
        yield self._insert(event, event.applicant, event.drafted_at, state="draft")

    def _submitted(self, event: Any, position: int) -> Iterable[Change]:
        yield self._insert(
            event, event.applicant, event.submitted_at, state="submitted", submitted_at=event.submitted_at
        )

    def _draft_submitted(self, event: Any, position: int) -> Iterable[Change]:
        # The draft's search text holds the folded name only: the code goes after it.
        code = event.code
        yield self._row(event, {
            "code": code, "procedure_version": event.procedure_version, "procedure_name": event.procedure_name,
            "submitted_at": event.submitted_at, "state": "submitted",
            "search_text": Computed("rtrim(search_text) || ' ' || lower(%(_code)s)", {"_code": code},
                                    lambda row: f"{row['search_text'].rstrip(' ')} {code.lower()}")})

    def _received(self, event: Any, position: int) -> Iterable[Change]:
        due = event.due_at or event.appointed_return_at
        yield self._row(event, {
            "state": "received",
            "received_at": event.received_at,
            "due_at": due,
            "coming_due_at": event.coming_due_at or due,
            "appointed_at": event.appointed_return_at,
        })

    def _supplement_requested(self, event: Any, position: int) -> Iterable[Change]:
        facts = event.facts
        yield self._row(event, {"state": "awaiting_supplement", "supplement_requests": Computed(
            "supplement_requests + 1", {}, lambda row: row["supplement_requests"] + 1)})
        yield RowChange(self.supplements, {"dossier_id": event.originator_id, "requested_at": event.requested_at},
                        {"agency_id": facts["agency_id"], "procedure_id": facts["procedure_id"],
                         "during": event.during}, insert=True)

    def _supplemented(self, event: Any, position: int) -> Iterable[Change]:
        values: dict[str, Any] = {"state": event.resumed_state}
        due = event.due_at
        if due is not None:  # the clock resumed or restarted: new statutory due date
            values["due_at"] = due
            values["coming_due_at"] = event.coming_due_at or due
            # greatest() passes over a NULL, as the fold does
            values["appointed_at"] = Computed(
                "CASE WHEN apologized THEN greatest(appointed_at, %(_due)s) ELSE %(_due)s END", {"_due": due},
                lambda row: max(row["appointed_at"] or due, due) if row["apologized"] else due)
        yield self._row(event, values)

    def _assigned(self, event: Any, position: int) -> Iterable[Change]:
        yield self._row(event, {"state": "in_process", "assignee": event.assignee, "handling_unit": event.unit})

    def _step_completed(self, event: Any, position: int) -> Iterable[Change]:
        values: dict[str, Any] = {"step_index": event.next_step["index"], "assignee": event.next_assignee}
        unit = event.next_step.get("unit") or ""
        if unit:  # a step naming no unit leaves the dossier with the unit it is in
            values["handling_unit"] = unit
        yield self._row(event, values)

    def _set(self, **columns: str) -> Callable[[Any, int], Iterable[Change]]:
        """Columns set from the event's attributes of those names (or SQL literals in quotes)."""
        literals = {column: _literal(source) for column, source in columns.items() if _is_literal(source)}
        sources = {column: source for column, source in columns.items() if not _is_literal(source)}

        def project(event: Any, position: int) -> Iterable[Change]:
            yield self._row(event, {**literals, **{c: getattr(event, s, None) for c, s in sources.items()}})
        return project


def _is_literal(source: str) -> bool:
    return source.startswith("'") or source in ("true", "false")


def _literal(source: str) -> Any:
    """An SQL literal's value: a quoted string, true or false."""
    return {"true": True, "false": False}.get(source, source.strip("'"))
