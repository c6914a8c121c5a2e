"""Test data for working-day calendars: the 2026 seed file, a 2027 year, plain and parsed forms."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from motcua.clock import WorkingCalendar, YearCalendar, parse_year_calendar
from motcua.devstack import repo_root

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SEED_2026 = repo_root() / "infra/local/seed/calendar-2026.json"


def plain_2026() -> dict:
    """The seed file in the API's plain form (working hours as {start, end})."""
    data = json.loads(SEED_2026.read_text(encoding="utf-8"))
    data["working_hours"] = [{"start": start, "end": end} for start, end in data["working_hours"]]
    data.pop("note", None)
    return data


def plain_2027() -> dict:
    """A smaller 2027: New Year's Day and Tết 2027 (5–9 February)."""
    data = copy.deepcopy(plain_2026())
    data["year"] = 2027
    data["holidays"] = [{"date": "2027-01-01", "name": "Tết Dương lịch"}] + [
        {"date": f"2027-02-{day:02d}", "name": "Tết Nguyên đán"} for day in range(5, 10)
    ]
    data["makeup_working_days"] = []
    return data


def year_2026(version: int = 1) -> YearCalendar:
    return parse_year_calendar(plain_2026(), version=version)


def calendar_2026() -> WorkingCalendar:
    return WorkingCalendar([year_2026()])


def calendar_2026_2027() -> WorkingCalendar:
    return WorkingCalendar([year_2026(), parse_year_calendar(plain_2027())])


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM)
