"""The identity service's application: accounts, agencies and role grants (load, call, save).

The use cases the API calls authorize the caller (``current_actor``) first, for the very
account or agency (``authorization.Guard``); the plain operations below them are for this
service's own trusted callers (the OIDC provider, logins). Credentials and logins are in
``authentication`` (``app.credentials``), on the same store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from motcua.kernel.config import Settings
from motcua.kernel.context import current_actor
from motcua.kernel.errors import InvalidArgument, NotFound, VersionConflict
from motcua.kernel.localtime import local_date
from motcua.kernel.paging import PageQuery
from motcua.kernel.readmodel import ReadModelApplication
from motcua.kernel.subject_keys import KeyEncryptionKeys, PersonalData, subject_key_store

from .authentication import Authentication, Reset, TotpEnrollment
from .authorization import Guard
from .domain import (
    OFFICER,
    Account,
    Agency,
    Credentials,
    DuplicateAgency,
    DuplicateIdentifier,
    DuplicateLogin,
    IdentifierIndex,
    LoginAttempt,
    LoginName,
    Profile,
    UnknownAgency,
    normalize_login,
)
from .domain.accounts import PERSONAL_ID_NUMBER, TAX_CODE
from .domain.agencies import PROVINCE, agency_id as agency_aggregate_id
from .domain.credentials import INITIAL, credentials_id
from .personal_data import PERSONAL_FIELDS, subjects_of_account
from .readmodel import IdentityRecorder
from .storekeys import Lookup
from .views import AccountPage, AccountView, AgencyPage, AgencyView

A = TypeVar("A", bound=Aggregate)

DEFAULT_PAGE_SIZE = 50
# An export lists the latest sign-ins up to this many (a person's export stays readable; the
# rest stay in the log).
MAX_EXPORTED_SIGN_INS = 1000
MAX_TREE_DEPTH = 16  # province > department > unit… never this deep; stops a corrupted cycle


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IdentityApplication(ReadModelApplication):
    name = "identity"
    recorder_class = IdentityRecorder
    # Every MFA login appends to the account's credentials (the replay guard).
    snapshotting_intervals = {Credentials: 50}

    def __init__(self, settings: Settings, lookup: Lookup, keks: KeyEncryptionKeys,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.lookup = lookup
        self.clock = clock
        super().__init__(settings)
        self.recorder: IdentityRecorder
        # Each account's personal fields are sealed in the log under a key of its own, and
        # unsealed (or masked once erased) by every reader: the aggregates, the read models.
        self.subject_keys = subject_key_store(self, keks)
        self.mapper.personal = PersonalData(PERSONAL_FIELDS, self.subject_keys)
        self.recorder.rebuild_if_missing()
        self.guard = Guard(self.is_within, self.parent_of)
        self.credentials: Authentication  # set by the Authentication built on this application

    def today(self) -> date:
        """The date in Vietnam now: agencies' dates are Vietnamese calendar days."""
        return local_date(self.clock())

    # --- accounts ---------------------------------------------------------------------------

    def open_account(self, profile: Profile, password_hash: str = "") -> AccountView:
        """Saves a new account with its indexes and credentials, in one transaction
        (``app.credentials.create_account`` hashes the password first)."""
        account = Account.open(profile)
        if account.kind == OFFICER:
            self._agency(account.agency_id, "agency_id")
        indexes: list[Aggregate] = []
        if account.login:
            indexes.append(LoginName(login=account.login, account_id=account.id))
        for field, value in (("personal_id_number", account.personal_id_number), ("tax_code", account.tax_code)):
            if value:
                indexes.append(
                    IdentifierIndex(digest=self.lookup.digest(field, value), kind=field, account_id=account.id)
                )
        credentials = Credentials(account_id=account.id)
        if password_hash:
            credentials.set_password(password_hash, INITIAL)
        try:
            self.save(account, credentials, *indexes)
        except VersionConflict:
            raise self._duplicate(account) from None
        return AccountView.of(account, credentials)

    def _duplicate(self, account: Account) -> Exception:
        if account.login and self.find(LoginName, LoginName.create_id(account.login)):
            return DuplicateLogin("account", f"login {account.login}")
        field = "personal_id_number" if account.personal_id_number else "tax_code"
        return DuplicateIdentifier("account", f"with this {field}")

    def account_view(self, account_id: UUID) -> AccountView:
        """The account as the API shows it, without asking who wants it (trusted callers)."""
        return AccountView.of(self.load(Account, account_id), self.find(Credentials, credentials_id(account_id)))

    def erase_account_data(self, account_id: UUID, erased_by: str, erasure: str) -> list[Aggregate]:
        """Destroys every key of the account's personal data (kernel.subject_keys: the log
        then shows "[đã xóa]" in their place) and records the erasure on the account, which
        can no longer log in; the aggregates to save. Repeated, it changes nothing more."""
        for subject in subjects_of_account(account_id):
            self.subject_keys.destroy(subject, erased_by, f"erasure {erasure}")
        account = self.find(Account, account_id)
        return [account] if account is not None and account.record_erasure(erasure) else []

    def find_account(self, login: str) -> Account | None:
        """The account that logs in as ``login``: its login name, or a citizen's personal id
        number, or a business's tax code."""
        login = normalize_login(login)
        index = self.find(LoginName, LoginName.create_id(login))
        if index is not None:
            return self.find(Account, index.account_id)
        for field, pattern in (("personal_id_number", PERSONAL_ID_NUMBER), ("tax_code", TAX_CODE)):
            if pattern.match(login):
                return self._by_identifier(field, login)
        return None

    def find_account_by_personal_id(self, number: str) -> AccountView | None:
        """The citizen with this personal identification number (e.g. from a federated login)."""
        account = self._by_identifier("personal_id_number", number)
        return None if account is None else AccountView.of(account, self.find(Credentials, credentials_id(account.id)))

    def _by_identifier(self, field: str, value: str) -> Account | None:
        index = self.find(IdentifierIndex, IdentifierIndex.create_id(self.lookup.digest(field, value)))
        return None if index is None else self.find(Account, index.account_id)

    def list_accounts(self, kind: str | None = None, agency_id: str | None = None, state: str | None = None,
                      page_size: int = 0, page_token: str = "") -> AccountPage:
        """The accounts the caller may see: officers of their administrator and auditor grants'
        subtrees, and citizens and businesses for credential officers."""
        officers_under, people = self.guard.listing_scope("list accounts")
        size = page_size or DEFAULT_PAGE_SIZE
        query = PageQuery("accounts", kind, agency_id, state, officers_under, people)
        after = query.position(page_token, int) or 0
        rows = self.recorder.account_page(kind, agency_id, state, after, size + 1, officers_under, people)
        token = query.token(rows[size - 1][0]) if len(rows) > size else ""
        return AccountPage([self.account_view(account_id) for _, account_id in rows[:size]], token)

    def disable_account(self, account_id: UUID, reason: str, expected_version: int = 0) -> AccountView:
        self.guard.require_admin_of_account(self.account(account_id), "disable this account")
        account = self.load(Account, account_id, expected_version)
        account.disable(reason)
        self.save(account)
        return self.account_view(account_id)

    def correct_contact_details(self, account_id: UUID, phone: str | None, email: str | None, reason: str = "",
                                expected_version: int = 0) -> AccountView:
        """The owner, or whoever administers the account, corrects its phone and e-mail."""
        account = self.load(Account, account_id, expected_version)
        self.guard.require_owner_or_admin_of_account(account, "correct this account's contact details")
        if account.correct_contact(phone, email, reason):
            self.save(account)
        return self.account_view(account_id)

    def grant_role(self, account_id: UUID, role: str, agency_id: str) -> AccountView:
        account = self.load(Account, account_id)
        self._agency(agency_id, "agency_id")
        self.guard.require_admin_of_agency(agency_id, f"grant roles within {agency_id}")
        # Only officers hold grants: a citizen's account is refused as such (not as one the
        # administrator may not touch), once the caller is known to administer the agency.
        account.check_officer("be granted roles")
        self.guard.require_admin_of_account(account, "grant roles to this account")
        if account.grant(role, agency_id):
            self.save(account)
        return self.account_view(account_id)

    def revoke_role(self, account_id: UUID, role: str, agency_id: str) -> AccountView:
        account = self.load(Account, account_id)
        self.guard.require_admin_of_account(account, "revoke roles of this account")
        self.guard.require_admin_of_agency(agency_id, f"revoke roles within {agency_id}")
        if account.revoke(role, agency_id):
            self.save(account)
        return self.account_view(account_id)

    def account(self, account_id: UUID) -> Account:
        return self.load(Account, account_id)

    def export_account_data(self, account_id: UUID) -> dict[str, Any]:
        """Everything held about the account's person (Decree 13/2023/NĐ-CP): the profile, the
        role grants and the sign-in history, unsealed (or "[đã xóa]" once erased); for the
        person or a data-protection officer covering the account (``Guard``)."""
        account = self.account(account_id)
        self.guard.require_data_protection_of_account(account, "export this account's personal data")
        view = self.account_view(account_id)
        attempts = [self.find(LoginAttempt, attempt_id)
                    for attempt_id in self.recorder.sign_ins_of(account_id, MAX_EXPORTED_SIGN_INS)]
        return {
            "account": {
                "account_id": str(view.account_id), "kind": view.kind, "state": view.state,
                "display_name": view.display_name, "login": view.login,
                "personal_id_number": view.personal_id_number, "tax_code": view.tax_code,
                "phone": view.phone, "email": view.email, "agency_id": view.agency_id, "unit": view.unit,
                "created_at": view.created_at.isoformat(), "second_factor": view.mfa_enabled,
                "disable_reason": view.disable_reason,
            },
            "grants": [{"role": grant.role, "agency_id": grant.agency_id} for grant in view.grants],
            "sign_ins": [
                {"at": attempt.created_on.isoformat(), "outcome": attempt.outcome, "reason": attempt.reason,
                 "second_factor": attempt.second_factor, "login": attempt.login,
                 "source_address": attempt.source_address, "new_address": attempt.new_source}
                for attempt in attempts if attempt is not None
            ],
        }

    def get_account(self, account_id: UUID) -> AccountView:
        """The account, for its owner, those who administer it and auditors of its agency."""
        self.guard.require_reader_of_account(self.account(account_id), "read this account")
        return self.account_view(account_id)

    # --- credentials (``authentication`` checks and stores them) ----------------------------

    def create_account(self, profile: Profile, password: str = "") -> AccountView:
        """Officers by administrators of their agency's subtree; citizens and businesses by
        credential officers."""
        if profile.kind == OFFICER:
            self.require_agency(profile.agency_id, "agency_id")
            self.guard.require_admin_of_agency(profile.agency_id, "create an officer account")
        else:
            self.guard.require_credential_officer("create a citizen or business account")
        return self.credentials.create_account(profile, password)

    def set_password(self, account_id: UUID, new_password: str, current_password: str = "",
                     reason: str = "") -> AccountView:
        """The owner changes their password (with the current one, once they have one); whoever
        administers the account resets it, with a ``reason`` for the audit trail."""
        account = self.account(account_id)
        reset = None
        if self.guard.is_owner(account_id):
            has_password = bool(self.credentials_of(account_id).password_hash)
            if has_password and not current_password:
                raise InvalidArgument.field("current_password", "is required to change one's own password")
            current = current_password if has_password else None
        else:
            self.guard.require_admin_of_account(account, "set this account's password")
            current, reset = None, self._reset(reason)
        return self.credentials.set_password(account_id, new_password, current, reset)

    def start_totp_enrollment(self, account_id: UUID) -> TotpEnrollment:
        self.guard.require_owner(account_id, "enrol a second factor for this account")
        return self.credentials.start_totp(account_id)

    def confirm_totp_enrollment(self, account_id: UUID, code: str) -> tuple[list[str], AccountView]:
        self.guard.require_owner(account_id, "confirm a second factor for this account")
        return self.credentials.confirm_totp(account_id, code)

    def disable_totp(self, account_id: UUID, reason: str = "") -> AccountView:
        """The owner removes their second factor; whoever administers the account resets it,
        with a ``reason``."""
        reset = None
        if not self.guard.is_owner(account_id):
            self.guard.require_admin_of_account(self.account(account_id), "remove this account's second factor")
            reset = self._reset(reason)
        return self.credentials.disable_totp(account_id, reset)

    @staticmethod
    def _reset(reason: str) -> Reset:
        """A reset of someone else's credentials: the caller and their reason, for the audit trail
        (the credentials refuse a blank reason)."""
        actor = current_actor()
        return Reset(by=actor.subject, by_agency_id=actor.agency_id, reason=reason)

    def credentials_of(self, account_id: UUID) -> Credentials:
        """The account's credentials (new, unsaved, for an account that has none yet)."""
        self.load(Account, account_id)
        return self.find(Credentials, credentials_id(account_id)) or Credentials(account_id=account_id)

    # --- agencies ---------------------------------------------------------------------------

    def create_agency(self, eid: str, name: str, kind: str, parent_eid: str = "",
                      valid_from: date | None = None) -> AgencyView:
        """Under a parent, by its administrators; the root of a tree (a province), by its own
        administrator (see seed_agencies); anything else without a parent the domain refuses
        (parent_agency_id is required)."""
        if parent_eid:
            self.require_agency(parent_eid, "parent_agency_id")
            self.guard.require_admin_of_agency(parent_eid, f"create an agency under {parent_eid}")
        elif kind == PROVINCE:
            self.guard.require_admin_of_agency(eid, f"create the province {eid}")
        parent = self._agency(parent_eid, "parent_agency_id") if parent_eid else None
        agency = Agency.found(eid, name, kind, parent, valid_from or self.today())
        try:
            self.save(agency)
        except VersionConflict:
            raise DuplicateAgency("agency", eid) from None
        return AgencyView.of(agency, self.today())

    def get_agency(self, eid: str, as_of: date | None = None) -> AgencyView:
        return AgencyView.of(self._load_agency(eid), as_of or self.today())

    def list_agencies(self, parent_eid: str | None = None, as_of: date | None = None,
                      page_size: int = 0, page_token: str = "") -> AgencyPage:
        size = page_size or DEFAULT_PAGE_SIZE
        query = PageQuery("agencies", parent_eid, as_of)
        after = query.position(page_token, str) or ""
        eids = self.recorder.agency_page(parent_eid, as_of, after, size + 1)
        token = query.token(eids[size - 1]) if len(eids) > size else ""
        day = as_of or self.today()
        return AgencyPage([AgencyView.of(self._load_agency(eid), day) for eid in eids[:size]], token)

    def rename_agency(self, eid: str, name: str, effective: date | None = None,
                      expected_version: int = 0) -> AgencyView:
        self._load_agency(eid)  # NOT_FOUND before PERMISSION_DENIED
        self.guard.require_admin_of_agency(eid, "rename this agency")
        agency = self.load(Agency, agency_aggregate_id(eid), expected_version)
        agency.rename(name, effective or self.today())
        self.save(agency)
        return AgencyView.of(agency, self.today())

    def close_agency(self, eid: str, close_date: date | None = None, successor_eid: str = "",
                     expected_version: int = 0) -> AgencyView:
        self._load_agency(eid)  # NOT_FOUND before PERMISSION_DENIED
        self.guard.require_admin_of_agency(eid, "close this agency")
        if successor_eid:
            self.require_agency(successor_eid, "successor_agency_id")
        agency = self.load(Agency, agency_aggregate_id(eid), expected_version)
        successor = self._agency(successor_eid, "successor_agency_id") if successor_eid else None
        agency.close(close_date or self.today(), successor)
        self.save(agency)
        return AgencyView.of(agency, self.today())

    def parent_of(self, eid: str) -> str | None:
        """The agency's parent ("" for a root); None for an agency that does not exist."""
        agency = self.find(Agency, agency_aggregate_id(eid))
        return None if agency is None else agency.parent_eid or ""

    def is_within(self, eid: str, ancestor_eid: str) -> bool:
        """Whether agency ``eid`` is ``ancestor_eid`` or below it in the tree."""
        current = eid
        for _ in range(MAX_TREE_DEPTH):
            if current == ancestor_eid:
                return True
            agency = self.find(Agency, agency_aggregate_id(current))
            if agency is None or not agency.parent_eid:
                return False
            current = agency.parent_eid
        return False

    def _load_agency(self, eid: str) -> Agency:
        agency = self.find(Agency, agency_aggregate_id(eid))
        if agency is None:
            raise NotFound("agency", eid)
        return agency

    def require_agency(self, eid: str, field: str) -> None:
        """INVALID_ARGUMENT naming ``field`` when the request refers to an unknown agency."""
        self._agency(eid, field)

    def _agency(self, eid: str, field: str) -> Agency:
        """An agency a request refers to: INVALID_ARGUMENT naming ``field`` when unknown."""
        agency = self.find(Agency, agency_aggregate_id(eid))
        if agency is None:
            raise UnknownAgency(field, eid)
        return agency

    # --- helpers ----------------------------------------------------------------------------

