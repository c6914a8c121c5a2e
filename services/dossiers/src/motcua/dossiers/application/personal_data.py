"""Applicants' personal data: whose key seals it, which event fields hold it, and when it
may be erased.

The data subject of a dossier is its applicant's account (``account:<id>``) or, for an
applicant who filed without an account (at the desk, by post), a pseudonym derived from
their kind and identification number: ``person:<HMAC(deployment key, kind:number)>``. Keyed,
because an unkeyed hash of a 12-digit citizen number is reversed by trying them all; derived
(not random), so every dossier the same person files without an account shares one key and
one erasure reaches them all, without a table mapping numbers to subjects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from eventsourcing.utils import get_topic

from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.values import PERSONAL_APPLICANT_FIELDS, Applicant
from motcua.kernel.errors import DomainError
from motcua.kernel.keyfiles import keyed_hash
from motcua.kernel.localtime import local_date
from motcua.kernel.subject_keys import PersonalField

# The events whose ``applicant`` holds personal data (the dossier's creation events, corrections).
PERSONAL_FIELDS: Mapping[str, tuple[PersonalField, ...]] = {
    get_topic(event): (PersonalField("applicant", PERSONAL_APPLICANT_FIELDS),)
    for event in (Dossier.Drafted, Dossier.Submitted)
}


def _the_corrected_applicant(_: Any, state: Mapping[str, Any]) -> str:
    return str(state.get("applicant", {}).get("subject_id") or "")


# A correction's reason is the officer's free text, which may well quote the right value: it is
# sealed under the applicant's key too (after the applicant, whose subject id stays in the clear).
PERSONAL_FIELDS = {
    **PERSONAL_FIELDS,
    get_topic(Dossier.ApplicantDetailsCorrected): (
        PersonalField("applicant", PERSONAL_APPLICANT_FIELDS),
        PersonalField("", ("reason",), subject_of=_the_corrected_applicant),
    ),
}


def normalised_number(identity_number: str) -> str:
    """An identification number as compared: without spaces, dots or dashes, upper case."""
    return "".join(c for c in identity_number if c.isalnum()).upper()


class Subjects:
    """Names data subjects, with the deployment's personal-data key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of_account(self, account_id: str) -> str:
        return f"account:{account_id}"

    def of_person(self, kind: str, identity_number: str) -> str:
        return f"person:{keyed_hash(self._key, f'subject:{kind}', normalised_number(identity_number))}"

    def of(self, applicant: Applicant) -> str:
        if applicant.account_id.strip():
            return self.of_account(applicant.account_id.strip())
        return self.of_person(applicant.kind, applicant.identity_number)

    def of_person_now(self, kind: str, identity_number: str,
                      numbered: Callable[[str], list[str]]) -> list[str]:
        """Every subject a person without an account is, named by a number: the pseudonym of
        that number, and the subjects first filed under another number since corrected to this
        one (``numbered``: the register's subjects by the blind index of the number now). A
        subject keeps the pseudonym it was first filed under (it names its key), so either
        number reaches it."""
        return list(dict.fromkeys([self.of_person(kind, identity_number),
                                   *numbered(self.number_index(identity_number))]))

    def number_index(self, identity_number: str) -> str:
        """The register's blind index of an identification number: a keyed hash of it, as
        normalised, so officers find dossiers by number without the register holding it."""
        return keyed_hash(self._key, "index:identity_number", normalised_number(identity_number))

    def tag(self, subject_id: str) -> str:
        """A short keyed name of a subject for file names (attachments kept per subject), which
        says nothing of who they are."""
        return keyed_hash(self._key, "tag", subject_id)[:32]

    def identified(self, applicant: Applicant) -> Applicant:
        """The applicant with their subject id, as the dossier's events record it."""
        return dataclasses.replace(applicant, subject_id=self.of(applicant))


# --- retention ---------------------------------------------------------------------------------


class DossierStillOpen(DomainError):
    """The person has a dossier being processed: their data is needed (FAILED_PRECONDITION)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"dossier {code} of this person is still being processed: their data cannot be erased")


class RetentionApplies(DomainError):
    """A retention period still applies to one of the person's dossiers (FAILED_PRECONDITION)."""

    def __init__(self, code: str, ends: date) -> None:
        self.ends = ends
        super().__init__(
            f"dossier {code} must be kept, with its applicant's data, until {ends.isoformat()}: "
            f"the retention period ends on {ends.isoformat()}"
        )


@dataclasses.dataclass(frozen=True)
class Retention:
    """Years a finished dossier is kept from the day it finished, by procedure code."""

    default_years: int
    by_procedure: Mapping[str, int]

    def years_for(self, procedure_code: str) -> int:
        return self.by_procedure.get(procedure_code, self.default_years)

    def check(self, dossiers: list[dict[str, Any]], now: datetime) -> None:
        """Raises for the first open dossier, else for the latest retention end still to come.
        Drafts never submitted are kept for no period."""
        latest: tuple[date, str] | None = None
        for row in dossiers:
            if row["state"] == "draft":
                continue
            finished = row["returned_at"] or row["withdrawn_at"] or row["refused_at"]
            if finished is None:
                raise DossierStillOpen(row["code"])
            ends = _add_years(local_date(finished), self.years_for(row["procedure_code"]))
            if ends > local_date(now) and (latest is None or ends > latest[0]):
                latest = (ends, row["code"])
        if latest is not None:
            raise RetentionApplies(latest[1], latest[0])


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)
