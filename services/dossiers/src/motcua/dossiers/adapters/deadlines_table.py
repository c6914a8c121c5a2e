"""The deadlines table: each dossier whose clock runs, with its due and coming-due times,
kept by the event store's recorder in the events' transaction (kernel ``readmodel``); the
deadline watch (``workers.deadline_watch``) polls it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.dossier.closing import ClosingRules
from motcua.dossiers.domain.dossier.processing import ProcessingRules
from motcua.kernel.readmodel import Change, ProjectingRecorder, RowChange

BATCH = 500  # dossiers a sweep flags at most


class DeadlineRecorder(ProjectingRecorder):
    """The dossiers service's recorder, which also keeps the deadlines table."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self._deadlines = self.table("deadlines")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (dossier_id uuid PRIMARY KEY, due_at timestamptz NOT NULL, "
                "coming_due_at timestamptz NOT NULL, running boolean NOT NULL, "
                "came_due_for timestamptz, overdue_for timestamptz)"
            ).format(t=self._deadlines)
        )
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (coming_due_at) WHERE running").format(
                i=Identifier(f"{self.table_prefix}_deadlines_running_idx"), t=self._deadlines
            )
        )
        counted = self._counted
        self.projections = {
            get_topic(Dossier.Received): counted,
            get_topic(ProcessingRules.Supplemented): counted,
            get_topic(ProcessingRules.SupplementRequested): self._stopped,
            get_topic(ClosingRules.ResultReady): self._stopped,
            get_topic(ProcessingRules.Refused): self._stopped,
            get_topic(ClosingRules.Withdrawn): self._stopped,
            get_topic(ProcessingRules.CameDue): self._flagged("came_due_for"),
            get_topic(ProcessingRules.BecameOverdue): self._flagged("overdue_for"),
        }

    def read_model_tables(self) -> list[Identifier]:
        return [self._deadlines]

    def _counted(self, event: Any, position: int) -> Iterable[Change]:
        due = getattr(event, "due_at", None) or getattr(event, "appointed_return_at", None)
        if due is None:  # a supplement at reception: the clock has not started
            return
        yield RowChange(self._deadlines, {"dossier_id": event.originator_id},
                        {"due_at": due, "coming_due_at": getattr(event, "coming_due_at", None) or due,
                         "running": True}, insert=True, upsert=True)

    def _stopped(self, event: Any, position: int) -> Iterable[Change]:
        yield RowChange(self._deadlines, {"dossier_id": event.originator_id}, {"running": False})

    def _flagged(self, column: str) -> Callable[[Any, int], Iterable[Change]]:
        def project(event: Any, position: int) -> Iterable[Change]:
            yield RowChange(self._deadlines, {"dossier_id": event.originator_id}, {column: event.due_at})
        return project

    def to_watch(self, now: datetime, limit: int = BATCH) -> list[UUID]:
        """Dossiers whose clock runs, past their coming-due or due time, not flagged for it yet."""
        rows = self.query(SQL(
            "SELECT dossier_id FROM {t} WHERE running AND ("
            "(coming_due_at <= %(now)s AND came_due_for IS DISTINCT FROM due_at) OR "
            "(due_at < %(now)s AND overdue_for IS DISTINCT FROM due_at)) ORDER BY due_at LIMIT %(limit)s"
        ).format(t=self._deadlines), {"now": now, "limit": limit})
        return [row["dossier_id"] for row in rows]
