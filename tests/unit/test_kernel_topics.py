"""kernel.topics: old topics of moved classes resolve to the classes' new homes, and the
aliases a read model matches stored rows with are every declared old topic."""

from __future__ import annotations

import sys
from dataclasses import replace

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex
from eventsourcing.utils import get_topic, resolve_topic

from motcua.kernel.topics import moved_class, moved_module, old_topics


class Rules(Aggregate):
    @event("Noted")
    def note(self, text: str) -> None:
        self.text = text


class Moved(Rules):
    @event("Opened")
    def __init__(self, name: str) -> None:
        self.name = name


def test_a_module_moved_whole_resolves_its_old_topics_and_names_them():
    moved_module("motcua.tests.old_rules", sys.modules[__name__])
    assert resolve_topic("motcua.tests.old_rules:Rules.Noted") is Rules.Noted
    assert resolve_topic("motcua.tests.old_rules:Moved") is Moved
    assert "motcua.tests.old_rules:Rules.Noted" in old_topics(get_topic(Rules.Noted))


def test_a_moved_class_resolves_its_own_and_its_mixins_events_as_recorded():
    moved_class("motcua.tests.older:Moved", Moved)
    assert resolve_topic("motcua.tests.older:Moved") is Moved
    # The mixin's event, redefined on the aggregate, is recorded (and applied) as the mixin's.
    assert resolve_topic("motcua.tests.older:Moved.Noted") is Rules.Noted
    assert resolve_topic("motcua.tests.older:Moved.Opened") is resolve_topic(get_topic(Moved.Opened))
    assert "motcua.tests.older:Moved.Noted" in old_topics(get_topic(Rules.Noted))
    assert "motcua.tests.older:Moved" in old_topics(get_topic(Moved))


def test_events_stored_under_old_topics_replay():
    moved_class("motcua.tests.oldest:Moved", Moved)
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO()):
        transcoder.register(transcoding)
    mapper = Mapper(transcoder=transcoder)
    aggregate = Moved(name="Hồ sơ")
    aggregate.note(text="Đã tiếp nhận")
    stored = [mapper.to_stored_event(e) for e in aggregate.collect_events()]
    assert [s.topic for s in stored] == [get_topic(Moved.Opened), get_topic(Rules.Noted)]
    as_before = [replace(s, topic=f"motcua.tests.oldest:Moved.{s.topic.rpartition('.')[2]}") for s in stored]
    replayed = None
    for s in as_before:
        replayed = mapper.to_domain_event(s).mutate(replayed)
    assert (replayed.name, replayed.text, replayed.version) == ("Hồ sơ", "Đã tiếp nhận", 2)
