"""gRPC API of the identity service: translates requests and checks who may call; the
rules live in the domain, the application and the token issuer."""

from __future__ import annotations

import uuid
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp

from motcua.identity.v1 import agency_pb2
from motcua.identity.v1 import identity_service_pb2 as pb
from motcua.identity.v1 import identity_service_pb2_grpc
from motcua.kernel.context import Grant, current_actor
from motcua.kernel.errors import DomainError, InvalidArgument

from .application import IdentityApplication
from .authentication import Authentication, Reset
from .authorization import Guard
from .domain import OFFICER, Profile
from .tokens import TokenIssuer
from .translate import (
    ACCOUNT_KINDS,
    ACCOUNT_STATES,
    AGENCY_KINDS,
    account_proto,
    agency_proto,
    kind_name,
    role_name,
    to_date,
)

APPLICANT = "applicant"


class DevelopmentTokensDisabled(DomainError):
    def __init__(self) -> None:
        super().__init__("development tokens are turned off on this deployment (MOTCUA_IDENTITY_DEV_TOKENS)")


def role_claim(role: int) -> str:
    """ROLE_DESK_OFFICER -> desk_officer, the name used in the `roles` claim."""
    return role_name(role)


class IdentityServicer(identity_service_pb2_grpc.IdentityServiceServicer):
    def __init__(self, issuer: TokenIssuer, dev_tokens: bool, default_ttl: int,
                 app: IdentityApplication, auth: Authentication) -> None:
        self.issuer = issuer
        self.dev_tokens = dev_tokens
        self.default_ttl = default_ttl
        self.app = app
        self.auth = auth
        self.guard = Guard(app)

    # --- accounts ---------------------------------------------------------------------------

    def CreateAccount(self, request: pb.CreateAccountRequest, context) -> pb.CreateAccountResponse:
        kind = kind_name(request.kind, ACCOUNT_KINDS) or ""
        if kind == OFFICER:
            self.app.require_agency(request.agency_id, "agency_id")
            self.guard.require_admin_of_agency(request.agency_id, "create an officer account")
        else:
            self.guard.require_credential_officer("create a citizen or business account")
        profile = Profile(kind=kind, display_name=request.display_name, login=request.login,
                          personal_id_number=request.personal_id_number, tax_code=request.tax_code,
                          phone=request.phone, email=request.email, agency_id=request.agency_id, unit=request.unit)
        view = self.auth.create_account(profile, request.password)
        return pb.CreateAccountResponse(account=account_proto(view))

    def GetAccount(self, request: pb.GetAccountRequest, context) -> pb.GetAccountResponse:
        account_id = UUID(request.account_id)
        self.guard.require_reader_of_account(self.app.account(account_id), "read this account")
        return pb.GetAccountResponse(account=account_proto(self.app.get_account(account_id)))

    def ListAccounts(self, request: pb.ListAccountsRequest, context) -> pb.ListAccountsResponse:
        officers_under, people = self.guard.listing_scope("list accounts")
        page = self.app.list_accounts(
            kind=kind_name(request.kind, ACCOUNT_KINDS), agency_id=request.agency_id or None,
            state=kind_name(request.state, ACCOUNT_STATES), page_size=request.page_size, page_token=request.page_token,
            officers_under=officers_under, people=people)
        return pb.ListAccountsResponse(accounts=[account_proto(v) for v in page.accounts],
                                       next_page_token=page.next_page_token)

    def DisableAccount(self, request: pb.DisableAccountRequest, context) -> pb.DisableAccountResponse:
        account_id = UUID(request.account_id)
        self.guard.require_admin_of_account(self.app.account(account_id), "disable this account")
        view = self.app.disable_account(account_id, request.reason, request.expected_version)
        return pb.DisableAccountResponse(account=account_proto(view))

    def GrantRole(self, request: pb.GrantRoleRequest, context) -> pb.GrantRoleResponse:
        account_id = UUID(request.account_id)
        account = self.app.account(account_id)
        self.app.require_agency(request.agency_id, "agency_id")
        self.guard.require_admin_of_agency(request.agency_id, f"grant roles within {request.agency_id}")
        # Only officers hold grants: a citizen's account is refused as such (not as one the
        # administrator may not touch), once the caller is known to administer the agency.
        account.check_officer("be granted roles")
        self.guard.require_admin_of_account(account, "grant roles to this account")
        view = self.app.grant_role(account_id, role_name(request.role), request.agency_id)
        return pb.GrantRoleResponse(account=account_proto(view))

    def RevokeRole(self, request: pb.RevokeRoleRequest, context) -> pb.RevokeRoleResponse:
        account_id = UUID(request.account_id)
        self.guard.require_admin_of_account(self.app.account(account_id), "revoke roles of this account")
        self.guard.require_admin_of_agency(request.agency_id, f"revoke roles within {request.agency_id}")
        view = self.app.revoke_role(account_id, role_name(request.role), request.agency_id)
        return pb.RevokeRoleResponse(account=account_proto(view))

    # --- credentials ------------------------------------------------------------------------

    def SetPassword(self, request: pb.SetPasswordRequest, context) -> pb.SetPasswordResponse:
        account_id = UUID(request.account_id)
        account = self.app.account(account_id)
        if self.guard.is_owner(account_id):
            has_password = bool(self.app.credentials_of(account_id).password_hash)
            if has_password and not request.current_password:
                raise InvalidArgument.field("current_password", "is required to change one's own password")
            current = request.current_password if has_password else None
            reset = None
        else:
            self.guard.require_admin_of_account(account, "set this account's password")
            current, reset = None, self._reset(request.reason)
        view = self.auth.set_password(account_id, request.new_password, current, reset)
        return pb.SetPasswordResponse(account=account_proto(view))

    def StartTotpEnrollment(self, request: pb.StartTotpEnrollmentRequest, context) -> pb.StartTotpEnrollmentResponse:
        account_id = UUID(request.account_id)
        self.guard.require_owner(account_id, "enrol a second factor for this account")
        enrollment = self.auth.start_totp(account_id)
        return pb.StartTotpEnrollmentResponse(secret=enrollment.secret, provisioning_uri=enrollment.provisioning_uri)

    def ConfirmTotpEnrollment(self, request: pb.ConfirmTotpEnrollmentRequest, context) -> pb.ConfirmTotpEnrollmentResponse:
        account_id = UUID(request.account_id)
        self.guard.require_owner(account_id, "confirm a second factor for this account")
        codes, view = self.auth.confirm_totp(account_id, request.code)
        return pb.ConfirmTotpEnrollmentResponse(recovery_codes=codes, account=account_proto(view))

    def DisableTotp(self, request: pb.DisableTotpRequest, context) -> pb.DisableTotpResponse:
        account_id = UUID(request.account_id)
        reset = None
        if not self.guard.is_owner(account_id):
            self.guard.require_admin_of_account(self.app.account(account_id), "remove this account's second factor")
            reset = self._reset(request.reason)
        return pb.DisableTotpResponse(account=account_proto(self.auth.disable_totp(account_id, reset)))

    @staticmethod
    def _reset(reason: str) -> Reset:
        """A reset of someone else's credentials: the caller and their reason, for the audit trail
        (the credentials refuse a blank reason)."""
        actor = current_actor()
        return Reset(by=actor.subject, by_agency_id=actor.agency_id, reason=reason)

    # --- agencies ---------------------------------------------------------------------------

    def CreateAgency(self, request: pb.CreateAgencyRequest, context) -> pb.CreateAgencyResponse:
        if request.parent_agency_id:
            self.app.require_agency(request.parent_agency_id, "parent_agency_id")
            self.guard.require_admin_of_agency(request.parent_agency_id,
                                               f"create an agency under {request.parent_agency_id}")
        elif request.kind == agency_pb2.AGENCY_KIND_PROVINCE:
            # The root of a tree is created by its own administrator (see seed_agencies).
            self.guard.require_admin_of_agency(request.agency_id, f"create the province {request.agency_id}")
        # Anything else without a parent: the domain refuses it (parent_agency_id is required).
        view = self.app.create_agency(request.agency_id, request.name, kind_name(request.kind, AGENCY_KINDS) or "",
                                      request.parent_agency_id, to_date(request.valid_from, "valid_from"))
        return pb.CreateAgencyResponse(agency=agency_proto(view))

    def GetAgency(self, request: pb.GetAgencyRequest, context) -> pb.GetAgencyResponse:
        view = self.app.get_agency(request.agency_id, to_date(request.as_of, "as_of"))
        return pb.GetAgencyResponse(agency=agency_proto(view))

    def ListAgencies(self, request: pb.ListAgenciesRequest, context) -> pb.ListAgenciesResponse:
        page = self.app.list_agencies(request.parent_agency_id or None, to_date(request.as_of, "as_of"),
                                      request.page_size, request.page_token)
        return pb.ListAgenciesResponse(agencies=[agency_proto(v) for v in page.agencies],
                                       next_page_token=page.next_page_token)

    def RenameAgency(self, request: pb.RenameAgencyRequest, context) -> pb.RenameAgencyResponse:
        self.app.get_agency(request.agency_id)  # NOT_FOUND before PERMISSION_DENIED
        self.guard.require_admin_of_agency(request.agency_id, "rename this agency")
        view = self.app.rename_agency(request.agency_id, request.name, to_date(request.effective_date, "effective_date"),
                                      request.expected_version)
        return pb.RenameAgencyResponse(agency=agency_proto(view))

    def CloseAgency(self, request: pb.CloseAgencyRequest, context) -> pb.CloseAgencyResponse:
        self.app.get_agency(request.agency_id)
        self.guard.require_admin_of_agency(request.agency_id, "close this agency")
        if request.successor_agency_id:
            self.app.require_agency(request.successor_agency_id, "successor_agency_id")
        view = self.app.close_agency(request.agency_id, to_date(request.close_date, "close_date"),
                                     request.successor_agency_id, request.expected_version)
        return pb.CloseAgencyResponse(agency=agency_proto(view))

    # --- development tokens -----------------------------------------------------------------

    def IssueDevelopmentToken(self, request: pb.IssueDevelopmentTokenRequest, context) -> pb.IssueDevelopmentTokenResponse:
        if not self.dev_tokens:
            raise DevelopmentTokensDisabled()
        roles = [role_claim(r) for r in request.roles]
        if not request.agency_id and any(r != APPLICANT for r in roles):
            raise InvalidArgument.field("agency_id", "is required for every role but applicant")
        ttl = request.ttl.seconds if request.HasField("ttl") else self.default_ttl
        subject = request.account_id or str(uuid.uuid4())
        # The roles at the given agency, and any further grants each at its own agency.
        grants = [Grant(r, request.agency_id) for r in roles if r != APPLICANT]
        grants += [Grant(role_claim(g.role), g.agency_id) for g in request.grants]
        roles += [g.role for g in grants if g.role not in roles]
        token = self.issuer.issue(subject, roles, request.agency_id, request.display_name, max(ttl, 1),
                                  grants=list(dict.fromkeys(grants)))
        return pb.IssueDevelopmentTokenResponse(
            access_token=token.access_token,
            token_type="Bearer",
            expire_time=Timestamp(seconds=token.expires_at),
            account_id=subject,
        )


