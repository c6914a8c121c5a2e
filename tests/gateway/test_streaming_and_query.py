"""Server streaming (SSE and NDJSON) and query parameters, through the real gateway process to a
real
gRPC server: a stand-in NotificationService (the test's, on a free port) whose behaviour each test
chooses, so that what reaches the backend and what it streams back are both visible."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from motcua.devstack import free_port
from motcua.notifications.v1 import (
    notification_pb2,
    notification_service_pb2 as pb,
    notification_service_pb2_grpc as rpc,
)
from tests.gateway.support import Gateway, StartGateway
from tests.support.auth import default_token

TWO = "11111111-1111-4111-8111-111111111111"  # streams two notifications, then ends
MISSING = "22222222-2222-4222-8222-222222222222"  # fails before the first message
BREAKS = "33333333-3333-4333-8333-333333333333"  # one message, then fails
ENDLESS = "44444444-4444-4444-8444-444444444444"  # one message, then waits until cancelled


def notification(n: int) -> notification_pb2.Notification:
    return notification_pb2.Notification(notification_id=str(uuid.UUID(int=n)), channel=notification_pb2.CHANNEL_IN_APP,
                                         subject=f"Hồ sơ số {n} đã được tiếp nhận", version=n)


class StandIn(rpc.NotificationServiceServicer):
    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.requests: list[object] = []

    def StreamInbox(self, request, context):
        if request.account_id == MISSING:
            info = error_details_pb2.ResourceInfo(resource_type="Account", resource_name=request.account_id)
            detail = status_pb2.Status().details.add()
            detail.Pack(info)
            status = status_pb2.Status(code=code_pb2.NOT_FOUND, message="no such account", details=[detail])
            context.abort_with_status(rpc_status.to_status(status))
        yield pb.StreamInboxResponse(notification=notification(1))
        if request.account_id == TWO:
            yield pb.StreamInboxResponse(notification=notification(2))
        elif request.account_id == BREAKS:
            context.abort(grpc.StatusCode.ABORTED, "the inbox moved")
        elif request.account_id == ENDLESS:
            context.add_callback(self.cancelled.set)
            while context.is_active():
                time.sleep(0.05)

    def ListNotifications(self, request, context):
        """Echoes the request it got, as JSON, in next_page_token."""
        self.requests.append(request)
        return pb.ListNotificationsResponse(next_page_token=json_format.MessageToJson(request,
                                                                                     preserving_proto_field_name=True))

    def MarkNotificationRead(self, request, context):
        self.requests.append(request)
        return pb.MarkNotificationReadResponse()


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[StandIn, str]]:
    # Only the RPCs these tests call: the generated base answers the others UNIMPLEMENTED.
    servicer = StandIn()  # type: ignore[abstract]
    server = grpc.server(futures.ThreadPoolExecutor(8))
    rpc.add_NotificationServiceServicer_to_server(servicer, server)
    addr = f"127.0.0.1:{free_port()}"
    assert server.add_insecure_port(addr)
    server.start()
    yield servicer, addr
    server.stop(0).wait()


@pytest.fixture(scope="module")
def gw(stand_in, start_module_gateway: StartGateway) -> Gateway:
    return start_module_gateway({"notifications": stand_in[1]})


def test_ndjson_stream(gw: Gateway):
    reply = gw.call("GET", f"/v1/accounts/{TWO}/inbox:stream")
    assert reply.status == 200, reply.raw
    assert reply.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in reply.raw.decode("utf-8").splitlines()]
    assert [line["result"]["notification"]["subject"] for line in lines] == [
        "Hồ sơ số 1 đã được tiếp nhận", "Hồ sơ số 2 đã được tiếp nhận"]
    assert lines[1]["result"]["notification"]["version"] == "2"
    assert "Hồ sơ".encode() in reply.raw


def test_server_sent_events(gw: Gateway):
    reply = gw.call("GET", f"/v1/accounts/{TWO}/inbox:stream", headers={"Accept": "text/event-stream"})
    assert reply.status == 200, reply.raw
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = [block for block in reply.raw.decode("utf-8").split("\n\n") if block and not block.startswith(":")]
    assert len(events) == 2, events
    for n, block in enumerate(events, 1):
        kind, data = block.split("\n")
        assert kind == "event: message"
        assert json.loads(data.removeprefix("data: "))["notification"]["notification_id"] == str(uuid.UUID(int=n))


def test_a_stream_that_fails_at_once_is_an_ordinary_error(gw: Gateway):
    reply = gw.call("GET", f"/v1/accounts/{MISSING}/inbox:stream", headers={"Accept": "text/event-stream"})
    assert reply.status == 404, reply.raw
    error = reply.json["error"]
    assert error["status"] == "NOT_FOUND"
    resources = [d for d in error["details"] if d["@type"] == "type.googleapis.com/google.rpc.ResourceInfo"]
    assert resources == [{"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resource_type": "Account",
                          "resource_name": MISSING}]


def test_a_stream_that_fails_later_ends_with_an_error_line_or_event(gw: Gateway):
    reply = gw.call("GET", f"/v1/accounts/{BREAKS}/inbox:stream")
    assert reply.status == 200
    first, last = [json.loads(line) for line in reply.raw.decode().splitlines()]
    assert "result" in first
    assert last["error"]["status"] == "ABORTED" and last["error"]["code"] == 409

    reply = gw.call("GET", f"/v1/accounts/{BREAKS}/inbox:stream", headers={"Accept": "text/event-stream"})
    blocks = [b for b in reply.raw.decode().split("\n\n") if b and not b.startswith(":")]
    assert blocks[-1].startswith("event: error\n")
    assert json.loads(blocks[-1].split("\ndata: ", 1)[1])["error"]["status"] == "ABORTED"


def test_a_client_going_away_cancels_the_backend_stream(gw: Gateway, stand_in):
    servicer, _ = stand_in
    host, port = gw.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", f"/v1/accounts/{ENDLESS}/inbox:stream",
                 headers={"Authorization": f"Bearer {default_token()}"})  # refused before the backend without one
    response = conn.getresponse()
    assert response.status == 200
    assert "result" in json.loads(response.readline())
    conn.close()  # the client leaves while the backend's stream is still open
    assert servicer.cancelled.wait(10), "the backend stream was not cancelled"


def test_query_parameters_fill_the_request(gw: Gateway, stand_in):
    account = str(uuid.uuid4())
    reply = gw.call("GET", f"/v1/notifications?recipientAccountId={account}&page_size=20&channel=CHANNEL_SMS"
                           "&page_token=%C4%90%C3%A0+N%E1%BA%B5ng%2F1")
    assert reply.status == 200, reply.raw
    assert reply.json["notifications"] == []
    assert json.loads(reply.json["next_page_token"]) == {
        "recipient_account_id": account, "page_size": 20, "channel": "CHANNEL_SMS", "page_token": "Đà Nẵng/1"}
    body = reply.json
    assert gw.call("GET", f"/v1/notifications?recipient_account_id={account}&page_size=20&channel=1"
                          "&pageToken=%C4%90%C3%A0%20N%E1%BA%B5ng/1").json == body  # enum by number too
    reply = gw.call("GET", "/v1/notifications?page_size=1&page_size=2")
    assert reply.status == 400 and reply.json["error"]["details"][0]["field_violations"][0]["field"] == "page_size"
    reply = gw.call("GET", "/v1/notifications?channel=CHANNEL_PIGEON")
    assert reply.status == 400 and reply.json["error"]["details"][0]["field_violations"][0]["field"] == "channel"


def test_a_path_segment_is_percent_decoded(gw: Gateway, stand_in):
    servicer, _ = stand_in
    reply = gw.call("POST", "/v1/notifications/a%2Fb%20c:markRead", {})
    assert reply.status == 200, reply.raw
    assert reply.json == {}
    assert servicer.requests[-1].notification_id == "a/b c"  # one segment: %2F is part of the value


def test_sigterm_ends_open_streams_with_a_reconnect_error_and_exits_0(stand_in, start_gateway: StartGateway):
    servicer, addr = stand_in
    servicer.cancelled.clear()
    # A grace far longer than the wait below: an exit within it shows the stream did not hold the
    # shutdown.
    gw = start_gateway({"notifications": addr}, MOTCUA_SHUTDOWN_GRACE="600")
    host, port = gw.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    conn.request("GET", f"/v1/accounts/{ENDLESS}/inbox:stream",
                 headers={"Accept": "text/event-stream", "Authorization": f"Bearer {default_token()}"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.readline() == b": stream open\n"
    assert response.readline() == b"\n"
    assert response.readline() == b"event: message\n"
    assert response.readline().startswith(b"data: ")
    assert response.readline() == b"\n"
    assert gw.process.pid is not None
    os.kill(gw.process.pid, signal.SIGTERM)
    rest = response.read().decode()  # the server ends the stream
    assert rest.startswith("event: error\ndata: "), rest
    assert json.loads(rest.split("data: ", 1)[1])["error"]["status"] == "UNAVAILABLE"
    assert gw.process.wait_exit(timeout=15) == 0
    assert servicer.cancelled.wait(10), "the backend stream was not cancelled"
    conn.close()
    assert '"level": "ERROR"' not in gw.process.log_path.read_text()
