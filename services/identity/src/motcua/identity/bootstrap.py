"""Composition root of the identity service: the token path (signing keys, the JWKS over
HTTP, development tokens), and accounts, agencies, grants and credentials on an event
store whose personal fields are sealed per account; the OIDC provider
(oidc/)."""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

from eventsourcing.utils import get_topic

from motcua.identity.v1 import identity_service_pb2, identity_service_pb2_grpc
from motcua.kernel.audit_api import AuditLog
from motcua.kernel.config import ConfigError, Settings
from motcua.kernel.grpc_server import serve
from motcua.kernel.legacy_cipher import LegacyStoreCipher
from motcua.kernel.relay import OutboxRelay
from motcua.kernel.runtime import Service
from motcua.kernel.subject_keys import KeyEncryptionKeys

from .api import IdentityServicer
from .application import IdentityApplication
from .authentication import Authentication
from .config import IdentityConfig
from .consumers import erasures_consumer
from .endpoints import http_app
from .keys import SigningKeys
from .oidc import build_provider
from .oidc.identity_accounts import IdentityAccounts
from .outbox import integration_event
from .passwords import Passwords
from .storekeys import EVENT_KEY_BYTES, LOOKUP_KEY_BYTES, Lookup, load_key
from .tokens import DevelopmentTokens, TokenIssuer

log = logging.getLogger(__name__)


def legacy_store(settings: Settings, config: IdentityConfig) -> Settings:
    """The settings reading events that the store-wide key encrypted before per-account keys
    replaced it (kernel.legacy_cipher): with CIPHER_KEY from the environment or the key file
    when one exists; without either, a store that never had one."""
    store = dict(settings.eventstore_env)
    if not store.get("CIPHER_KEY") and config.event_key_file.is_file():
        key = load_key(config.event_key_file, EVENT_KEY_BYTES, False, "legacy event store key")
        store["CIPHER_KEY"] = base64.b64encode(key).decode()
    if store.get("CIPHER_KEY"):
        store["CIPHER_TOPIC"] = get_topic(LegacyStoreCipher)
    else:
        store.pop("CIPHER_TOPIC", None)
    return dataclasses.replace(settings, eventstore_env=store)


def build_application(settings: Settings, config: IdentityConfig,
                      clock: Callable[[], datetime] | None = None) -> tuple[IdentityApplication, Authentication]:
    lookup = Lookup(load_key(config.lookup_key_file, LOOKUP_KEY_BYTES, config.dev_keys, "lookup key"))
    keks = KeyEncryptionKeys.from_directory(config.subject_keks_dir, config.subject_kek_id, config.dev_keys)
    app = IdentityApplication(legacy_store(settings, config), lookup, keks, **({"clock": clock} if clock else {}))
    auth = Authentication(app, Passwords(config.argon2), config.password_min_length, config.totp_issuer,
                          config.account_throttle, config.source_throttle, config.spread_throttle,
                          config.known_address_for)
    return app, auth


def build(settings: Settings) -> Service:
    if settings.auth is None:
        raise ConfigError("MOTCUA_AUTH_JWKS_URL and MOTCUA_AUTH_ISSUER are not set: identity issues what they name")
    config = IdentityConfig.from_env()
    keys = SigningKeys.load(config.keys_dir, generate=config.dev_keys)
    if config.dev_tokens:
        log.warning("development tokens are on: anyone can get a token for any role (not for production)")
    app, auth = build_application(settings, config)
    servicer = IdentityServicer(
        app, DevelopmentTokens(TokenIssuer(keys, settings.auth), config.dev_tokens, config.token_ttl)
    )
    return Service(
        settings=app.settings,
        app=app,
        registrations=[serve(identity_service_pb2, identity_service_pb2_grpc, servicer)],
        relay=OutboxRelay(app, integration_event),
        consumers=[erasures_consumer(app)],
        audit=AuditLog(app, tree=app),
        http_app=http_app(keys, build_provider(app.settings, keys, config.token_ttl,
                                              IdentityAccounts(app, auth)).routes()),
    )
