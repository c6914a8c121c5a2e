"""The caller's address from the gateway to the services, with real processes: the public
status lookup (throttled per caller) through gateways that trust the test client as their
ingress or trust nobody, and straight to a dossiers service that does not trust its peer."""

from __future__ import annotations

import grpc

from motcua.dossiers.v1 import dossier_service_pb2 as pb
from motcua.kernel.client_address import CLIENT_ADDRESS_METADATA
from tests.support.public_clients import anonymous_dossiers_stub

LOOKUP = {"code": "000.00.10.H56-261121-0001", "phone": "0912345678"}  # no such dossier: 404 until throttled
BURST = 3
# Buckets that do not refill while the test runs, however slow the machine.
THROTTLE = {"MOTCUA_DOSSIERS_LOOKUP_BURST": str(BURST), "MOTCUA_DOSSIERS_LOOKUP_PER_MINUTE": "0.01"}


def look_up(gateway, address: str) -> int:
    return gateway.call("POST", "/v1/dossiers:lookUpStatus", LOOKUP, anonymous=True,
                        headers={"X-Forwarded-For": address}).status


def test_each_caller_behind_the_gateway_has_its_own_bucket_and_nobody_untrusted_picks_theirs(stack, start_gateway):
    # Two replicas on one database (one bucket per caller for both): one trusts loopback, where
    # the gateways are, as the local stack does; the other trusts a network none of us is in.
    trusting = stack.service("dossiers", **THROTTLE).start()
    untrusting = stack.service("dossiers", MOTCUA_TRUSTED_PROXIES="192.0.2.0/24", **THROTTLE).start()
    behind_ingress = start_gateway({"dossiers": trusting.addr})
    exposed = start_gateway({"dossiers": trusting.addr}, MOTCUA_TRUSTED_PROXIES="")
    try:
        # Behind the ingress, callers are told apart by what it appends to X-Forwarded-For.
        assert [look_up(behind_ingress, "198.51.100.50") for _ in range(BURST + 1)] == [404] * BURST + [429]
        assert look_up(behind_ingress, "6.6.6.6, 198.51.100.51") == 404

        # Straight to a service that does not trust its peer, the address metadata counts for
        # nothing: every call is the peer's (loopback), whatever address it claims.
        stub = anonymous_dossiers_stub(untrusting.addr)
        codes = []
        for i in range(BURST + 1):
            try:
                stub.LookUpDossierStatus(pb.LookUpDossierStatusRequest(**LOOKUP),
                                         metadata=[(CLIENT_ADDRESS_METADATA, f"203.0.113.{i}")], timeout=20)
            except grpc.RpcError as e:
                codes.append(e.code())
        assert codes == [grpc.StatusCode.NOT_FOUND] * BURST + [grpc.StatusCode.RESOURCE_EXHAUSTED]

        # A gateway that trusts no proxy names its peer (loopback, now out of lookups) whatever
        # X-Forwarded-For says; the trusting one still tells a fresh caller apart.
        assert look_up(exposed, "203.0.113.77") == 429
        assert look_up(behind_ingress, "203.0.113.77") == 404
    finally:
        assert trusting.terminate() == 0
        assert untrusting.terminate() == 0
