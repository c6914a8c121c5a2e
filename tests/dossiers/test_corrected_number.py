"""An applicant without an account whose identification number was corrected stays one data
subject (real processes: procedures, dossiers; PostgreSQL and Kafka): the pseudonym first filed
names their key, the register's search finds them by the new number, and an export or an
erasure by either number reaches every dossier of theirs, the corrected one included."""

from __future__ import annotations

import json
import random

import pytest

from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb
from tests.support.dossiers import applicant, submit_request
from tests.support.platform import erasing_dossiers
from tests.support.procedures import unique_code

from .office import Office
from .test_erasure import MASKED, published, rows_holding, seeded_person
from .test_subject_access import dpo


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory):
    with erasing_dossiers(stack, tmp_path_factory.mktemp("documents")) as processes:
        yield processes


def by_number(number: str) -> pb.PersonWithoutAccount:
    return pb.PersonWithoutAccount(kind=d.APPLICANT_KIND_CITIZEN, identity_number=number)


@pytest.mark.parametrize("erased_by", ["the number first filed", "the corrected number"])
def test_either_number_of_a_corrected_applicant_reaches_the_same_subject(stack, processes, erased_by):
    procedure = published(processes, unique_code())
    office = Office(processes["dossiers"], f"000.00.{random.randrange(100):02d}.K{random.randrange(100):02d}")
    person = seeded_person()
    filed = [office.desk.SubmitDossier(submit_request(
        procedure.procedure_id, office.agency, channel=d.SUBMISSION_CHANNEL_DESK, applicant=applicant(**person)
    )).dossier for _ in range(2)]
    officer = dpo(processes, office.agency)
    wrong, right = person["identity_number"], f"0793{random.randrange(10**6):06d}55"
    officer.CorrectApplicantDetails(pb.CorrectApplicantDetailsRequest(
        dossier_id=filed[0].dossier_id, reason="Số căn cước ghi nhầm", identity_number=right))

    # Officers find the corrected dossier by the new number, the other one still by the first.
    def found(number: str) -> set[str]:
        return {x.dossier_id for x in office.desk.ListDossiers(
            pb.ListDossiersRequest(agency_id=office.agency, query=number)).dossiers}

    assert found(right) == {filed[0].dossier_id}
    assert found(wrong) == {filed[1].dossier_id}

    # Exported by either number, the person is every dossier of theirs.
    ids = {x.dossier_id for x in filed}
    for number in (wrong, right):
        export = officer.ExportSubjectData(pb.ExportSubjectDataRequest(person=by_number(number)))
        assert export.dossiers == 2
        assert {x["dossier_id"] for x in json.loads(export.document)["dossiers"]} == ids

    # Erased by either number, both dossiers' data is gone, the corrected values too.
    for dossier in filed:
        office.desk.WithdrawDossier(pb.WithdrawDossierRequest(dossier_id=dossier.dossier_id, reason="Nộp nhầm"))
    number = wrong if erased_by == "the number first filed" else right
    erased = officer.EraseSubject(pb.EraseSubjectRequest(person=by_number(number), reason="Yêu cầu số 31/2026/YC"))
    assert erased.dossiers == 2
    for dossier in filed:
        shown = office.desk.GetDossier(pb.GetDossierRequest(dossier_id=dossier.dossier_id)).dossier.applicant
        assert (shown.full_name, shown.identity_number) == (MASKED, MASKED)
    for version in (person, {**person, "identity_number": right}):
        assert not rows_holding(stack, version, "SELECT * FROM dossiers_register")
