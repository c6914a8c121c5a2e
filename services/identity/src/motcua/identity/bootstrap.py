"""Composition root of the identity service.

Today: the token path (signing keys, the JWKS over HTTP, development tokens). Accounts and
agencies answer UNIMPLEMENTED until the service's own domain lands.
"""

from __future__ import annotations

import logging

from motcua.identity.v1 import identity_service_pb2, identity_service_pb2_grpc
from motcua.kernel.config import ConfigError, Settings
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.grpc_server import serve
from motcua.kernel.runtime import Service

from .api import IdentityServicer
from .config import IdentityConfig
from .endpoints import http_app
from .keys import SigningKeys
from .tokens import TokenIssuer

log = logging.getLogger(__name__)


class IdentityApplication(ServiceApplication):
    name = "identity"


def build(settings: Settings) -> Service:
    if settings.auth is None:
        raise ConfigError("MOTCUA_AUTH_JWKS_URL and MOTCUA_AUTH_ISSUER are not set: identity issues what they name")
    config = IdentityConfig.from_env()
    keys = SigningKeys.load(config.keys_dir, generate=config.dev_keys)
    if config.dev_tokens:
        log.warning("development tokens are on: anyone can get a token for any role (not for production)")
    servicer = IdentityServicer(TokenIssuer(keys, settings.auth), config.dev_tokens, config.token_ttl)
    return Service(
        settings=settings,
        app=IdentityApplication(settings),
        registrations=[serve(identity_service_pb2, identity_service_pb2_grpc, servicer,
                             public=("IssueDevelopmentToken",))],
        http_app=http_app(keys),
    )
