"""The OIDC clients file: a confidential client's secret may come from a file of its own (a
Kubernetes Secret mounted beside a ConfigMap), so the clients file holds no secret."""

from __future__ import annotations

import json

import pytest

from motcua.identity.oidc.clients import load_clients
from motcua.kernel.config import ConfigError

SERVICE = {"client_id": "cong-thanh-toan", "token_endpoint_auth_method": "client_secret_basic",
           "grant_types": ["client_credentials"], "roles": ["desk_officer"], "agency_id": "000.00.10.H56"}


def test_a_secret_is_read_from_its_file_relative_to_the_clients_file(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "cong-thanh-toan").write_text("bí-mật-dài-ngẫu-nhiên\n", encoding="utf-8")
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{**SERVICE, "client_secret_file": "secrets/cong-thanh-toan"}]), encoding="utf-8")
    (client,) = load_clients(clients)
    assert client.check_client_secret("bí-mật-dài-ngẫu-nhiên")  # the trailing newline is not part of it
    assert not client.check_client_secret("bí-mật-dài-ngẫu-nhiên\n") and not client.check_client_secret("")
    assert "client_secret_file" not in client.client_metadata


@pytest.mark.parametrize("content, message", [(None, "cannot read its client_secret_file"), ("  \n", "is empty")])
def test_a_missing_or_empty_secret_file_stops_the_start(tmp_path, content, message):
    if content is not None:
        (tmp_path / "secret").write_text(content, encoding="utf-8")
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{**SERVICE, "client_secret_file": str(tmp_path / "secret")}]), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_clients(clients)


def test_a_client_may_ask_only_for_its_registered_scopes_and_keeps_only_those_on_refresh(tmp_path):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{**SERVICE, "client_secret": "s" * 32, "scope": "api roles",
                                    "audience": "motcua-thanh-toan"}]), encoding="utf-8")
    (client,) = load_clients(clients)
    assert client.allows_scope("api") and client.allows_scope("roles api") and client.allows_scope("")
    assert not client.allows_scope("api openid") and not client.allows_scope("made-up")
    assert client.allowed_part("openid api roles") == "api roles"  # a narrowed registration
    assert client.audience == "motcua-thanh-toan"


@pytest.mark.parametrize("entry, message", [({"audience": ["a", "b"]}, "audience must be a string"),
                                            ({"scope": ["api"]}, "scope must be a space-separated string")])
def test_a_malformed_audience_or_scope_stops_the_start(tmp_path, entry, message):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{**SERVICE, "client_secret": "s" * 32, **entry}]), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_clients(clients)
