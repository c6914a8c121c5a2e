"""The life cycle of a dossier: its states, which action each state allows, and how a
finished dossier is counted. Pure (standard library only).

    draft ─submit─▶ submitted ─receive─▶ received ─assign/claim─▶ in_process ─▶ result_ready
        ─return─▶ returned ─rate
    submitted/received/in_process ─request supplement─▶ awaiting_supplement
        ─supplement─▶ (back where it was)
    submitted/received/in_process/awaiting_supplement ─refuse─▶ refused
    any open state ─withdraw─▶ withdrawn
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

DRAFT = "draft"
SUBMITTED = "submitted"
RECEIVED = "received"
IN_PROCESS = "in_process"
AWAITING_SUPPLEMENT = "awaiting_supplement"
RESULT_READY = "result_ready"
RETURNED = "returned"
REFUSED = "refused"
WITHDRAWN = "withdrawn"

# Actions, by the name the error messages use.
SUBMIT = "submit"
RECEIVE = "receive"
REQUEST_SUPPLEMENT = "request a supplement of"
SUPPLEMENT = "supplement"
REFUSE = "refuse"
ASSIGN = "assign"
COMPLETE_STEP = "complete a step of"
TRANSFER = "transfer"
APOLOGIZE = "issue an apology for"
MARK_RESULT_READY = "mark the result ready of"
RETURN = "return the result of"
WITHDRAW = "withdraw"
RATE = "rate"
PAY = "record a payment on"
ATTACH = "attach a file to"

ALLOWED: dict[str, frozenset[str]] = {
    SUBMIT: frozenset({DRAFT}),
    RECEIVE: frozenset({SUBMITTED}),
    REQUEST_SUPPLEMENT: frozenset({SUBMITTED, RECEIVED, IN_PROCESS}),
    SUPPLEMENT: frozenset({AWAITING_SUPPLEMENT}),
    REFUSE: frozenset({SUBMITTED, RECEIVED, IN_PROCESS, AWAITING_SUPPLEMENT}),
    ASSIGN: frozenset({RECEIVED, IN_PROCESS}),
    COMPLETE_STEP: frozenset({IN_PROCESS}),
    TRANSFER: frozenset({IN_PROCESS}),
    APOLOGIZE: frozenset({RECEIVED, IN_PROCESS, AWAITING_SUPPLEMENT}),
    MARK_RESULT_READY: frozenset({IN_PROCESS}),
    RETURN: frozenset({RESULT_READY}),
    WITHDRAW: frozenset({DRAFT, SUBMITTED, RECEIVED, IN_PROCESS, AWAITING_SUPPLEMENT}),
    RATE: frozenset({RETURNED}),
    # Fees are collected by the desk once it has accepted the dossier (not on a draft or an
    # unchecked submission), until the result is handed over.
    PAY: frozenset({RECEIVED, IN_PROCESS, AWAITING_SUPPLEMENT, RESULT_READY}),
    ATTACH: frozenset({DRAFT, SUBMITTED, AWAITING_SUPPLEMENT}),
}

# States in which the statutory clock runs (deadlines are watched).
CLOCK_RUNNING = frozenset({RECEIVED, IN_PROCESS})
CLOSED = frozenset({RETURNED, REFUSED, WITHDRAWN})

# How a finished dossier is counted (against the statutory due date, never the apology's).
EARLY = "early"
ON_TIME = "on_time"
LATE = "late"


def allows(state: str, action: str) -> bool:
    return state in ALLOWED[action]


def outcome(finished_at: datetime, due_at: datetime, local_day: Callable[[datetime], date]) -> str:
    """Early: finished on a day before the due date; on time: by the due time; late: after it."""
    if finished_at > due_at:
        return LATE
    due_day: date = local_day(due_at)
    return EARLY if local_day(finished_at) < due_day else ON_TIME
