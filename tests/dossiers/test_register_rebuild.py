"""The register, its supplements and the deadlines rebuilt from the log are the tables the
events built as they were written (in-process on the session's PostgreSQL): January's history
of test_register plus a draft submitted, an attachment, a step handed on, a transfer, an answered
supplement after an apology, an applicant's corrected Vietnamese name, and a person erased (their
key destroyed, their rows masked). Rebuilt with every row held in memory, and again writing the
rows out every few (so that rows are read back and replaced, and the erasure reaches rows already
written)."""

from __future__ import annotations

import uuid

import pytest

from motcua.dossiers.application.views import PublishedVersion, Submission
from motcua.dossiers.domain.erasure import SubjectErasures
from motcua.dossiers.domain.values import Applicant, Document
from motcua.kernel import readmodel
from motcua.kernel.subject_keys import MASKED

from .test_register import AGENCY, clock, finish, history, office, received, submit, vn  # noqa: F401
from .test_register_api import png

CORRECTED = "Nguyễn Thị Hồng Nhung Điệp"
TWO_STEPS = {
    "processing_time": {"value": 5, "unit": "working_days"},
    "required_documents": [{"name": "Tờ khai", "originals": 1, "copies": 0}],
    "steps": [{"name": "Thẩm định", "role": "specialist", "unit": "Phòng Tư pháp", "share": 0.6},
              {"name": "Phê duyệt", "role": "department_head", "unit": "Văn phòng UBND", "share": 0.4}],
    "supplement_rule": "resume",
}


@pytest.fixture
def more_history(office, clock, history):  # noqa: F811
    procedure, other = history["procedure"], history["other"]
    two_steps = uuid.uuid4()
    office.save(office.replicate_procedure(PublishedVersion(two_steps, "1.000004.000.00.00.H56", "Cấp giấy phép",
                                                            AGENCY, 5, 1, terms=TWO_STEPS)))
    clock.now = vn(2026, 1, 12, 8, 0)
    draft = office.create_draft(Submission(
        procedure_id=two_steps, agency_id=AGENCY, channel="online",
        applicant=Applicant(kind="citizen", full_name="Hoàng Thị Yến", identity_number="038190005678",
                            phone="0987 654 321"),
        documents=(Document("Tờ khai", 1, 0),)))
    clock.now = vn(2026, 1, 12, 8, 30)
    submitted = office.submit_draft(draft.dossier_id)
    office.add_attachment(submitted.dossier_id, "tờ khai.png", png())
    office.receive_dossier(submitted.dossier_id)
    clock.now = vn(2026, 1, 12, 9, 0)
    office.claim_dossier(submitted.dossier_id, 0)
    office.complete_step(submitted.dossier_id, 0, "Đã thẩm định", "officer-2")

    moved = received(office, clock, procedure, vn(2026, 1, 12, 10, 0), name="Bùi Quang Huy").dossier_id
    clock.now = vn(2026, 1, 12, 11, 0)
    office.claim_dossier(moved, 0)
    office.transfer_dossier(moved, 0, "000.00.32.H56", "Phòng Tài nguyên", "Sai thẩm quyền")

    answered = received(office, clock, other, vn(2026, 1, 13, 9, 0), name="Đặng Thu Hà").dossier_id
    clock.now = vn(2026, 1, 13, 10, 0)
    office.issue_apology(answered, 0, "Chờ xác minh", vn(2026, 1, 30, 17, 0))
    office.request_supplement(answered, 0, [{"document": "Tờ khai", "problem": "Mờ"}])
    clock.now = vn(2026, 1, 14, 9, 0)
    office.supplement_dossier(answered, 0, [{"name": "Tờ khai", "originals": 1, "copies": 0}], "Đã bổ sung")

    clock.now = vn(2026, 1, 14, 10, 0)
    office.correct_applicant_details(submitted.dossier_id, {"full_name": CORRECTED}, "Sai chính tả")

    # The history's applicants share one identification number: one person, all their rows masked.
    erased = office.get_dossier(history["on_time"]).applicant
    subject = office.subjects.of(erased)
    erasures = SubjectErasures.open(subject)
    erasures.erase("Yêu cầu của chủ thể", [history["on_time"]], clock.now)
    office.save(erasures)
    office.subject_keys.destroy(subject, "dpo-1", "Yêu cầu của chủ thể")
    return {**history, "draft": submitted.dossier_id, "moved": moved, "answered": answered}


def _register(office, dossier_id):  # noqa: F811
    return next(r for r in office.register.all_rows()[1] if r["dossier_id"] == dossier_id)


def test_the_rebuilt_tables_are_the_tables_the_events_built(office, more_history, monkeypatch):  # noqa: F811
    live = office.register.all_rows()
    assert _register(office, more_history["draft"])["applicant_name"] == CORRECTED
    erased = _register(office, more_history["on_time"])
    assert (erased["applicant_name"], erased["applicant_phone"], erased["applicant_number_index"]) == \
        (MASKED, MASKED, "")
    assert _register(office, more_history["draft"])["attachment_bytes"] > 0
    assert _register(office, more_history["answered"])["apologized"]
    assert len(live[2]) == 2  # two supplement requests

    assert office.recorder.rebuild() > 40
    assert office.register.all_rows() == live

    monkeypatch.setattr(readmodel, "ROWS_IN_MEMORY", 3)
    office.recorder.rebuild()
    assert office.register.all_rows() == live


def test_a_rebuild_with_no_event_leaves_the_tables_empty(office):  # noqa: F811
    assert office.recorder.rebuild() == 0
    assert all(rows == [] for rows in office.register.all_rows().values())
