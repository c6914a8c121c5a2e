"""Accounts: citizens, businesses and officers; the roles officers are granted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate, event

from motcua.kernel.agency_ids import check_agency_id, is_agency_id
from motcua.kernel.errors import AlreadyExists, FieldViolation, InvalidArgument, InvalidTransition

# The platform's role vocabulary, as the `roles` claim names them; citizens and businesses are
# applicants by their kind, officers are granted the others (GRANTABLE_ROLES). The domain
# package exports them with its own names.
from motcua.kernel.roles import (
    ADMINISTRATOR as ADMINISTRATOR,
    APPLICANT,
    AUDITOR as AUDITOR,
    CREDENTIAL_OFFICER as CREDENTIAL_OFFICER,
    GRANTABLE_ROLES,
    ROLES,
)

CITIZEN = "citizen"
BUSINESS = "business"
OFFICER = "officer"
KINDS = (CITIZEN, BUSINESS, OFFICER)

ACTIVE = "active"
DISABLED = "disabled"


PERSONAL_ID_NUMBER = re.compile(r"^[0-9]{12}$")  # số định danh cá nhân (CCCD)
TAX_CODE = re.compile(r"^[0-9]{10}(-[0-9]{3})?$")  # mã số thuế; -NNN for a branch
PHONE = re.compile(r"^(\+84|0)[0-9]{9,10}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,99}$")
NUMBER_LIKE = re.compile(r"^[0-9-]+$")
MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 1000


def normalize_login(login: str) -> str:
    """Logins compare without case: `Hang.Nguyen` and `hang.nguyen` are one login."""
    return login.strip().lower()


@dataclass(frozen=True)
class Profile:
    """What an account is opened with."""

    kind: str
    display_name: str
    login: str = ""
    personal_id_number: str = ""
    tax_code: str = ""
    phone: str = ""
    email: str = ""
    agency_id: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Grant:
    role: str
    agency_id: str
    granted_at: datetime


class Account(Aggregate):
    """A person or organisation that can log in. Contact details and identifiers are
    personal data: the event store that keeps them is encrypted."""

    # The @event decorator defines these event classes at run time, from the methods below;
    # declared here for the type checker alone (annotations at run time would make
    # eventsourcing turn the aggregate into a dataclass).
    if TYPE_CHECKING:
        class Created(Aggregate.Created):
            kind: str
            agency_id: str

        class Disabled(Aggregate.Event):
            reason: str

        class PersonalDataErased(Aggregate.Event):
            erasure: str

        class ContactDetailsCorrected(Aggregate.Event):
            phone: str
            email: str
            reason: str

    @event("Created")
    def __init__(self, kind: str, display_name: str, login: str, personal_id_number: str, tax_code: str,
                 phone: str, email: str, agency_id: str, unit: str) -> None:
        self.kind = kind
        self.display_name = display_name
        self.login = login
        self.personal_id_number = personal_id_number
        self.tax_code = tax_code
        self.phone = phone
        self.email = email
        self.agency_id = agency_id
        self.unit = unit
        self.state = ACTIVE
        self.disable_reason = ""
        self.grants: list[Grant] = []

    @classmethod
    def open(cls, profile: Profile) -> Account:
        check_profile(profile)
        return cls(
            kind=profile.kind,
            display_name=profile.display_name.strip(),
            login=normalize_login(profile.login),
            personal_id_number=profile.personal_id_number,
            tax_code=profile.tax_code,
            phone=profile.phone,
            email=profile.email.strip(),
            agency_id=profile.agency_id,
            unit=profile.unit.strip(),
        )

    @property
    def roles(self) -> tuple[str, ...]:
        """What the account may do: applicants by kind, officers by their grants."""
        if self.kind != OFFICER:
            return (APPLICANT,)
        return tuple(sorted({g.role for g in self.grants}, key=ROLES.index))

    def disable(self, reason: str) -> None:
        self.check_active("disable")
        if not reason.strip():
            raise InvalidArgument.field("reason", "must not be blank")
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidArgument.field("reason", f"must be at most {MAX_REASON_LENGTH} characters")
        self._disabled(reason=reason.strip())

    @event("Disabled")
    def _disabled(self, reason: str) -> None:
        self.state = DISABLED
        self.disable_reason = reason

    # Whether the account's personal data was erased. A class default, so that accounts
    # created before erasure existed load.
    erased = False

    def record_erasure(self, erasure: str) -> bool:
        """Records that the account's personal data was erased (its keys are destroyed beside
        this event; ``erasure`` names the erasure record it follows): the account can no longer
        log in. False when it was already recorded."""
        if self.erased:
            return False
        self._personal_data_erased(erasure=erasure)
        return True

    @event("PersonalDataErased")
    def _personal_data_erased(self, erasure: str) -> None:
        self.erased = True
        self.state = DISABLED
        self.disable_reason = "personal data erased"

    def correct_contact(self, phone: str | None, email: str | None, reason: str) -> bool:
        """Corrects the phone and e-mail (``None``: kept) as a new event; False when nothing
        changes. Refused once the account's data was erased: new data would bring it back."""
        if self.erased:
            raise InvalidTransition("the account", "erased", "correct the contact details of")
        phone = self.phone if phone is None else phone.strip()
        email = self.email if email is None else email.strip()
        violations = []
        if phone and not PHONE.match(phone):
            violations.append(FieldViolation("phone", "must be a Vietnamese phone number such as 0912345678 or "
                                                      "+84912345678"))
        if email and not EMAIL.match(email):
            violations.append(FieldViolation("email", "must be an e-mail address"))
        if len(reason) > MAX_REASON_LENGTH:
            violations.append(FieldViolation("reason", f"must be at most {MAX_REASON_LENGTH} characters"))
        if violations:
            raise InvalidArgument(*violations)
        if (phone, email) == (self.phone, self.email):
            return False
        self._contact_details_corrected(phone=phone, email=email, reason=reason.strip())
        return True

    @event("ContactDetailsCorrected")
    def _contact_details_corrected(self, phone: str, email: str, reason: str) -> None:
        self.phone = phone
        self.email = email

    def grant(self, role: str, agency_id: str) -> bool:
        """Grants a role within an agency subtree; False when the account already holds it."""
        self.check_officer("be granted roles")
        self.check_active("grant roles to")
        check_grant(role, agency_id)
        if any((g.role, g.agency_id) == (role, agency_id) for g in self.grants):
            return False
        self.trigger_event(self.RoleGranted, role=role, agency_id=agency_id)
        return True

    def revoke(self, role: str, agency_id: str) -> bool:
        """Revokes a grant; False when the account does not hold it."""
        check_grant(role, agency_id)
        if not any((g.role, g.agency_id) == (role, agency_id) for g in self.grants):
            return False
        self.trigger_event(self.RoleRevoked, role=role, agency_id=agency_id)
        return True

    class RoleGranted(Aggregate.Event):
        role: str
        agency_id: str

        def apply(self, account: Any) -> None:
            account.grants.append(Grant(self.role, self.agency_id, self.timestamp))

    class RoleRevoked(Aggregate.Event):
        role: str
        agency_id: str

        def apply(self, account: Any) -> None:
            account.grants = [g for g in account.grants if (g.role, g.agency_id) != (self.role, self.agency_id)]

    def check_active(self, action: str) -> None:
        if self.state != ACTIVE:
            raise AccountDisabledError(f"account {self.id}", self.state, action)

    def check_officer(self, action: str) -> None:
        if self.kind != OFFICER:
            raise InvalidArgument.field("account_id", f"is a {self.kind} account; only officers can {action}")


def check_profile(profile: Profile) -> None:
    violations = []

    def bad(field: str, description: str) -> None:
        violations.append((field, description))

    if profile.kind not in KINDS:
        bad("kind", f"must be one of {', '.join(KINDS)}")
    if not profile.display_name.strip():
        bad("display_name", "must not be blank")
    elif len(profile.display_name) > MAX_NAME_LENGTH:
        bad("display_name", f"must be at most {MAX_NAME_LENGTH} characters")
    if profile.login and not LOGIN.match(normalize_login(profile.login)):
        bad("login", "must be 3 to 100 letters, digits or ._@- starting with a letter or digit")
    elif profile.login and NUMBER_LIKE.match(profile.login):
        # Citizens and businesses log in with their personal id number or tax code as such.
        bad("login", "must not be only digits and dashes")
    if profile.kind == CITIZEN and not profile.personal_id_number:
        bad("personal_id_number", "is required for a citizen")
    if profile.personal_id_number:
        if profile.kind != CITIZEN:
            bad("personal_id_number", "is only for citizens")
        elif not PERSONAL_ID_NUMBER.match(profile.personal_id_number) or profile.personal_id_number[:3] == "000":
            bad("personal_id_number", "must be a 12-digit personal identification number")
    if profile.kind == BUSINESS and not profile.tax_code:
        bad("tax_code", "is required for a business")
    if profile.tax_code:
        if profile.kind != BUSINESS:
            bad("tax_code", "is only for businesses")
        elif not TAX_CODE.match(profile.tax_code):
            bad("tax_code", "must be 10 digits, or 10 digits, a dash and 3 digits")
    if profile.phone and not PHONE.match(profile.phone):
        bad("phone", "must be a Vietnamese phone number such as 0912345678 or +84912345678")
    if profile.email and not EMAIL.match(profile.email.strip()):
        bad("email", "must be an e-mail address")
    if profile.kind == OFFICER:
        if not is_agency_id(profile.agency_id):
            bad("agency_id", "an officer needs the electronic identifier of an agency such as 000.00.12.H56")
    elif profile.agency_id or profile.unit:
        bad("agency_id" if profile.agency_id else "unit", "is only for officers")
    if len(profile.unit) > MAX_NAME_LENGTH:
        bad("unit", f"must be at most {MAX_NAME_LENGTH} characters")
    if violations:
        raise InvalidArgument(*(FieldViolation(f, d) for f, d in violations))


def check_grant(role: str, agency_id: str) -> None:
    if role not in GRANTABLE_ROLES:
        raise InvalidArgument.field("role", f"must be one of {', '.join(GRANTABLE_ROLES)}")
    check_agency_id(agency_id)


class AccountDisabledError(InvalidTransition):
    """A disabled account cannot be changed this way."""


class DuplicateLogin(AlreadyExists):
    """Another account has this login."""


class DuplicateIdentifier(AlreadyExists):
    """Another account has this personal identification number or tax code (never named in the
    message: it is personal data and messages reach the logs)."""
