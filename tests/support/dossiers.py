"""Test data for dossiers: submissions, fresh agencies, the dossier code's shape."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from motcua.dossiers.v1 import dossier_pb2, dossier_service_pb2 as pb

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
CODE = re.compile(r"^(?P<agency>[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2})-(?P<day>[0-9]{6})-(?P<number>[0-9]{4})$")

_used_agencies: set[str] = set()


def fresh_agency() -> str:
    """An agency identifier not used before in this test session (its sequences start at 0001)."""
    while True:
        agency = f"000.00.{random.randrange(100):02d}.T{random.randrange(100):02d}"
        if agency not in _used_agencies:
            _used_agencies.add(agency)
            return agency


def today_in_vietnam() -> date:
    return datetime.now(UTC).astimezone(VIETNAM).date()


def applicant(**overrides) -> dossier_pb2.Applicant:
    fields: dict[str, Any] = {
        "kind": dossier_pb2.APPLICANT_KIND_CITIZEN,
        "full_name": "Nguyễn Thị Hồng Nhung",
        "identity_number": "079190012345",
        "phone": "0912345678",
        "address": "Số 12 đường Lê Lợi, phường Bến Thành, Thành phố Hồ Chí Minh",
    }
    fields.update(overrides)
    return dossier_pb2.Applicant(**fields)


def submit_request(procedure_id: str, agency_id: str, **overrides) -> pb.SubmitDossierRequest:
    fields: dict[str, Any] = {
        "procedure_id": procedure_id,
        "agency_id": agency_id,
        "applicant": applicant(),
        "channel": dossier_pb2.SUBMISSION_CHANNEL_ONLINE,
        "documents": [
            dossier_pb2.DossierDocument(name="Tờ khai đăng ký khai sinh", originals=1),
            dossier_pb2.DossierDocument(name="Giấy chứng sinh", originals=1, copies=1),
        ],
    }
    fields.update(overrides)
    return pb.SubmitDossierRequest(**fields)


def published_full_procedure(procedures_addr: str, dossiers_addr: str):
    """Publishes tests.support.procedures.full_create_request() and returns the dossiers
    service's copy of it, once the event has reached it."""
    from motcua.procedures.v1 import procedure_service_pb2 as ppb
    from tests.support.clients import dossiers_stub, procedures_stub
    from tests.support.procedures import full_create_request
    from tests.support.waiting import eventually

    created = procedures_stub(procedures_addr).CreateProcedure(full_create_request()).procedure
    procedures_stub(procedures_addr).PublishProcedure(ppb.PublishProcedureRequest(procedure_id=created.procedure_id))
    dossiers = dossiers_stub(dossiers_addr)
    request = pb.GetProcedureReplicaRequest(procedure_id=created.procedure_id)
    return eventually(lambda: dossiers.GetProcedureReplica(request).procedure, what="replica in dossiers")
