"""The dossier's event classes are made at run time by ``@event`` methods; the rules declare them
for the type checker (inside ``if TYPE_CHECKING:``). The declarations must say what the classes
hold: each declared field, with its type, is a field of the run-time class, and none is left out."""

from __future__ import annotations

import ast
import inspect
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.dossier.attachments import AttachmentRules
from motcua.dossiers.domain.dossier.closing import ClosingRules
from motcua.dossiers.domain.dossier.processing import ProcessingRules

EVERY_EVENT_HAS = set(Aggregate.Created.__dataclass_fields__)


def class_def(cls: type) -> ast.ClassDef:
    (node,) = ast.parse(inspect.getsource(cls)).body
    assert isinstance(node, ast.ClassDef)
    return node


def events_made(cls: type) -> set[str]:
    """The names in ``@event("Name")`` on the methods of ``cls`` itself."""
    return {
        str(decorator.args[0].value)
        for method in class_def(cls).body if isinstance(method, ast.FunctionDef)
        for decorator in method.decorator_list
        if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "event"
        and isinstance(decorator.args[0], ast.Constant)
    }


def declared_events(cls: type) -> dict[str, dict[str, str]]:
    """The events declared in the ``if TYPE_CHECKING:`` block of ``cls``: name -> field -> type."""
    declared = {}
    for statement in class_def(cls).body:
        if isinstance(statement, ast.If) and ast.unparse(statement.test) == "TYPE_CHECKING":
            for node in statement.body:
                if isinstance(node, ast.ClassDef):
                    declared[node.name] = {
                        field.target.id: ast.unparse(field.annotation)
                        for field in node.body
                        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name)
                    }
    return declared


def run_time_fields(event_class: Any) -> dict[str, str]:
    annotations: dict[str, str] = {}
    for klass in reversed(event_class.__mro__):
        annotations.update(getattr(klass, "__annotations__", {}))
    return {
        name: ast.unparse(ast.parse(annotations[name], mode="eval").body)
        for name in event_class.__dataclass_fields__
        if name not in EVERY_EVENT_HAS
    }


@pytest.mark.parametrize("rules", [Dossier, ProcessingRules, ClosingRules, AttachmentRules])
def test_the_declared_events_are_the_run_time_events_with_their_fields(rules):
    declared = declared_events(rules)
    assert set(declared) == events_made(rules) != set()
    for name, fields in declared.items():
        assert fields == run_time_fields(getattr(rules, name)), f"{rules.__name__}.{name}"
