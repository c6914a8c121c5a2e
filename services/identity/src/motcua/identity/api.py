"""gRPC API of the identity service: translates requests; the rules live in the issuer."""

from __future__ import annotations

import uuid

from google.protobuf.timestamp_pb2 import Timestamp

from motcua.identity.v1 import identity_service_pb2 as pb
from motcua.identity.v1 import identity_service_pb2_grpc
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.errors import DomainError, InvalidArgument

from .tokens import TokenIssuer

APPLICANT = "applicant"
PREFIX = "ROLE_"


class DevelopmentTokensDisabled(DomainError):
    def __init__(self) -> None:
        super().__init__("development tokens are turned off on this deployment (MOTCUA_IDENTITY_DEV_TOKENS)")


def role_claim(role: int) -> str:
    """ROLE_DESK_OFFICER -> desk_officer, the name used in the `roles` claim."""
    return Role.Name(role).removeprefix(PREFIX).lower()


class IdentityServicer(identity_service_pb2_grpc.IdentityServiceServicer):
    def __init__(self, issuer: TokenIssuer, dev_tokens: bool, default_ttl: int) -> None:
        self.issuer = issuer
        self.dev_tokens = dev_tokens
        self.default_ttl = default_ttl

    def IssueDevelopmentToken(self, request: pb.IssueDevelopmentTokenRequest, context) -> pb.IssueDevelopmentTokenResponse:
        if not self.dev_tokens:
            raise DevelopmentTokensDisabled()
        roles = [role_claim(r) for r in request.roles]
        if not request.agency_id and any(r != APPLICANT for r in roles):
            raise InvalidArgument.field("agency_id", "is required for every role but applicant")
        ttl = request.ttl.seconds if request.HasField("ttl") else self.default_ttl
        subject = request.account_id or str(uuid.uuid4())
        token = self.issuer.issue(subject, roles, request.agency_id, request.display_name, max(ttl, 1))
        return pb.IssueDevelopmentTokenResponse(
            access_token=token.access_token,
            token_type="Bearer",
            expire_time=Timestamp(seconds=token.expires_at),
            account_id=subject,
        )
