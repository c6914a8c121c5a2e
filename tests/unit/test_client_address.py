"""The one rule for the caller's address (kernel client_address): trusted proxies as CIDR
ranges, X-Forwarded-For walked from the right, untrusted peers' headers ignored."""

from __future__ import annotations

import pytest

from motcua.kernel.client_address import (
    CLIENT_ADDRESS_METADATA,
    TrustedProxies,
    calling_from,
    current_client_address,
    grpc_client_address,
    grpc_peer_host,
    parse_address,
    throttle_bucket,
)
from motcua.kernel.config import ConfigError, Settings

CLUSTER = TrustedProxies.parse("10.0.0.0/8, 127.0.0.1, fd00::/8")


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    # An untrusted peer is the caller whatever it writes.
    ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),
    ("2001:db8::7", ["198.51.100.1"], "2001:db8::7"),
    # A trusted peer without a header: the peer itself.
    ("10.1.2.3", [], "10.1.2.3"),
    # The ingress (trusted) appended the browser's address: that one.
    ("10.1.2.3", ["198.51.100.1"], "198.51.100.1"),
    # What the browser wrote itself stays left of the entry the ingress appended.
    ("10.1.2.3", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
    # Several trusted hops (ingress, gateway) are skipped, across several header lines.
    ("127.0.0.1", ["6.6.6.6, 198.51.100.1", "10.9.9.9"], "198.51.100.1"),
    # IPv6 clients and proxies, with ports and brackets.
    ("fd00::2", ["[2001:db8::1]:51000, 10.0.0.5:443"], "2001:db8::1"),
    ("10.0.0.1", ["2001:DB8:0:0::1"], "2001:db8::1"),
    # IPv4-mapped IPv6 is the IPv4 address.
    ("::ffff:10.0.0.1", ["::ffff:198.51.100.9"], "198.51.100.9"),
    # Every hop trusted: the leftmost (an internal caller).
    ("10.0.0.1", ["10.0.0.9, 10.0.0.8"], "10.0.0.9"),
    # Garbage left of a trusted hop: the last hop that can be vouched for.
    ("10.0.0.1", ["unknown, 10.0.0.8"], "10.0.0.8"),
    ("10.0.0.1", ["198.51.100.1, not-an-ip"], "10.0.0.1"),
])
def test_the_first_untrusted_hop_from_the_right_is_the_caller(peer, forwarded, client):
    assert CLUSTER.client_address(peer, forwarded) == client


def test_nobody_is_trusted_by_default():
    nobody = TrustedProxies.parse("")
    assert nobody.client_address("127.0.0.1", ["198.51.100.1"]) == "127.0.0.1"


def test_grpc_peers_and_the_gateways_metadata():
    assert grpc_peer_host("ipv4:127.0.0.1:5123") == "127.0.0.1"
    assert grpc_peer_host("ipv6:[::1]:5123") == "::1"
    assert grpc_peer_host("ipv6:%5B2001:db8::1%5D:5123") == "2001:db8::1"
    assert grpc_peer_host("unix:/tmp/socket") == "unix:/tmp/socket"
    metadata = [("authorization", "Bearer x"), (CLIENT_ADDRESS_METADATA, "198.51.100.1")]
    assert grpc_client_address("ipv4:127.0.0.1:5123", metadata, CLUSTER) == "198.51.100.1"
    assert grpc_client_address("ipv4:203.0.113.7:5123", metadata, CLUSTER) == "203.0.113.7"
    assert grpc_client_address("ipv6:[fd00::1]:5123", [], CLUSTER) == "fd00::1"


def test_ipv6_callers_are_throttled_by_their_64():
    assert throttle_bucket("2001:db8:1:2:aaaa::1") == throttle_bucket("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert throttle_bucket("198.51.100.1") == "198.51.100.1"
    assert parse_address("fe80::1%eth0") == parse_address("fe80::1")


def test_the_current_client_address_is_per_request():
    assert current_client_address() == ""
    with calling_from("198.51.100.1"):
        assert current_client_address() == "198.51.100.1"
    assert current_client_address() == ""


def test_trusted_proxies_are_a_setting_and_bad_ranges_are_refused_by_name():
    env = {"POSTGRES_HOST": "h", "POSTGRES_PORT": "1", "POSTGRES_USER": "u", "MOTCUA_SERVICE": "dossiers"}
    settings = Settings.from_env({**env, "MOTCUA_TRUSTED_PROXIES": "10.0.0.0/8,::1"})
    assert settings.trusted_proxies.client_address("::1", ["198.51.100.1"]) == "198.51.100.1"
    assert Settings.from_env(env).trusted_proxies == TrustedProxies()
    with pytest.raises(ConfigError, match="MOTCUA_TRUSTED_PROXIES"):
        Settings.from_env({**env, "MOTCUA_TRUSTED_PROXIES": "10.0.0.0/33"})
