"""Vietnam's time: the one-stop shop's dates (received on, appointed for, in force from) are
calendar days in Vietnam, whatever the server's own time zone (pure, no I/O).

A province's calendar may name another IANA zone (``motcua.clock``); this is the default and
what every service uses for the dates it writes or compares.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

VIETNAM_ZONE_NAME = "Asia/Ho_Chi_Minh"


def _vietnam() -> tzinfo:
    try:
        return ZoneInfo(VIETNAM_ZONE_NAME)
    except ZoneInfoNotFoundError:  # no tz database on the host: Vietnam keeps UTC+7 all year (no DST since 1975)
        return timezone(timedelta(hours=7), "ICT")


VIETNAM = _vietnam()


def local_date(moment: datetime, zone: tzinfo = VIETNAM) -> date:
    """The calendar date in ``zone`` (Vietnam) at an aware moment; ValueError for a naive one,
    whose zone nobody knows."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(zone).date()
