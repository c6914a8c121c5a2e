"""gRPC API of the identity service: translates requests and responses; who may do what is
decided by the application, the rules live in the domain and the token issuer."""

from __future__ import annotations

import json
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp

from motcua.identity.v1 import identity_service_pb2 as pb, identity_service_pb2_grpc
from motcua.kernel.context import Grant

from .application import IdentityApplication
from .convert import (
    ACCOUNT_KINDS,
    ACCOUNT_STATES,
    AGENCY_KINDS,
    account_proto,
    agency_proto,
    kind_name,
    role_name,
    to_date,
)
from .domain import Profile
from .tokens import DevelopmentTokens


class IdentityServicer(identity_service_pb2_grpc.IdentityServiceServicer):
    def __init__(self, app: IdentityApplication, dev_tokens: DevelopmentTokens) -> None:
        self.app = app
        self.dev_tokens = dev_tokens

    # --- accounts ---------------------------------------------------------------------------

    def CreateAccount(self, request: pb.CreateAccountRequest, context) -> pb.CreateAccountResponse:
        profile = Profile(kind=kind_name(request.kind, ACCOUNT_KINDS) or "", display_name=request.display_name,
                          login=request.login, personal_id_number=request.personal_id_number,
                          tax_code=request.tax_code, phone=request.phone, email=request.email,
                          agency_id=request.agency_id, unit=request.unit)
        view = self.app.create_account(profile, request.password)
        return pb.CreateAccountResponse(account=account_proto(view))

    def GetAccount(self, request: pb.GetAccountRequest, context) -> pb.GetAccountResponse:
        return pb.GetAccountResponse(account=account_proto(self.app.get_account(UUID(request.account_id))))

    def ListAccounts(self, request: pb.ListAccountsRequest, context) -> pb.ListAccountsResponse:
        page = self.app.list_accounts(
            kind=kind_name(request.kind, ACCOUNT_KINDS), agency_id=request.agency_id or None,
            state=kind_name(request.state, ACCOUNT_STATES), page_size=request.page_size, page_token=request.page_token)
        return pb.ListAccountsResponse(accounts=[account_proto(v) for v in page.accounts],
                                       next_page_token=page.next_page_token)

    def DisableAccount(self, request: pb.DisableAccountRequest, context) -> pb.DisableAccountResponse:
        view = self.app.disable_account(UUID(request.account_id), request.reason, request.expected_version)
        return pb.DisableAccountResponse(account=account_proto(view))

    def CorrectContactDetails(self, request: pb.CorrectContactDetailsRequest,
                              context) -> pb.CorrectContactDetailsResponse:
        view = self.app.correct_contact_details(
            UUID(request.account_id), request.phone if request.HasField("phone") else None,
            request.email if request.HasField("email") else None, request.reason, request.expected_version)
        return pb.CorrectContactDetailsResponse(account=account_proto(view))

    def ExportAccountData(self, request: pb.ExportAccountDataRequest, context) -> pb.ExportAccountDataResponse:
        document = self.app.export_account_data(UUID(request.account_id))
        return pb.ExportAccountDataResponse(document=json.dumps(document, ensure_ascii=False),
                                            sign_ins=len(document["sign_ins"]))

    def GrantRole(self, request: pb.GrantRoleRequest, context) -> pb.GrantRoleResponse:
        view = self.app.grant_role(UUID(request.account_id), role_name(request.role), request.agency_id)
        return pb.GrantRoleResponse(account=account_proto(view))

    def RevokeRole(self, request: pb.RevokeRoleRequest, context) -> pb.RevokeRoleResponse:
        view = self.app.revoke_role(UUID(request.account_id), role_name(request.role), request.agency_id)
        return pb.RevokeRoleResponse(account=account_proto(view))

    # --- credentials ------------------------------------------------------------------------

    def SetPassword(self, request: pb.SetPasswordRequest, context) -> pb.SetPasswordResponse:
        view = self.app.set_password(UUID(request.account_id), request.new_password, request.current_password,
                                     request.reason)
        return pb.SetPasswordResponse(account=account_proto(view))

    def StartTotpEnrollment(self, request: pb.StartTotpEnrollmentRequest, context) -> pb.StartTotpEnrollmentResponse:
        enrollment = self.app.start_totp_enrollment(UUID(request.account_id))
        return pb.StartTotpEnrollmentResponse(secret=enrollment.secret, provisioning_uri=enrollment.provisioning_uri)

    def ConfirmTotpEnrollment(
        self, request: pb.ConfirmTotpEnrollmentRequest, context
    ) -> pb.ConfirmTotpEnrollmentResponse:
        codes, view = self.app.confirm_totp_enrollment(UUID(request.account_id), request.code)
        return pb.ConfirmTotpEnrollmentResponse(recovery_codes=codes, account=account_proto(view))

    def DisableTotp(self, request: pb.DisableTotpRequest, context) -> pb.DisableTotpResponse:
        view = self.app.disable_totp(UUID(request.account_id), request.reason)
        return pb.DisableTotpResponse(account=account_proto(view))

    # --- agencies ---------------------------------------------------------------------------

    def CreateAgency(self, request: pb.CreateAgencyRequest, context) -> pb.CreateAgencyResponse:
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
        view = self.app.rename_agency(
            request.agency_id, request.name, to_date(request.effective_date, "effective_date"), request.expected_version
        )
        return pb.RenameAgencyResponse(agency=agency_proto(view))

    def CloseAgency(self, request: pb.CloseAgencyRequest, context) -> pb.CloseAgencyResponse:
        view = self.app.close_agency(request.agency_id, to_date(request.close_date, "close_date"),
                                     request.successor_agency_id, request.expected_version)
        return pb.CloseAgencyResponse(agency=agency_proto(view))

    # --- development tokens -----------------------------------------------------------------

    def IssueDevelopmentToken(
        self, request: pb.IssueDevelopmentTokenRequest, context
    ) -> pb.IssueDevelopmentTokenResponse:
        token = self.dev_tokens.issue(
            [role_name(r) for r in request.roles], request.agency_id, request.display_name,
            request.ttl.seconds if request.HasField("ttl") else None, request.account_id,
            [Grant(role_name(g.role), g.agency_id) for g in request.grants])
        return pb.IssueDevelopmentTokenResponse(
            access_token=token.access_token,
            token_type="Bearer",
            expire_time=Timestamp(seconds=token.expires_at),
            account_id=token.subject,
        )


