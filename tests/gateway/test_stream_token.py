"""A browser's EventSource cannot set an Authorization header: a live stream (and only a stream)
takes the access token as the `access_token` query parameter. Against the real notifications
service, which verifies the token itself: what it answers shows which caller reached it."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from motcua.identity.v1.role_pb2 import Role
from tests.gateway.support import Gateway, StartGateway
from tests.support import auth
from tests.support.dossier_events import DossierEvents

VN = timezone(timedelta(hours=7))


@pytest.fixture(scope="module")
def gw(stack, start_module_gateway: StartGateway) -> Iterator[Gateway]:
    database = f"motcua_notifications_s{uuid.uuid4().hex[:8]}"  # the hand-made events stay here
    stack.postgres.create_database(database)
    notifications = stack.service("notifications", POSTGRES_DBNAME=database).start()
    yield start_module_gateway({"notifications": notifications.addr})
    assert notifications.terminate() == 0


def applicant() -> tuple[str, str]:
    account_id = str(uuid.uuid4())
    return account_id, auth.issue(roles=(Role.ROLE_APPLICANT,), account_id=account_id).access_token


def open_stream(gw: Gateway, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    url = urlsplit(gw.url)
    assert url.hostname is not None
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    connection.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
    return connection.getresponse()


def next_event(response: http.client.HTTPResponse) -> dict:
    """The data of the next `message` event (comments and keep-alives skipped)."""
    block: list[str] = []
    while True:
        line = response.readline().decode("utf-8")
        assert line, "the stream ended"
        if line.strip():
            block.append(line.strip())
            continue
        if any(b.startswith("event: message") for b in block):
            return json.loads(next(b for b in block if b.startswith("data: ")).removeprefix("data: "))
        block = []


def test_an_event_source_streams_with_the_token_in_the_query(gw: Gateway, stack):
    account_id, token = applicant()
    response = open_stream(gw, f"/v1/accounts/{account_id}/inbox:stream?access_token={token}")
    try:
        assert response.status == 200, response.read()
        assert (response.getheader("Content-Type") or "").startswith("text/event-stream")
        assert response.getheader("Referrer-Policy") == "no-referrer"
        events = DossierEvents(stack.kafka.bootstrap)
        try:
            events.send(events.received(account_id, datetime(2026, 1, 12, 9, tzinfo=VN),
                                        code="000.00.12.H56-260105-0042"))
        finally:
            events.close()
        notification = next_event(response)["notification"]
        assert notification["recipient_account_id"] == account_id
        assert notification["subject"] == "Hồ sơ 000.00.12.H56-260105-0042 đã được tiếp nhận"
    finally:
        response.close()


def test_the_service_sees_the_caller_of_the_query_token(gw: Gateway):
    account_id, _ = applicant()
    _, someone_else = applicant()
    response = open_stream(gw, f"/v1/accounts/{account_id}/inbox:stream?access_token={someone_else}")
    body = json.loads(response.read())
    assert response.status == 403 and body["error"]["status"] == "PERMISSION_DENIED", body


def test_without_a_token_or_with_a_bad_one_a_stream_is_refused(gw: Gateway):
    account_id, _ = applicant()
    for query in ("", "?access_token=not-a-token"):
        response = open_stream(gw, f"/v1/accounts/{account_id}/inbox:stream{query}")
        body = json.loads(response.read())
        assert response.status == 401 and body["error"]["status"] == "UNAUTHENTICATED", (query, body)


def test_other_routes_take_no_token_in_the_query(gw: Gateway):
    account_id, token = applicant()
    # Without a header the token in the query counts for nothing: refused before the body.
    anonymous = gw.call("GET", f"/v1/notifications?recipient_account_id={account_id}&access_token={token}",
                        anonymous=True)
    assert anonymous.status == 401, anonymous.raw
    # With one, the parameter is an unknown field of the request, named.
    reply = gw.call("GET", f"/v1/notifications?recipient_account_id={account_id}&access_token={token}",
                    headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 400, reply.raw
    assert reply.json["error"]["details"][0]["field_violations"][0]["field"] == "access_token"
