"""What the dossiers tests share: one agency's office (a citizen and each role's officer, each
calling with a token of their own), a small PDF, and the check that a call fails with a status."""

from __future__ import annotations

import grpc
import pytest
from fpdf import FPDF

from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb
from motcua.dossiers.v1.dossier_service_pb2_grpc import DossierServiceStub
from motcua.identity.v1.role_pb2 import Role
from tests.support import auth
from tests.support.clients import dossiers_stub
from tests.support.dossiers import applicant, submit_request


class Office:
    """One agency's people, each with a token holding only their own role."""

    desk: DossierServiceStub
    specialist: DossierServiceStub
    head: DossierServiceStub
    leader: DossierServiceStub

    def __init__(self, addr: str, agency: str) -> None:
        self.addr = addr
        self.agency = agency
        citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Nguyễn Thị Hồng Nhung")
        self.citizen_id = citizen.account_id
        self.citizen = dossiers_stub(addr, citizen.access_token)
        self.people = {}
        for name, role in (("desk", Role.ROLE_DESK_OFFICER), ("specialist", Role.ROLE_SPECIALIST),
                           ("head", Role.ROLE_DEPARTMENT_HEAD), ("leader", Role.ROLE_LEADER)):
            token = auth.issue(roles=(role,), agency_id=agency)
            self.people[name] = token.account_id
            setattr(self, name, dossiers_stub(addr, token.access_token))

    def submit(self, procedure, **overrides) -> d.Dossier:
        request = submit_request(
            procedure.procedure_id, self.agency, applicant=applicant(account_id=self.citizen_id), **overrides
        )
        return self.citizen.SubmitDossier(request).dossier

    def received(self, procedure) -> d.Dossier:
        return self.desk.ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=self.submit(procedure).dossier_id)).dossier


def pdf() -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="Giay khai sinh - ban chinh")
    return bytes(document.output())


def fails_with(code: grpc.StatusCode, call, *args):
    with pytest.raises(grpc.RpcError) as failure:
        call(*args)
    assert failure.value.code() == code, failure.value.details()
    return failure.value
