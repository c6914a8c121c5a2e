"""Who may send which notification to whom, and with which parameters (pure rules)."""

from __future__ import annotations

import uuid

import pytest

from motcua.kernel.context import Actor
from motcua.kernel.errors import InvalidArgument, PermissionDenied
from motcua.notifications import sending
from motcua.notifications.domain import DossierReplica

APPLICANT = uuid.uuid4()
DOSSIER = DossierReplica(dossier_id=uuid.uuid4(), code="000.00.21.H56-260302-0004", agency_id="000.00.21.H56",
                         handling_agency_id="", applicant_account_id=APPLICANT)
DESK = Actor(subject="can-bo-1", agency_id="000.00.21.H56", roles=("desk_officer",))
ADMIN = Actor(subject="quan-tri-1", agency_id="000.00.00.H56", roles=("administrator",))


def test_officers_fill_only_the_dossier_facts_the_template_uses():
    body = "Mời ông/bà đến nhận kết quả ngày {{ngay}}."
    sending.check_parameters("moi_nhan", "", body, {"ngay": "12/03/2026"})
    assert sending.parameters_for(DESK, DOSSIER, {"ngay": "12/03/2026"}, "", body) == {"ngay": "12/03/2026"}
    with_code = "Hồ sơ {{dossier_code}}: nhận kết quả ngày {{ngay}}."
    assert sending.parameters_for(DESK, DOSSIER, {"ngay": "12/03/2026"}, "", with_code)["dossier_code"] == DOSSIER.code
    with pytest.raises(InvalidArgument):
        sending.parameters_for(DESK, DOSSIER, {"dossier_code": "khác"}, "", with_code)
    assert sending.parameters_for(ADMIN, DOSSIER, {"dossier_code": "khác"}, "", with_code)["dossier_code"] == "khác"


def test_parameters_are_the_templates_placeholders_each_one_bounded_line():
    body = "Việc {{viec}}"
    for parameters in ({"khac": "x"}, {"viec": "a\u2028b"}, {"viec": "a\tb"}, {"viec": "a\u202eb"},
                       {"viec": "x" * (sending.MAX_PARAMETER_LENGTH + 1)}):
        with pytest.raises(InvalidArgument):
            sending.check_parameters("nhac_viec", "", body, parameters)
    sending.check_parameters("nhac_viec", "", body, {"viec": "Thẩm định hồ sơ đất đai – bước 2"})


def test_officers_notify_the_applicant_of_their_agencys_dossier_administrators_anybody():
    sending.check_sender(DESK, "moi_nhan", True, DOSSIER, APPLICANT, "")
    sending.check_sender(ADMIN, "dossier_received", False, None, None, "0912345678")
    for actor, key, named, dossier, recipient, address in [
        (DESK, "dossier_received", True, DOSSIER, APPLICANT, ""),
        (DESK, "moi_nhan", False, None, APPLICANT, ""),
        (DESK, "moi_nhan", True, DOSSIER, uuid.uuid4(), ""),
        (DESK, "moi_nhan", True, DOSSIER, APPLICANT, "0912345678"),
        (
            Actor(subject="can-bo-2", agency_id="000.00.22.H56", roles=("specialist",)),
            "moi_nhan",
            True,
            DOSSIER,
            APPLICANT,
            "",
        ),
        (Actor(subject="cong-dan", roles=("applicant",)), "moi_nhan", True, DOSSIER, APPLICANT, ""),
    ]:
        with pytest.raises(PermissionDenied):
            sending.check_sender(actor, key, named, dossier, recipient, address)


def test_about_a_dossier_administrators_and_officers_act_within_their_grants_subtrees():
    tree = {"000.00.21.H56": "000.00.00.H56", "000.00.22.H56": "000.00.00.H56"}

    def within(agency: str, ancestor: str) -> bool:
        while agency:
            if agency == ancestor:
                return True
            agency = tree.get(agency, "")
        return False

    commune_admin = Actor(subject="quan-tri-xa", agency_id="000.00.22.H56", roles=("administrator",))
    with pytest.raises(PermissionDenied) as refused:
        sending.check_sender(commune_admin, "moi_nhan", True, DOSSIER, APPLICANT, "", within=within)
    assert refused.value.error_reason == "AGENCY_SCOPE"
    sending.check_sender(ADMIN, "moi_nhan", True, DOSSIER, APPLICANT, "", within=within)  # the province's
    province_desk = Actor(subject="can-bo-tinh", agency_id="000.00.00.H56", roles=("desk_officer",))
    sending.check_sender(province_desk, "moi_nhan", True, DOSSIER, APPLICANT, "", within=within)
    with pytest.raises(PermissionDenied):  # without the tree, a grant reaches its own agency only
        sending.check_sender(province_desk, "moi_nhan", True, DOSSIER, APPLICANT, "")
