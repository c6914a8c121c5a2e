"""The dossiers' personal-data rules, pure: who the data subject is, when retention still
applies, and the erasure record."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from motcua.dossiers.application.personal_data import DossierStillOpen, Retention, RetentionApplies, Subjects
from motcua.dossiers.domain.erasure import SubjectErasures
from motcua.dossiers.domain.values import Applicant

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def row(state: str, finished: datetime | None = None, code: str = "X-1", procedure_code: str = "1.001") -> dict:
    return {"state": state, "returned_at": finished, "withdrawn_at": None, "refused_at": None, "code": code,
            "procedure_code": procedure_code}


def test_subjects_are_accounts_or_keyed_pseudonyms_of_the_number_as_normalised():
    subjects = Subjects(b"k" * 32)
    assert subjects.of(Applicant("citizen", "Lê Văn A", "079 190-012345", account_id="a1")) == "account:a1"
    person = subjects.of(Applicant("citizen", "Lê Văn A", "079 190-012345"))
    assert person == subjects.of_person("citizen", "079190012345") and "079190012345" not in person
    assert person != Subjects(b"j" * 32).of_person("citizen", "079190012345")
    assert person != subjects.of_person("business", "079190012345")
    assert subjects.number_index("079190012345") not in (person, subjects.number_index("079190012346"))


def test_retention_refuses_open_dossiers_then_names_the_latest_end_still_to_come():
    retention = Retention(0, {"1.kept": 10})
    retention.check([row("draft"), row("returned", datetime(2020, 1, 1, tzinfo=UTC))], NOW)
    with pytest.raises(DossierStillOpen, match="X-2"):
        retention.check([row("received", code="X-2")], NOW)
    with pytest.raises(RetentionApplies, match="2030-03-01") as refused:
        retention.check([row("returned", datetime(2020, 3, 1, 1, tzinfo=UTC), "A", "1.kept"),
                         row("returned", datetime(2019, 3, 1, 1, tzinfo=UTC), "B", "1.kept")], NOW)
    assert refused.value.ends == date(2030, 3, 1)
    with pytest.raises(RetentionApplies, match="2034-02-28"):  # from 29 February
        Retention(10, {}).check([row("returned", datetime(2024, 2, 29, 1, tzinfo=UTC))], NOW)


def test_the_erasure_record_holds_who_was_erased_when_and_of_what_dossiers():
    erasures = SubjectErasures.open("person:abc")
    erasures.erase("Yêu cầu số 1", [dossier := uuid4()], NOW)
    opened, erased = erasures.collect_events()
    assert erasures.id == SubjectErasures.create_id("person:abc")
    assert (erased.subject_id, erased.reason, erased.dossier_ids, erased.erased_at) == (
        "person:abc", "Yêu cầu số 1", [dossier], NOW)
