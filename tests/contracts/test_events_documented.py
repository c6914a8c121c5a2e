"""The integration-event tables of protos/README.md name every event of every events.proto.

An event message added to a service's `events.proto` without a row in its service's table
(or a row left behind for a message that is gone) fails here, so the table stays the list
of what each service publishes. Messages that only serve as fields of events (`DossierRef`)
are parts, not events. Needs the stubs from `make gen`.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from google.protobuf.descriptor import FileDescriptor

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "protos" / "README.md"
SERVICES = sorted(path.parent.parent.name for path in (ROOT / "protos" / "motcua").glob("*/v1/events.proto"))

# "### dossiers: `motcua.dossiers.events.v1`" opens a service's table; a row's first cell
# is the message name in backticks.
SERVICE_HEADING = re.compile(r"^### (?P<service>\w+): `motcua\.(?P=service)\.events\.v1`\s*$")
EVENT_ROW = re.compile(r"^\| `(?P<event>\w+)` \|")


def events_in_proto(service: str) -> set[str]:
    """The top-level messages of the service's events.proto that no message there has as a field."""
    file: FileDescriptor = importlib.import_module(f"motcua.{service}.v1.events_pb2").DESCRIPTOR
    messages = file.message_types_by_name.values()
    parts = {
        field.message_type.full_name
        for message in messages
        for field in message.fields
        if field.message_type is not None
    }
    return {message.name for message in messages if message.full_name not in parts}


def events_in_readme() -> dict[str, set[str]]:
    """Per service, the event names in the first column of its table in protos/README.md."""
    tables: dict[str, set[str]] = {}
    service: str | None = None
    in_section = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_section = line == "## Integration events"
            service = None
            continue
        if not in_section:
            continue
        if heading := SERVICE_HEADING.match(line):
            service = heading["service"]
            tables.setdefault(service, set())
        elif service and (row := EVENT_ROW.match(line)):
            tables[service].add(row["event"])
    return tables


def test_every_service_with_events_has_a_table():
    assert SERVICES, "no events.proto found under protos/motcua"
    documented = events_in_readme()
    assert sorted(documented) == SERVICES, (
        "protos/README.md needs one '### <service>: `motcua.<service>.events.v1`' table per events.proto"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_the_table_lists_exactly_the_events_of_events_proto(service):
    declared = events_in_proto(service)
    documented = events_in_readme().get(service, set())
    assert declared, f"motcua/{service}/v1/events.proto declares no event"
    missing, unknown = sorted(declared - documented), sorted(documented - declared)
    assert not missing, f"events of {service} missing from protos/README.md: {missing}"
    assert not unknown, f"rows of {service} in protos/README.md name no event of its events.proto: {unknown}"
