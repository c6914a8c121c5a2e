"""What authlib's grants handle: the signed-in person, and the stored code or refresh token
in the shape authlib asks of them (its *Mixin interfaces)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from .accounts import Account
from .clients import Client
from .store import Code, RefreshToken


@dataclass(frozen=True)
class EndUser:
    """A person signed in through a login session (``session_id``)."""

    account: Account
    session_id: UUID | None
    auth_time: int
    amr: tuple[str, ...] = ("pwd",)

    @property
    def subject(self) -> str:
        return str(self.account.account_id)

    def get_user_id(self) -> str:
        return self.subject


@dataclass(frozen=True)
class StoredCode(AuthorizationCodeMixin):
    record: Code

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce

    def get_auth_time(self) -> int:
        return self.record.auth_time

    def get_acr(self) -> str:
        return ""

    def get_amr(self) -> list[str]:
        return list(self.record.amr)


@dataclass(frozen=True)
class StoredRefreshToken(TokenMixin):
    record: RefreshToken

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.record.client_id

    def get_scope(self) -> str:
        return self.record.scope

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False  # the store hands out only live ones

    def is_revoked(self) -> bool:
        return False
