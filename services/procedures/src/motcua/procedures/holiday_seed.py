"""Vietnam's public holidays and make-up working days of a year, from the `holidays` library.

Only a starting point for a new calendar: administrators correct it (the government
announces swaps and extra days off each year) before publishing.
"""

from __future__ import annotations

MAKEUP_NAME = "Làm bù (ngày nghỉ hoán đổi)"


def public_holidays(year: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(holidays, make-up working days) of ``year`` in the plain form, names in Vietnamese."""
    # Imported on the first seeding, not at start: its country tables hold about 4 MB that a
    # process needs only when an administrator seeds a new calendar.
    import holidays

    vietnam = holidays.country_holidays("VN", years=year, language="vi")
    days_off = [{"date": day.isoformat(), "name": name} for day, name in sorted(vietnam.items())]
    makeup = [
        {"date": day.isoformat(), "name": MAKEUP_NAME}
        for day in sorted(getattr(vietnam, "weekend_workdays", ()))
        if day.year == year
    ]
    return days_off, makeup
