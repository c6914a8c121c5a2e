"""A live stream resumes where it broke: every SSE event has an `id:` (the notification's position
in the service's log), and a reconnection with `Last-Event-ID` (what an EventSource sends by
itself) or, on a first connection, `?last_event_id=` gets exactly what it missed, none twice.
Against the real notifications service, fed by dossier events on Kafka."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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
    database = f"motcua_notifications_s{uuid.uuid4().hex[:8]}"
    stack.postgres.create_database(database)
    notifications = stack.service("notifications", POSTGRES_DBNAME=database).start()
    yield start_module_gateway({"notifications": notifications.addr})
    assert notifications.terminate() == 0


@pytest.fixture(scope="module")
def events(stack) -> Iterator[DossierEvents]:
    producer = DossierEvents(stack.kafka.bootstrap)
    yield producer
    producer.close()


@dataclass
class Event:
    id: str
    code: str  # the dossier's code, as the notification's subject names it


class Stream:
    """One SSE connection to an inbox, read event by event."""

    def __init__(self, gw: Gateway, path: str, headers: dict[str, str] | None = None) -> None:
        url = urlsplit(gw.url)
        assert url.hostname is not None
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.connection.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.connection.getresponse()
        self.comments: list[str] = []

    def next(self) -> Event:
        block: list[str] = []
        while True:
            line = self.response.readline().decode("utf-8")
            assert line, "the stream ended"
            if line.startswith(":"):
                self.comments.append(line.strip())
            elif line.strip():
                block.append(line.strip())
            elif any(b == "event: message" for b in block):
                fields = dict(b.split(": ", 1) for b in block)
                notification = json.loads(fields["data"])["notification"]
                return Event(fields.get("id", ""), notification["subject"].split()[2])
            else:
                block = []

    def close(self) -> None:
        self.response.close()
        self.connection.close()


def inbox(account_id: str, token: str, query: str = "") -> str:
    return f"/v1/accounts/{account_id}/inbox:stream?access_token={token}{query}"


def received(events: DossierEvents, account_id: str, code: str) -> None:
    events.send(events.received(account_id, datetime(2026, 1, 12, 9, tzinfo=VN), code=code))


def new_applicant() -> tuple[str, str]:
    account_id = str(uuid.uuid4())
    return account_id, auth.issue(roles=(Role.ROLE_APPLICANT,), account_id=account_id).access_token


def codes(n: int) -> list[str]:
    run = uuid.uuid4().hex[:4].upper()
    return [f"000.00.12.H56-2601{run}-{i:04d}" for i in range(n)]


def test_a_reconnection_with_last_event_id_gets_exactly_what_it_missed(gw: Gateway, events: DossierEvents):
    account_id, token = new_applicant()
    first, missed_1, missed_2, live = codes(4)

    stream = Stream(gw, inbox(account_id, token))
    assert stream.response.status == 200, stream.response.read()
    received(events, account_id, first)
    seen = stream.next()
    assert seen.code == first and seen.id.isdigit(), seen
    stream.close()  # the connection breaks; two notifications arrive meanwhile

    received(events, account_id, missed_1)
    received(events, account_id, missed_2)
    resumed = Stream(gw, inbox(account_id, token), {"Last-Event-ID": seen.id})
    try:
        assert resumed.response.status == 200, resumed.response.read()
        replayed = [resumed.next(), resumed.next()]
        received(events, account_id, live)
        after = resumed.next()
    finally:
        resumed.close()
    # The first one is not sent again (it was unread: a fresh stream would start with it). The two
    # missed ones are about two dossiers, whose events travel on their own partitions: either may
    # reach the inbox first, and the stream replays them in the inbox's order.
    assert sorted(e.code for e in replayed) == [missed_1, missed_2] and after.code == live
    ids = [int(seen.id)] + [int(e.id) for e in [*replayed, after]]
    assert ids == sorted(set(ids)), ids


def test_a_first_connection_resumes_from_the_query_and_the_header_wins(gw: Gateway, events: DossierEvents):
    account_id, token = new_applicant()
    one, two, three = codes(3)
    stream = Stream(gw, inbox(account_id, token))
    received(events, account_id, one)
    received(events, account_id, two)
    first, second = stream.next(), stream.next()
    stream.close()
    received(events, account_id, three)

    # A page reloaded: the id it kept comes in the URL.
    from_query = Stream(gw, inbox(account_id, token, f"&last_event_id={first.id}"))
    try:
        assert [from_query.next().code, from_query.next().code] == [two, three]
    finally:
        from_query.close()
    # The EventSource reconnecting to that same URL sends its newer id in the header: it counts.
    from_header = Stream(gw, inbox(account_id, token, f"&last_event_id={first.id}"),
                         {"Last-Event-ID": second.id})
    try:
        assert from_header.next().code == three
    finally:
        from_header.close()


def test_a_fresh_stream_still_starts_with_the_unread_ones(gw: Gateway, events: DossierEvents):
    account_id, token = new_applicant()
    one, two = codes(2)
    stream = Stream(gw, inbox(account_id, token))
    received(events, account_id, one)
    received(events, account_id, two)
    stream.next(), stream.next()
    stream.close()
    # An EventSource that saw no id yet sends an empty Last-Event-ID: a fresh start.
    again = Stream(gw, inbox(account_id, token), {"Last-Event-ID": ""})
    try:
        assert [again.next().code, again.next().code] == [one, two]
        assert again.comments and again.comments[0] == ": stream open"
    finally:
        again.close()


def test_a_last_event_id_that_is_no_position_is_refused_naming_it(gw: Gateway):
    account_id, token = new_applicant()
    for headers, query in (({"Last-Event-ID": "abc"}, ""), ({}, "&last_event_id=-3")):
        stream = Stream(gw, inbox(account_id, token, query), headers)
        body = json.loads(stream.response.read())
        stream.close()
        assert stream.response.status == 400, body
        assert body["error"]["details"][0]["field_violations"][0]["field"] == "last_event_id", body


def test_other_routes_take_no_last_event_id(gw: Gateway):
    account_id, token = new_applicant()
    reply = gw.call("GET", f"/v1/notifications?recipient_account_id={account_id}&last_event_id=3",
                    headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 400, reply.raw
    assert reply.json["error"]["details"][0]["field_violations"][0]["field"] == "last_event_id"
