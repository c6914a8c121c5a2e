"""The OIDC provider of the identity service, on authlib.

``server`` (authlib's AuthorizationServer on Starlette), ``grants`` (authlib's grants and
endpoints filled in), ``routes`` (the HTTP endpoints), ``login_page``, ``store`` (PostgreSQL),
``clients``, ``models``, ``federation`` (login through an upstream provider), ``accounts``
(what the provider needs of accounts), ``identity_accounts`` (the service's own),
``dev_accounts`` (a file of accounts for development),
``config``. ``build_provider`` assembles them.
"""

from __future__ import annotations

import logging

from motcua.kernel.config import Settings

from ..keys import SigningKeys
from .accounts import AccountDirectory
from .clients import load_clients
from .config import OidcConfig
from .dev_accounts import DevAccounts
from .federation import FederatedLogin
from .routes import OidcRoutes
from .server import Provider
from .store import OidcStore

log = logging.getLogger(__name__)


def build_provider(settings: Settings, keys: SigningKeys, token_ttl: int,
                   accounts: AccountDirectory | None = None) -> OidcRoutes:
    """accounts: the service's own (identity_accounts.py); a development accounts file
    (MOTCUA_IDENTITY_OIDC_DEV_ACCOUNTS) takes their place when set."""
    assert settings.auth is not None
    config = OidcConfig.from_env(settings.auth.issuer)
    store = OidcStore(settings)
    store.migrate()
    # The configuration is the registry: a client left out of it (or every client, without a
    # clients file) is removed, its refresh tokens with it.
    clients = load_clients(config.clients_file) if config.clients_file is not None else []
    removed = store.register_clients(clients)
    if removed:
        log.warning("OIDC clients no longer configured were removed", extra={"client_ids": removed})
    if config.dev_accounts_file is not None:
        log.warning("OIDC logins against development accounts from a file (not for production)")
        accounts = DevAccounts.load(config.dev_accounts_file)
    elif accounts is None:
        accounts = DevAccounts([])
    provider = Provider(config, store, accounts, keys, settings.auth, token_ttl)
    federation = None
    if config.federation is not None:
        federation = FederatedLogin(provider, config.federation)
    return OidcRoutes(provider, federation)
