"""Properties of the statutory clock over generated receptions, durations and pauses
(2026 and 2027 calendars)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings, strategies as st

from motcua.clock import Pause, Reason, WorkingDays, WorkingHours, due, elapsed
from tests.support.calendars import VIETNAM, calendar_2026_2027

CAL = calendar_2026_2027()

receptions = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31, 23, 59)).map(
    lambda moment: moment.replace(second=0, microsecond=0, tzinfo=VIETNAM)
)
day_counts = st.integers(min_value=1, max_value=30)
minutes = st.integers(min_value=1, max_value=20 * 8 * 60)
durations = st.one_of(day_counts.map(WorkingDays), minutes.map(WorkingHours))


@st.composite
def pauses(draw, after: datetime) -> list[Pause]:
    """Up to three pauses starting within 40 days after ``after``, each up to 10 days long."""
    found = []
    for _ in range(draw(st.integers(0, 3))):
        start = after + timedelta(minutes=draw(st.integers(0, 40 * 24 * 60)))
        length = timedelta(minutes=draw(st.integers(1, 10 * 24 * 60)))
        found.append(Pause(start, start + length))
    return found


@st.composite
def cases(draw):
    received = draw(receptions)
    return received, draw(durations), draw(pauses(received))


def in_working_hours(moment: datetime) -> bool:
    return any(start < moment <= end for start, end in CAL.periods(moment.date()))


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_due_date_is_a_working_day_within_working_hours(case):
    received, duration, paused = case
    due_at = due(received, duration, CAL, paused).due_at
    assert CAL.is_working_day(due_at.date())
    assert due_at > received
    assert in_working_hours(due_at)
    if isinstance(duration, WorkingDays):
        assert due_at == CAL.periods(due_at.date())[-1][1]  # the end of that day's working hours


@settings(max_examples=200, deadline=None)
@given(receptions, day_counts, day_counts, st.data())
def test_monotone_in_working_days(received, a, b, data):
    paused = data.draw(pauses(received))
    shorter, longer = sorted((a, b))
    assert (
        due(received, WorkingDays(shorter), CAL, paused).due_at
        <= due(received, WorkingDays(longer), CAL, paused).due_at
    )
    if shorter < longer:
        assert (
            due(received, WorkingDays(shorter), CAL, paused).due_at
            < due(received, WorkingDays(longer), CAL, paused).due_at
        )


@settings(max_examples=200, deadline=None)
@given(receptions, minutes, minutes, st.data())
def test_monotone_in_working_hours(received, a, b, data):
    paused = data.draw(pauses(received))
    shorter, longer = sorted((a, b))
    assert (
        due(received, WorkingHours(shorter), CAL, paused).due_at
        <= due(received, WorkingHours(longer), CAL, paused).due_at
    )


@settings(max_examples=300, deadline=None)
@given(cases(), st.data())
def test_adding_a_pause_never_makes_the_due_date_earlier(case, data):
    received, duration, paused = case
    extra = data.draw(pauses(received))
    before = due(received, duration, CAL, paused).due_at
    assert due(received, duration, CAL, [*paused, *extra]).due_at >= before


@settings(max_examples=300, deadline=None)
@given(cases())
def test_elapsed_from_reception_to_due_is_the_duration(case):
    received, duration, paused = case
    deadline = due(received, duration, CAL, paused)
    spent = elapsed(received, deadline.due_at, CAL, paused)
    if isinstance(duration, WorkingDays):
        assert spent.working_days == duration.count
        # One minute before the end, the last day is not over yet.
        assert elapsed(received, deadline.due_at - timedelta(minutes=1), CAL, paused).working_days == duration.count - 1
    else:
        assert spent.working_time == duration.time


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_explanation_accounts_for_every_day_and_counts_the_duration(case):
    received, duration, paused = case
    deadline = due(received, duration, CAL, paused)
    explanation = deadline.explanation
    days = [note.day for note in explanation.days]
    assert days[0] == received.date() and days[-1] == deadline.due_at.date()
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))]  # every day, once, in order
    if isinstance(duration, WorkingDays):
        assert explanation.counted_days == duration.count
        assert [n.ordinal for n in explanation.days if n.ordinal] == list(range(1, duration.count + 1))
    else:
        assert explanation.counted_time == duration.time
    for note in explanation.days:
        if note.reason in (Reason.WEEKEND, Reason.HOLIDAY):
            assert not CAL.is_working_day(note.day)
        if note.reason is Reason.COUNTED:
            assert CAL.is_working_day(note.day)
            assert note.makeup == (note.day.weekday() >= 5)
        if note.reason is Reason.PAUSED:
            assert note.paused_time > timedelta(0)


@settings(max_examples=100, deadline=None)
@given(receptions, day_counts)
def test_without_pauses_working_days_are_weekdays_less_holidays_plus_make_up_days(received, count):
    deadline = due(received, WorkingDays(count), CAL)
    counted = [n.day for n in deadline.explanation.days if n.ordinal]
    holidays = {date.fromisoformat("2026-09-02"), date.fromisoformat("2026-02-17"), date.fromisoformat("2027-01-01")}
    assert not holidays & set(counted)
    assert all(day.weekday() < 5 or day == date(2026, 8, 22) for day in counted)
