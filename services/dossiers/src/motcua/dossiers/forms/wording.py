"""Dates, times and fixed words as Vietnamese administrative documents write them."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from motcua.dossiers.domain.values import DESK, ONLINE, POSTAL
from motcua.kernel.localtime import VIETNAM

from .model import EARLY, LATE, ON_TIME

OUTCOME_WORDS = {EARLY: "Trước hạn", ON_TIME: "Đúng hạn", LATE: "Quá hạn"}


def composed(text: str) -> str:
    """Text in composed form (NFC): one glyph per Vietnamese letter, whatever the input's form
    (macOS and some keyboards send decomposed letters with combining marks)."""
    return unicodedata.normalize("NFC", text)


def local(moment: datetime) -> datetime:
    return moment.astimezone(VIETNAM)


def _day_and_month(day: date) -> tuple[str, str]:
    # Official documents write days below 10 and the months January and February with a
    # leading zero, and the other months without one: "ngày 05 tháng 3", "ngày 12 tháng 01".
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{day.day:02d}", month


def long_date(day: date) -> str:
    """``ngày 05 tháng 01 năm 2026``."""
    d, m = _day_and_month(day)
    return f"ngày {d} tháng {m} năm {day.year}"


def place_and_date(place: str, day: date) -> str:
    """The date line under the national motto: ``Đông Sơn, ngày 05 tháng 01 năm 2026``."""
    return f"{place}, {long_date(day)}" if place.strip() else long_date(day).capitalize()


def clock_and_date(moment: datetime) -> str:
    """``08 giờ 30 phút, ngày 05 tháng 01 năm 2026`` in Vietnam's local time."""
    at = local(moment)
    return f"{at:%H} giờ {at:%M} phút, {long_date(at.date())}"


def short_date(moment: datetime) -> str:
    """``05/01/2026`` (local date), for tables."""
    return f"{local(moment):%d/%m/%Y}"


def short_clock_and_date(moment: datetime) -> str:
    """``08:30 05/01/2026`` (local), for tables."""
    return f"{local(moment):%H:%M %d/%m/%Y}"


def delivery_words(method: str, desk: str) -> str:
    """Where the applicant chose to receive the result."""
    words = {
        DESK: f"{desk} (nhận trực tiếp)",
        POSTAL: "Dịch vụ bưu chính công ích (gửi đến địa chỉ của người nộp)",
        ONLINE: "Trực tuyến, trên Cổng Dịch vụ công",
    }
    if method not in words:
        raise ValueError(f"result delivery must be one of {', '.join(words)}")
    return words[method]
