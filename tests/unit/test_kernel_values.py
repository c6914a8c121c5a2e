"""The kernel's shared values: the agency identifier rule and Vietnam's calendar day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from motcua.kernel.agency_ids import AGENCY_ID_RULE, agency_id_violation, check_agency_id, is_agency_id
from motcua.kernel.errors import FieldViolation, InvalidArgument
from motcua.kernel.localtime import VIETNAM, local_date


@pytest.mark.parametrize("agency_id", ["000.00.12.H56", "000.00.00.H56", "123.45.67.T50"])
def test_well_formed_agency_ids(agency_id):
    assert is_agency_id(agency_id)
    assert agency_id_violation(agency_id) is None
    check_agency_id(agency_id)


@pytest.mark.parametrize(
    "agency_id",
    [
        "",
        "000.00.12.h56",
        "000.00.12.H5",
        "00.00.12.H56",
        "000-00-12-H56",
        "000.00.12.H56\n",
        " 000.00.12.H56",
        "Sở Tư pháp",
    ],
)
def test_malformed_agency_ids_are_refused_on_their_field(agency_id):
    assert not is_agency_id(agency_id)
    assert agency_id_violation(agency_id, "to_agency_id") == FieldViolation("to_agency_id", AGENCY_ID_RULE)
    with pytest.raises(InvalidArgument) as failure:
        check_agency_id(agency_id, "parent_agency_id", "must name the parent agency")
    assert failure.value.violations == (FieldViolation("parent_agency_id", "must name the parent agency"),)


def test_the_day_is_vietnams_whatever_the_servers_zone():
    assert local_date(datetime(2026, 1, 4, 16, 59, tzinfo=UTC)) == date(2026, 1, 4)
    assert local_date(datetime(2026, 1, 4, 17, 0, tzinfo=UTC)) == date(2026, 1, 5)
    assert datetime(2026, 7, 1, 12, tzinfo=VIETNAM).utcoffset().total_seconds() == 7 * 3600
    with pytest.raises(ValueError):
        local_date(datetime(2026, 1, 5, 8, 0))
