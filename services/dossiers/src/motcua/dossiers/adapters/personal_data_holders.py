"""The other services holding a person's data, asked for it when the person's data is exported
or erased: identity (the account, its grants and sign-ins) and notifications (contact points
and notices). gRPC calls on the kernel's traced channel carrying the caller's bearer token, so
each service decides for itself whether the caller may see what it holds (no service reads
another's database).

An address left empty means the service is not asked: the export then says so, rather than
passing for complete.
"""

from __future__ import annotations

import json
from typing import Any

import grpc

from motcua.identity.v1 import identity_service_pb2 as ipb, identity_service_pb2_grpc
from motcua.kernel import grpc_client
from motcua.kernel.errors import DomainError, NotFound, PermissionDenied
from motcua.notifications.v1 import notification_service_pb2 as npb, notification_service_pb2_grpc

from .signing_client import _reason

TIMEOUT = 30.0


class PersonalDataUnavailable(DomainError):
    """A service holding part of the person's data did not answer (FAILED_PRECONDITION): an
    export or erasure must not pass for complete without it."""


def _refusal(error: grpc.RpcError, service: str, action: str) -> Exception:
    if error.code() == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDenied(action, f"the {service} service refused: {error.details()}",
                                error_reason=_reason(error) or "PERMISSION_DENIED")
    return PersonalDataUnavailable(f"the {service} service did not answer: {error.code().name} {error.details()}")


class PersonalDataHolders:
    def __init__(self, identity_addr: str, notifications_addr: str) -> None:
        self._identity = identity_service_pb2_grpc.IdentityServiceStub(
            grpc_client.channel(identity_addr)) if identity_addr else None
        self._notifications = notification_service_pb2_grpc.NotificationServiceStub(
            grpc_client.channel(notifications_addr)) if notifications_addr else None

    @property
    def asks_identity(self) -> bool:
        return self._identity is not None

    def account_data(self, account_id: str, authorization: str, action: str) -> dict[str, Any] | None:
        """Identity's document of the account (None: no identity service configured); NotFound
        when identity holds no such account."""
        if self._identity is None:
            return None
        try:
            answer = self._identity.ExportAccountData(ipb.ExportAccountDataRequest(account_id=account_id),
                                                      metadata=(("authorization", authorization),), timeout=TIMEOUT)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("account", account_id) from None
            raise _refusal(e, "identity", action) from None
        return json.loads(answer.document)

    def notifications_data(self, account_id: str, dossier_ids: list[str], authorization: str,
                           action: str) -> dict[str, Any] | None:
        """Notifications' document of the person (None: no notifications service configured)."""
        if self._notifications is None:
            return None
        try:
            answer = self._notifications.ExportRecipientData(
                npb.ExportRecipientDataRequest(account_id=account_id, dossier_ids=dossier_ids),
                metadata=(("authorization", authorization),), timeout=TIMEOUT)
        except grpc.RpcError as e:
            raise _refusal(e, "notifications", action) from None
        return json.loads(answer.document)
