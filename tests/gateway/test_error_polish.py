"""Errors for people and for retrying clients, with real processes: a throttled call says when to
come back (google.rpc.RetryInfo, and Retry-After through the gateway), and every error carries a
google.rpc.LocalizedMessage in Vietnamese or English as the caller asks, beside the developer
message, whether the service or the gateway itself refused the call."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2

from motcua.dossiers.v1 import dossier_service_pb2 as pb
from tests.gateway.support import Gateway, StartGateway
from tests.support.clients import details
from tests.support.public_clients import anonymous_dossiers_stub

LOOKUP = {"code": "000.00.10.H56-261121-0001", "phone": "0912345678"}  # no such dossier: 404 until throttled
# One lookup per address, refilled at 0.01 a minute: one call every 6000 s.
THROTTLE = {"MOTCUA_DOSSIERS_LOOKUP_BURST": "1", "MOTCUA_DOSSIERS_LOOKUP_PER_MINUTE": "0.01"}
RETRY_SECONDS = 6000
LOCALIZED = "type.googleapis.com/google.rpc.LocalizedMessage"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


@pytest.fixture(scope="module")
def dossiers(stack) -> Iterator[str]:
    # A database of its own: the buckets this module empties (loopback's among them) stay here.
    database = f"motcua_dossiers_s{uuid.uuid4().hex[:8]}"
    stack.postgres.create_database(database)
    service = stack.service("dossiers", POSTGRES_DBNAME=database, **THROTTLE).start()
    yield service.addr
    assert service.terminate() == 0


@pytest.fixture(scope="module")
def gw(dossiers: str, start_module_gateway: StartGateway) -> Gateway:
    return start_module_gateway({"dossiers": dossiers})


def fresh_address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}, 2001:db8:{uuid.uuid4().hex[:4]}::1"


def look_up(gw: Gateway, address: str, language: str | None = None):
    headers = {"X-Forwarded-For": address, **({"Accept-Language": language} if language else {})}
    return gw.call("POST", "/v1/dossiers:lookUpStatus", LOOKUP, anonymous=True, headers=headers)


def of_type(reply, type_url: str) -> list[dict]:
    return [d for d in reply.json["error"]["details"] if d["@type"] == type_url]


def test_a_throttled_call_says_when_to_retry_in_a_header_and_in_retry_info(gw: Gateway):
    address = fresh_address()
    assert look_up(gw, address).status == 404
    throttled = look_up(gw, address)
    assert throttled.status == 429, throttled.raw
    assert throttled.json["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert throttled.headers["retry-after"] == str(RETRY_SECONDS)
    assert of_type(throttled, RETRY_INFO) == [{"@type": RETRY_INFO, "retry_delay": f"{RETRY_SECONDS}s"}]
    reasons = [d["reason"] for d in throttled.json["error"]["details"] if d["@type"].endswith("ErrorInfo")]
    assert reasons == ["THROTTLED"]
    # In Vietnamese when the caller asks for no language.
    assert of_type(throttled, LOCALIZED) == [{
        "@type": LOCALIZED, "locale": "vi-VN",
        "message": "Bạn đã gửi quá nhiều yêu cầu; vui lòng thử lại sau ít phút."}]


def test_a_service_error_is_worded_in_the_language_asked_for(gw: Gateway):
    english = look_up(gw, fresh_address(), "en-GB,en;q=0.9,vi;q=0.5")
    assert english.status == 404
    assert of_type(english, LOCALIZED) == [{"@type": LOCALIZED, "locale": "en",
                                            "message": "What was asked for was not found."}]
    assert "not found" in english.json["error"]["message"]  # the developer message stays
    vietnamese = look_up(gw, fresh_address(), "fr;q=1, vi-VN;q=0.8, en;q=0.7")
    assert of_type(vietnamese, LOCALIZED)[0]["message"] == "Không tìm thấy nội dung được yêu cầu."


def test_the_gateways_own_errors_are_localized_too(gw: Gateway):
    reply = gw.call("POST", "/v1/dossiers:lookUpStatus", {"code": "x", "no_such_field": 1}, anonymous=True,
                    headers={"Accept-Language": "en"})
    assert reply.status == 400, reply.raw
    assert of_type(reply, LOCALIZED) == [{
        "@type": LOCALIZED, "locale": "en",
        "message": "Some of the information sent is not valid; please check the fields named."}]
    unrouted = gw.call("GET", "/v1/no-such-thing", anonymous=True)
    assert unrouted.status == 404
    assert of_type(unrouted, LOCALIZED)[0]["locale"] == "vi-VN"


def test_over_grpc_the_status_carries_retry_info_and_the_localized_message(dossiers: str):
    stub = anonymous_dossiers_stub(dossiers)
    request = pb.LookUpDossierStatusRequest(**LOOKUP)
    with pytest.raises(grpc.RpcError) as first:  # loopback's one lookup
        stub.LookUpDossierStatus(request, timeout=20)
    assert first.value.code() == grpc.StatusCode.NOT_FOUND
    (localized,) = details(first.value, error_details_pb2.LocalizedMessage)
    assert localized.locale == "vi-VN"
    with pytest.raises(grpc.RpcError) as throttled:
        stub.LookUpDossierStatus(request, metadata=(("accept-language", "en"),), timeout=20)
    error = throttled.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    (retry,) = details(error, error_details_pb2.RetryInfo)
    assert retry.retry_delay.seconds == RETRY_SECONDS
    (localized,) = details(error, error_details_pb2.LocalizedMessage)
    assert (localized.locale, localized.message) == ("en", "Too many requests; please try again in a few minutes.")
