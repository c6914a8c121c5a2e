"""Crashes and outages lose no accepted command and duplicate no effect.

The tally consumer appends one event per applied message (it is not
idempotent on purpose), so any duplicate delivery that slipped through the
kernel's tracking would show up in the count.
"""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, TopicPartition

from motcua.procedures.v1 import procedure_service_pb2 as pb
from tests.support import eventlog
from tests.support.clients import procedures_stub
from tests.support.procedures import create_request
from tests.support.tally import TALLY_ID, TallyApp
from tests.support.waiting import eventually

TOPIC = "motcua.procedures.events.v1"
TALLY_GROUP = "motcua.tally.tally"


@pytest.fixture(scope="module")
def tally_db(stack):
    app = TallyApp(stack.settings("tally"))
    yield app
    app.close()


def tally_service(stack, **env):
    return stack.service("tally", module="tests.support.tally", **env)


def counted(app: TallyApp) -> list[str]:
    try:
        return list(app.repository.get(TALLY_ID).counted)
    except Exception:
        return []


def publish_new_procedures(stub, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        created = stub.CreateProcedure(create_request(name="Đăng ký thường trú")).procedure
        stub.PublishProcedure(pb.PublishProcedureRequest(procedure_id=created.procedure_id))
        ids.append(created.procedure_id)
    return ids


def wait_relay_idle(stack) -> None:
    eventually(
        lambda: eventlog.relay_caught_up(stack.dsn("procedures"), "procedures_events", TOPIC),
        what="procedures relay caught up",
    )


def group_lag(stack) -> int:
    """Messages of the procedures topic the tally group has not committed yet."""
    # A consumer that never subscribes reads the group's committed offsets without joining it.
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka.bootstrap, group_id=TALLY_GROUP, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC)]
        ends = consumer.end_offsets(partitions)
        return sum(ends[tp] - (consumer.committed(tp) or 0) for tp in partitions)
    finally:
        consumer.close()


def topic_size(stack) -> int:
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka.bootstrap)
    try:
        partitions = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC)]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def tally(stack, tally_db):
    service = tally_service(stack).start()
    yield service
    service.terminate()


def commit_without_relay(stack, count: int) -> list[str]:
    """Commits `count` published procedures while no relay runs, so they wait in the outbox."""
    writer = stack.service("procedures", MOTCUA_RELAY_ENABLED="false").start()
    try:
        return publish_new_procedures(procedures_stub(writer.addr), count)
    finally:
        writer.terminate()


def test_relay_killed_after_commit_before_publish_publishes_after_restart(stack, tally, tally_db):
    (procedure_id,) = commit_without_relay(stack, 1)
    assert eventlog.count_events(stack.dsn("procedures"), "procedures_events", procedure_id, "Published") == 1

    armed = stack.service("procedures", MOTCUA_FAILPOINTS="relay.before_publish").start(wait=False)
    assert armed.wait_exit(timeout=60) == -9  # SIGKILL at the failpoint
    assert procedure_id not in counted(tally_db)

    restarted = stack.service("procedures").start()
    try:
        eventually(lambda: procedure_id in counted(tally_db), what="event applied after restart")
    finally:
        restarted.terminate()
    assert counted(tally_db).count(procedure_id) == 1


def test_relay_killed_before_saving_its_position_republishes_and_nothing_doubles(stack, tally, tally_db):
    ids = commit_without_relay(stack, 3)
    size_before = topic_size(stack)
    armed = stack.service("procedures", MOTCUA_FAILPOINTS="relay.before_position_save").start(wait=False)
    assert armed.wait_exit(timeout=60) == -9
    assert topic_size(stack) == size_before + 3  # published, position not saved

    restarted = stack.service("procedures").start()
    try:
        wait_relay_idle(stack)
        eventually(lambda: all(i in counted(tally_db) for i in ids), what="all events applied")
        eventually(lambda: group_lag(stack) == 0, what="tally consumed everything")
    finally:
        restarted.terminate()
    assert topic_size(stack) == size_before + 6  # the batch really went out twice
    tally_counts = counted(tally_db)
    assert all(tally_counts.count(i) == 1 for i in ids)
    assert len(tally_counts) == len(set(tally_counts))


def test_consumer_killed_before_committing_offsets_changes_nothing_on_redelivery(stack, tally, tally_db):
    tally.terminate()
    procedures = stack.service("procedures").start()
    try:
        ids = publish_new_procedures(procedures_stub(procedures.addr), 3)
        wait_relay_idle(stack)
    finally:
        procedures.terminate()
    assert group_lag(stack) >= 3

    armed = tally_service(stack, MOTCUA_FAILPOINTS="consumer.before_offset_commit").start(wait=False)
    assert armed.wait_exit(timeout=60) == -9
    assert any(i in counted(tally_db) for i in ids)  # effects committed...
    assert group_lag(stack) > 0  # ...offsets not, so Kafka delivers those messages again

    restarted = tally_service(stack).start()
    try:
        eventually(lambda: all(i in counted(tally_db) for i in ids), what="all events applied")
        eventually(lambda: group_lag(stack) == 0, what="redelivered messages consumed")
    finally:
        restarted.terminate()
        tally.start()
    tally_counts = counted(tally_db)
    assert all(tally_counts.count(i) == 1 for i in ids)
    assert len(tally_counts) == len(set(tally_counts))


def test_commands_succeed_while_kafka_is_down_and_arrive_when_it_is_back(stack, tally, tally_db):
    procedures = stack.service("procedures").start()
    try:
        stub = procedures_stub(procedures.addr)
        stack.kafka.stop()
        try:
            ids = publish_new_procedures(stub, 5)  # need only PostgreSQL
        finally:
            stack.kafka.start(fresh=False)
        eventually(lambda: all(i in counted(tally_db) for i in ids), timeout=120, what="events after Kafka restart")
    finally:
        procedures.terminate()
    tally_counts = counted(tally_db)
    assert all(tally_counts.count(i) == 1 for i in ids)
