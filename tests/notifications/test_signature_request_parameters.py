"""The officer's notice of a signature request, from the signing service's event: the title and
the expiry in Vietnam's time; none for a request heard of after it expired."""

from __future__ import annotations

import datetime as dt

import pytest

from motcua.kernel.consumer import PoisonMessage
from motcua.kernel.localtime import VIETNAM
from motcua.kernel.timestamps import timestamp
from motcua.notifications.consumers import signature_request_parameters
from motcua.signing.v1 import events_pb2

EXPIRES = dt.datetime(2026, 12, 7, 17, 5, tzinfo=dt.UTC)  # 00:05 on the 8th in Vietnam


def requested(**fields) -> events_pb2.SignatureRequested:
    return events_pb2.SignatureRequested(document_name="Giấy chứng nhận đăng ký hộ kinh doanh.pdf", **fields)


def test_the_title_and_the_local_expiry():
    parameters = signature_request_parameters(requested(expire_time=timestamp(EXPIRES)), VIETNAM,
                                              EXPIRES - dt.timedelta(minutes=15))
    assert parameters == {"document_name": "Giấy chứng nhận đăng ký hộ kinh doanh.pdf",
                          "expire_date": "08/12/2026", "expire_time": "00:05"}


def test_a_request_already_expired_makes_no_notice():
    assert signature_request_parameters(requested(expire_time=timestamp(EXPIRES)), VIETNAM, EXPIRES) is None


def test_an_event_without_expiry_is_poison():
    with pytest.raises(PoisonMessage):
        signature_request_parameters(requested(), VIETNAM, EXPIRES)
