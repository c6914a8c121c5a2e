"""Old topics of moved event and aggregate classes, in one place.

A stored event names its class by topic, ``<module>:<qualname>`` (eventsourcing's
``get_topic``), and so does a created event for its aggregate (``originator_topic``). When a
class moves, the events already stored keep the old topic. A service declares each move here
once, at import of its domain: the old name is registered with eventsourcing's
``register_topic`` (so decoding resolves it to the class where it lives now), and remembered,
so that what matches stored rows by topic string (the read models' projections and their
rebuild query, ``readmodel.ProjectingRecorder``) matches the old topics too (``old_topics``).

``moved_module`` covers every class of a module that moved whole: eventsourcing resolves
``old.module:Class.Event`` through the module registered under ``old.module``. ``moved_class``
covers a class whose old module still exists (or now holds other things): its nested and
inherited event classes are registered one by one (``old.module:Class.Event``).
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

from eventsourcing.domain import DomainEvent
from eventsourcing.utils import register_topic, resolve_topic

_lock = threading.Lock()
# New module name -> the names it had before.
_old_module_names: dict[str, list[str]] = {}
# (old topic of a class, the class).
_old_class_topics: list[tuple[str, type]] = []
_generation = 0


def moved_module(old_name: str, module: ModuleType | str) -> None:
    """Every class of ``module`` was stored under ``old_name:<qualname>``."""
    global _generation
    module = importlib.import_module(module) if isinstance(module, str) else module
    register_topic(old_name, module)
    with _lock:
        if old_name not in _old_module_names.setdefault(module.__name__, []):
            _old_module_names[module.__name__].append(old_name)
            _generation += 1


def moved_class(old_topic: str, cls: type) -> None:
    """``cls`` and its event classes were stored under ``old_topic`` and ``old_topic.<Event>``."""
    global _generation
    registered = [(old_topic, cls)] + [(f"{old_topic}.{name}", recorded) for name, recorded in _event_classes(cls)]
    for topic, obj in registered:
        register_topic(topic, obj)
    with _lock:
        for entry in registered:
            if entry not in _old_class_topics:
                _old_class_topics.append(entry)
                _generation += 1


def _event_classes(cls: type) -> list[tuple[str, type]]:
    """The event classes reachable as attributes of an aggregate class, each as the class its
    events are recorded with. eventsourcing redefines a rule mixin's events on the aggregate
    that inherits them (``Dossier.SupplementRequested`` subclasses
    ``ProcessingRules.SupplementRequested``), but applies and records only the mixin's: an old
    ``Dossier.SupplementRequested`` is the mixin's event."""
    found = []
    for name in dir(cls):
        attribute = getattr(cls, name, None)
        if not (isinstance(attribute, type) and issubclass(attribute, DomainEvent)) or attribute.__name__ != name:
            continue
        defining = [base for base in attribute.__mro__ if base.__name__ == name][-1]
        # What the defining class's own topic resolves to is the class events are decoded to.
        found.append((name, resolve_topic(f"{defining.__module__}:{defining.__qualname__}")))
    return found


def generation() -> int:
    """Changes whenever a move is declared (lets a cache of ``old_topics`` know it is stale)."""
    return _generation


def old_topics(topic: str) -> list[str]:
    """Every declared old topic under which stored events of ``topic``'s class may be found."""
    target: Any = resolve_topic(topic)
    module_name, _, qualname = topic.partition(":")
    with _lock:
        found = [f"{old}:{qualname}" for old in _old_module_names.get(module_name, ())]
        found += [old_topic for old_topic, obj in _old_class_topics if obj is target]
    return found
