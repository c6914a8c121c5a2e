"""The agency identifier (mã định danh điện tử của cơ quan, e.g. ``000.00.12.H56``): one
rule for every service (pure, no I/O).

The electronic identifier of an agency is three digits, two, two, then a letter and two
digits (the province's code, H56 for Thanh Hóa), dot-separated. Every service checks agency
ids in requests, events and configuration with these, so they all accept and refuse the same.
"""

from __future__ import annotations

import re

from .errors import FieldViolation, InvalidArgument

AGENCY_ID_PATTERN = re.compile(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}")
AGENCY_ID_RULE = "must be an agency electronic identifier such as 000.00.12.H56"


def is_agency_id(value: str) -> bool:
    # fullmatch: `$` would let a trailing newline through.
    return AGENCY_ID_PATTERN.fullmatch(value) is not None


def agency_id_violation(value: str, field: str = "agency_id", rule: str = AGENCY_ID_RULE) -> FieldViolation | None:
    """The violation of ``field`` holding ``value``, or None for a well-formed agency id; for
    checks that collect every violation of a request before refusing it."""
    return None if is_agency_id(value) else FieldViolation(field, rule)


def check_agency_id(value: str, field: str = "agency_id", rule: str = AGENCY_ID_RULE) -> None:
    """InvalidArgument on ``field`` unless ``value`` is a well-formed agency id."""
    violation = agency_id_violation(value, field, rule)
    if violation is not None:
        raise InvalidArgument(violation)
