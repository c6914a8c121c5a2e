"""The auditor API's plain state: the JSON values of an aggregate's public attributes, built in
one walk, exactly as encoding them to JSON text (with the API's fallback) and parsing it back."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from motcua.kernel.audit_api import _plain, plain_state, public_attributes


class Outcome(enum.Enum):
    GRANTED = "granted"


class Step(enum.IntEnum):
    RECEIVE = 3


class Channel(str, enum.Enum):
    ONLINE = "online"


@dataclass
class Handover:
    officer: str
    at: datetime


class Address:
    def __init__(self) -> None:
        self.line = "Số 12 đường Lê Lợi, phường Bến Thành"
        self._cached = "hidden"


class Tag(str):
    pass


class Dossier:
    def __init__(self) -> None:
        self.code = "000.00.12.H56-260302-0001"
        self.applicant = {"full_name": "Nguyễn Thị Hồng Nhung", "born": date(1990, 1, 2)}
        self.handovers = [Handover("officer-1", datetime(2026, 3, 2, 8, 30, tzinfo=UTC))] * 3
        self.keys = {1: "one", 2.5: (1, 2), None: "none", False: "no", "ids": {uuid.UUID(int=9), uuid.UUID(int=2)}}
        self.fee = Decimal("150000.50")
        self.digest = b"\x00\xff"
        self.kinds = [Outcome.GRANTED, Step.RECEIVE, Channel.ONLINE, Tag("nhãn")]
        self.address = Address()
        self.ratio = 0.75
        self.rating = None
        self.flagged = True
        self._private = "not shown"


def test_the_walk_gives_what_the_json_round_trip_gave():
    dossier = Dossier()
    through_text = json.loads(json.dumps(public_attributes(dossier), default=_plain, ensure_ascii=False))

    walked = plain_state(dossier)

    assert walked == through_text
    assert json.dumps(walked, ensure_ascii=False) == json.dumps(through_text, ensure_ascii=False)
    assert walked["applicant"]["full_name"] == "Nguyễn Thị Hồng Nhung"
    assert "_private" not in walked
