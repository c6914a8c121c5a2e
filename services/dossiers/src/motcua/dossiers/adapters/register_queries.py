"""Reading the dossier register: lists and search, work queues, the status lookup,
statistics and the tracking book's lines. Plain rows and values out; who may ask is the
application's concern (it narrows the filters to the caller's agency or account).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composed

from motcua.dossiers.adapters.register_projection import DossierRecorder
from motcua.kernel.paging import PageQuery, invalid_page_token
from motcua.kernel.text import fold

OPEN_STATES = ("submitted", "received", "in_process", "awaiting_supplement", "result_ready")
CLOCK_RUNNING = ("received", "in_process")
MIN_PHONE_DIGITS = 8


@dataclass(frozen=True)
class Filters:
    """What a list is narrowed to; empty fields do not narrow it."""

    agency_id: str = ""  # received by this agency
    # Received or handled by one of these agencies (an officer's or administrator's view: their
    # grants' subtrees); None for no narrowing.
    visible_to_agencies: tuple[str, ...] | None = None
    applicant_account_id: str = ""  # an applicant's own dossiers
    procedure_id: UUID | None = None
    state: str = ""
    query: str = ""  # a code (or its start), or words of the applicant's name
    received_after: datetime | None = None
    received_before: datetime | None = None
    handling_agency_id: str = ""  # work queues
    handling_unit: str = ""
    assignee: str = ""
    open_only: bool = False
    coming_due_at: datetime | None = None  # coming due at this moment, not yet due
    overdue_at: datetime | None = None  # due before this moment with the clock running


# The sort key of dossiers without a due date when the soonest due come first (PostgreSQL's
# text of 'infinity'::timestamptz).
NO_DUE_DATE = "infinity"


def page_query(filters: Filters, soonest_due: bool) -> PageQuery:
    """The list's query as its page tokens know it. The two "due at" filters are the moment of
    each call, so only whether they are set is part of it: a token stays good on the next call."""
    return PageQuery(
        "dossiers",
        {
            **asdict(filters),
            "coming_due_at": filters.coming_due_at is not None,
            "overdue_at": filters.overdue_at is not None,
        },
        "soonest_due" if soonest_due else "newest",
    )


def page_position(query: PageQuery, page_token: str) -> tuple[datetime | str, UUID] | None:
    """Where the previous page ended (its last row's sort key and id), checked here so that a
    hand-made token is refused on ``page_token`` rather than failing in PostgreSQL."""
    after = query.position(page_token, str, str)
    if after is None:
        return None
    sort_key, dossier_id = after
    try:
        moment: datetime | str = sort_key if sort_key == NO_DUE_DATE else datetime.fromisoformat(sort_key)
        position = moment, UUID(dossier_id)
    except ValueError:
        raise invalid_page_token() from None
    if isinstance(moment, datetime) and moment.tzinfo is None:
        raise invalid_page_token()  # every sort key this list writes has its offset
    return position


def phone_digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


# What an identification number looks like in a search: a citizen's 9 or 12 digits, a tax
# code's 10 or 13 (with its dash dropped).
IDENTITY_NUMBER = re.compile(r"[0-9]{9,14}")


class DossierRegister:
    """Queries over the register tables of ``recorder``."""

    def __init__(self, recorder: DossierRecorder) -> None:
        self.recorder = recorder

    # --- lists ----------------------------------------------------------------------------

    def page(
        self, filters: Filters, page_token: str, limit: int, soonest_due: bool = False
    ) -> tuple[list[dict[str, Any]], str]:
        """One page of rows, newest first (or soonest due first), and the next page's token."""
        sort = SQL("coalesce(due_at, 'infinity'::timestamptz)") if soonest_due else SQL("created_at")
        conditions, params = self._conditions(filters)
        query = page_query(filters, soonest_due)
        after = page_position(query, page_token)
        if after is not None:
            conditions.append(SQL("({s}, dossier_id) {op} (%(after_key)s::timestamptz, %(after_id)s)").format(
                s=sort, op=SQL(">") if soonest_due else SQL("<")))
            params.update(after_key=after[0], after_id=after[1])
        direction = SQL("ASC") if soonest_due else SQL("DESC")
        rows = self.recorder.query(SQL(
            "SELECT *, ({s})::text AS sort_key FROM {t} WHERE {w} ORDER BY {s} {d}, dossier_id {d} LIMIT %(limit)s"
        ).format(s=sort, t=self.recorder.register, w=SQL(" AND ").join(conditions) if conditions else SQL("true"),
                 d=direction), {**params, "limit": limit + 1})
        if len(rows) > limit:
            last = rows[limit - 1]
            return rows[:limit], query.token([last["sort_key"], str(last["dossier_id"])])
        return rows, ""

    def _conditions(self, f: Filters) -> tuple[list[Composed | SQL], dict[str, Any]]:
        conditions: list[Composed | SQL] = []
        params: dict[str, Any] = {}

        def equal(column: str, value: Any) -> None:
            if value:
                conditions.append(SQL("{} = %({})s").format(SQL(column), SQL(column)))
                params[column] = value

        equal("agency_id", f.agency_id)
        equal("applicant_account_id", f.applicant_account_id)
        equal("procedure_id", f.procedure_id)
        equal("state", f.state)
        equal("handling_agency_id", f.handling_agency_id)
        equal("handling_unit", f.handling_unit)
        equal("assignee", f.assignee)
        if f.visible_to_agencies is not None:
            conditions.append(SQL("(agency_id = ANY(%(visible)s) OR handling_agency_id = ANY(%(visible)s))"))
            params["visible"] = list(f.visible_to_agencies)
        if f.open_only:
            conditions.append(SQL("state = ANY(%(open)s)"))
            params["open"] = list(OPEN_STATES)
        if f.received_after is not None:
            conditions.append(SQL("received_at >= %(received_after)s"))
            params["received_after"] = f.received_after
        if f.received_before is not None:
            conditions.append(SQL("received_at < %(received_before)s"))
            params["received_before"] = f.received_before
        if f.coming_due_at is not None:
            conditions.append(SQL("state = ANY(%(running)s) AND coming_due_at <= %(coming)s AND due_at >= %(coming)s"))
            params.update(running=list(CLOCK_RUNNING), coming=f.coming_due_at)
        if f.overdue_at is not None:
            conditions.append(SQL("state = ANY(%(running)s) AND due_at < %(overdue)s"))
            params.update(running=list(CLOCK_RUNNING), overdue=f.overdue_at)
        words = fold(f.query).split()
        if len(words) == 1 and IDENTITY_NUMBER.fullmatch(words[0]) and (number := self.recorder.number_index(words[0])):
            # One word shaped like an identification number: found by its blind index too.
            conditions.append(SQL("(applicant_number_index = %(number)s OR search_text LIKE %(w0a)s "
                                  "OR search_text LIKE %(w0b)s)"))
            escaped = words[0].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.update(number=number, w0a=f"{escaped}%", w0b=f"% {escaped}%")
            words = []
        for i, word in enumerate(words):
            # Each word starts a word of the name, or the code (LIKE's wildcards escaped).
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(
                SQL("(search_text LIKE %({a})s OR search_text LIKE %({b})s)").format(a=SQL(f"w{i}a"), b=SQL(f"w{i}b"))
            )
            params[f"w{i}a"] = f"{escaped}%"
            params[f"w{i}b"] = f"% {escaped}%"
        return conditions, params

    # --- the citizens' lookup -----------------------------------------------------------------

    def status(self, code: str, phone: str) -> dict[str, Any] | None:
        """The row of the dossier with this code, if the phone matches the applicant's."""
        rows = self.recorder.query(
            SQL("SELECT * FROM {t} WHERE code = %(code)s").format(t=self.recorder.register), {"code": code}
        )
        digits = phone_digits(phone)
        for row in rows:
            known = phone_digits(row["applicant_phone"])
            if len(known) >= MIN_PHONE_DIGITS and hmac.compare_digest(known.encode(), digits.encode()):
                return row
        return None

    def dossier_id_of(self, code: str) -> UUID | None:
        """The id of the dossier with this code (the auditors' history by code), or None."""
        rows = self.recorder.query(
            SQL("SELECT dossier_id FROM {t} WHERE code = %(code)s").format(t=self.recorder.register), {"code": code}
        )
        return UUID(str(rows[0]["dossier_id"])) if rows and code else None

    # --- statistics and the tracking book ---------------------------------------------------------

    def statistics(
        self, agency_id: str, procedure_id: UUID | None, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """Counts and sums per procedure of dossiers received by the agency, over [start, end)."""
        within = "{c} >= %(start)s AND {c} < %(end)s"

        def during(column: str, extra: str = "") -> str:
            return "(" + within.format(c=column) + (f" AND {extra}" if extra else "") + ")"

        narrowed = "agency_id = %(agency)s" + (" AND procedure_id = %(procedure)s" if procedure_id else "")
        statement = SQL(
            "SELECT procedure_id, "
            f"count(*) FILTER (WHERE {during('received_at')}) AS received, "
            f"count(*) FILTER (WHERE {during('received_at', 'channel = %(online)s')}) AS received_online, "
            f"count(*) FILTER (WHERE {during('received_at', 'channel = %(desk)s')}) AS received_at_desk, "
            f"count(*) FILTER (WHERE {during('received_at', 'channel = %(postal)s')}) AS received_by_post, "
            "count(*) FILTER (WHERE received_at < %(end)s AND (finished_at IS NULL OR finished_at >= %(end)s))"
            " AS in_process, "
            f"count(*) FILTER (WHERE {during('result_at', 'outcome = %(early)s')}) AS finished_early, "
            f"count(*) FILTER (WHERE {during('result_at', 'outcome = %(on_time)s')}) AS finished_on_time, "
            f"count(*) FILTER (WHERE {during('result_at', 'outcome = %(late)s')}) AS finished_late, "
            f"count(*) FILTER (WHERE {during('refused_at')}) AS refused, "
            f"count(*) FILTER (WHERE {during('withdrawn_at')}) AS withdrawn, "
            f"coalesce(sum(working_days) FILTER (WHERE {during('result_at')}), 0) AS working_days_sum, "
            f"count(working_days) FILTER (WHERE {during('result_at')}) AS working_days_count, "
            f"coalesce(sum(rating) FILTER (WHERE {during('rated_at')}), 0) AS rating_sum, "
            f"count(rating) FILTER (WHERE {during('rated_at')}) AS ratings "
            f"FROM {{t}} WHERE {narrowed} GROUP BY procedure_id"
        ).format(t=self.recorder.register)
        params = {"agency": agency_id, "procedure": procedure_id, "start": start, "end": end, "online": "online",
                  "desk": "desk", "postal": "postal", "early": "early", "on_time": "on_time", "late": "late"}
        counted = {
            row["procedure_id"]: {**row, "supplement_requests": 0} for row in self.recorder.query(statement, params)
        }
        supplements = self.recorder.query(
            SQL(
                "SELECT procedure_id, count(*) AS requests FROM {t} "
                f"WHERE {narrowed} AND {within.format(c='requested_at')} "
                "GROUP BY procedure_id"
            ).format(t=self.recorder.supplements),
            params,
        )
        for row in supplements:
            counted.setdefault(row["procedure_id"], {"procedure_id": row["procedure_id"]})["supplement_requests"] = row[
                "requests"
            ]
        return sorted(counted.values(), key=lambda r: str(r["procedure_id"]))

    def received_between(self, agency_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The tracking book's dossiers: received by the agency over [start, end), in order."""
        return self.recorder.query(
            SQL(
                "SELECT * FROM {t} WHERE agency_id = %(agency)s AND received_at >= %(start)s AND received_at < %(end)s "
                "ORDER BY received_at, code"
            ).format(t=self.recorder.register),
            {"agency": agency_id, "start": start, "end": end},
        )

    def all_rows(self) -> dict[int, list[dict[str, Any]]]:
        """Every row of every read-model table, in a stable order (to compare rebuilds)."""
        return {
            i: self.recorder.query(SQL("SELECT * FROM {t} ORDER BY 1, 2").format(t=table), {})
            for i, table in enumerate(self.recorder.read_model_tables())
        }
