"""Counting what an application reads from its log, for tests of what it keeps in memory."""

from __future__ import annotations

import uuid
from typing import Any


def counted_reads(app: Any, aggregate_type: type, monkeypatch: Any) -> list[uuid.UUID]:
    """The ids of the ``aggregate_type`` aggregates ``app`` reads with ``find`` from now on."""
    reads: list[uuid.UUID] = []
    find = app.find

    def counted(read_type: type, aggregate_id: uuid.UUID) -> Any:
        if read_type is aggregate_type:
            reads.append(aggregate_id)
        return find(read_type, aggregate_id)

    monkeypatch.setattr(app, "find", counted)
    return reads
