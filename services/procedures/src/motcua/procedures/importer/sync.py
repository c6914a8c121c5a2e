"""Brings the catalog in line with one record, over gRPC: create, new version, or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from motcua.procedures.v1 import procedure_pb2 as p, procedure_service_pb2 as pb

from .. import convert
from ..calendar_import import describe_error
from .records import RecordError, create_request

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
INVALID = "invalid"
FAILED = "failed"
WOULD = {CREATED: "would create", UPDATED: "would update"}

# The fields of a create request that are also the editable fields of a Procedure.
CONTENT_FIELDS = (
    "name", "agency_id", "field", "level", "online_mode", "processing_time", "fees", "required_documents", "steps",
    "result_type", "legal_basis", "supplement_rule",
)


@dataclass(frozen=True)
class Outcome:
    index: int
    code: str
    name: str
    action: str
    version_number: int = 0
    detail: str = ""


class Importer:
    """Imports records one at a time; a record that fails never stops the others."""

    def __init__(
        self, stub: Any, default_agency: str = "", dry_run: bool = False, metadata: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.stub = stub
        self.default_agency = default_agency
        self.dry_run = dry_run
        self.metadata = tuple(metadata)

    def import_record(self, index: int, record: Any) -> Outcome:
        code = record.get("code", "") if isinstance(record, dict) else ""
        name = record.get("name", "") if isinstance(record, dict) else ""
        try:
            request = create_request(record, self.default_agency)
            action, number = self._sync(request)
        except RecordError as e:
            return Outcome(
                index,
                str(code),
                str(name),
                INVALID,
                detail="; ".join(f"{v.field}: {v.description}" for v in e.violations),
            )
        except grpc.RpcError as e:
            action = INVALID if e.code() == grpc.StatusCode.INVALID_ARGUMENT else FAILED
            return Outcome(index, code, name, action, detail=describe_error(e))
        if self.dry_run and action in WOULD:
            action = WOULD[action]
        return Outcome(index, code, name, action, number)

    def _sync(self, request: pb.CreateProcedureRequest) -> tuple[str, int]:
        versions = self._versions(request.code)
        if not versions:
            if self.dry_run:
                return CREATED, 1
            created = self._call("CreateProcedure", request).procedure
            return CREATED, self._publish(created).version_number
        latest = versions[-1]
        wanted = p.Procedure(**{f: getattr(request, f) for f in CONTENT_FIELDS})
        same = _content(latest) == _content(wanted)
        if latest.state == p.PROCEDURE_STATE_DRAFT:
            # A draft left by an earlier import that stopped half-way (or by an officer):
            # the national record wins; bring the draft to it and publish it.
            action = CREATED if latest.version_number == 1 else UPDATED
            if self.dry_run:
                return action, latest.version_number
            draft = latest if same else self._update(latest, wanted)
            return action, self._publish(draft).version_number
        if same:
            return UNCHANGED, latest.version_number
        if self.dry_run:
            return UPDATED, latest.version_number + 1
        drafted = self._call(
            "DraftProcedureVersion",
            pb.DraftProcedureVersionRequest(procedure_id=latest.procedure_id, expected_version=latest.version),
        ).procedure
        return UPDATED, self._publish(self._update(drafted, wanted)).version_number

    def _versions(self, code: str) -> list[p.Procedure]:
        found: list[p.Procedure] = []
        token = ""
        while True:
            page = self._call("ListProcedures", pb.ListProceduresRequest(code=code, page_size=100, page_token=token))
            found.extend(page.procedures)
            token = page.next_page_token
            if not token:
                return sorted(found, key=lambda v: v.version_number)

    def _update(self, draft: p.Procedure, wanted: p.Procedure) -> p.Procedure:
        request = pb.UpdateProcedureRequest(
            procedure_id=draft.procedure_id, procedure=wanted, expected_version=draft.version
        )
        return self._call("UpdateProcedure", request).procedure

    def _publish(self, draft: p.Procedure) -> p.Procedure:
        request = pb.PublishProcedureRequest(procedure_id=draft.procedure_id, expected_version=draft.version)
        return self._call("PublishProcedure", request).procedure

    def _call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=self.metadata, timeout=30)


def _content(message: Any) -> Any:
    """What the service would store for a message's content (trimmed, defaults applied)."""
    return convert.content_from(message).trimmed()
