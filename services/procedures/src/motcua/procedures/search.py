"""The catalog's search table: one row per procedure version, written with its events.

Listing and searching page through this table instead of replaying procedures. It is
kept by the event store's own recorder in the transaction of the Procedure events (see
``motcua.kernel.readmodel``), so a version is searchable as soon as its command returned,
and it can be dropped and derived again from the log (``rebuild``).

Free text is matched against ``search_text``: the name folded (no diacritics, lower
case, đ as d) and the code, so "dang ky khai sinh" finds "Đăng ký khai sinh".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from motcua.kernel.readmodel import ProjectingRecorder, Statement
from motcua.kernel.text import fold

from .domain import DRAFT, PUBLISHED, SUPERSEDED, WITHDRAWN, Procedure


@dataclass(frozen=True)
class Filters:
    """What ListProcedures asks for; empty strings match everything."""

    agency_id: str = ""
    field: str = ""
    level: str = ""
    online_mode: str = ""
    state: str = ""
    code: str = ""
    query: str = ""


def search_text(code: str, name: str) -> str:
    return f"{fold(name)} {code.lower()}"


def _like_word(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class CatalogRecorder(ProjectingRecorder):
    """The procedures service's recorder, which also keeps the catalog's search table."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self._catalog = self.table("catalog")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {catalog} ("
                "procedure_id uuid NOT NULL, "
                "version_number integer NOT NULL, "
                "code text NOT NULL, "
                "state text NOT NULL, "
                "agency_id text NOT NULL, "
                "field_folded text NOT NULL, "
                "level text NOT NULL, "
                "online_mode text NOT NULL, "
                "search_text text NOT NULL, "
                "content jsonb NOT NULL, "
                "effective_from timestamptz, "
                "effective_until timestamptz, "
                "version bigint NOT NULL, "
                "PRIMARY KEY (procedure_id, version_number))"
            ).format(catalog=self._catalog)
        )
        # The listing order, which is also the page tokens' key.
        self.sql_create_statements.append(
            SQL("CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {catalog} (code, version_number)").format(
                index=Identifier(f"{self.table_prefix}_catalog_code_idx"), catalog=self._catalog
            )
        )
        self.projections = {
            get_topic(Procedure.Created): self._created,
            get_topic(Procedure.Renamed): self._renamed,
            get_topic(Procedure.Revised): self._revised,
            get_topic(Procedure.VersionDrafted): self._version_drafted,
            get_topic(Procedure.Published): self._published,
            get_topic(Procedure.Withdrawn): self._withdrawn,
        }

    def read_model_tables(self) -> list[Identifier]:
        return [self._catalog]

    # --- events -> rows ----------------------------------------------------------------------

    def _created(self, event: Any, position: int) -> Iterable[Statement]:
        yield self._insert(event.originator_id, 1, event.code, event.content, event.originator_version)

    def _version_drafted(self, event: Any, position: int) -> Iterable[Statement]:
        yield self._versioned(event)
        yield self._insert(event.originator_id, event.number, None, event.content, event.originator_version)

    def _renamed(self, event: Any, position: int) -> Iterable[Statement]:
        yield self._versioned(event)
        yield (
            SQL(
                "UPDATE {catalog} SET content = jsonb_set(content, '{{name}}', to_jsonb(%(name)s::text)), "
                "search_text = %(folded)s || ' ' || lower(code) WHERE procedure_id = %(id)s AND state = %(draft)s"
            ).format(catalog=self._catalog),
            {"id": event.originator_id, "name": event.name, "folded": fold(event.name), "draft": DRAFT},
        )

    def _revised(self, event: Any, position: int) -> Iterable[Statement]:
        yield self._versioned(event)
        yield SQL(
            "UPDATE {catalog} SET content = %(content)s, agency_id = %(agency_id)s, field_folded = %(field)s, "
            "level = %(level)s, online_mode = %(online_mode)s, search_text = %(folded)s || ' ' || lower(code) "
            "WHERE procedure_id = %(id)s AND state = %(draft)s"
        ).format(catalog=self._catalog), {"id": event.originator_id, "draft": DRAFT, **self._columns(event.content)}

    def _published(self, event: Any, position: int) -> Iterable[Statement]:
        yield self._versioned(event)
        if event.superseded:
            yield self._end(event.originator_id, event.superseded, SUPERSEDED, event.timestamp)
        yield (
            SQL(
                "UPDATE {catalog} SET state = %(state)s, effective_from = %(at)s "
                "WHERE procedure_id = %(id)s AND version_number = %(number)s"
            ).format(catalog=self._catalog),
            {"id": event.originator_id, "number": event.number, "state": PUBLISHED, "at": event.timestamp},
        )

    def _withdrawn(self, event: Any, position: int) -> Iterable[Statement]:
        yield self._versioned(event)
        yield self._end(event.originator_id, event.number, WITHDRAWN, event.timestamp)

    def _insert(
        self, procedure_id: Any, number: int, code: str | None, content: dict[str, Any], version: int
    ) -> Statement:
        """A new draft row; without a code, the code of the procedure's other rows."""
        return SQL(
            "INSERT INTO {catalog} (procedure_id, version_number, code, state, agency_id, field_folded, level, "
            "online_mode, search_text, content, version) "
            "SELECT %(id)s, %(number)s, c.code, %(draft)s, %(agency_id)s, %(field)s, %(level)s, %(online_mode)s, "
            "%(folded)s || ' ' || lower(c.code), %(content)s, %(version)s "
            "FROM (SELECT COALESCE(%(code)s::text, "
            "(SELECT code FROM {catalog} WHERE procedure_id = %(id)s LIMIT 1)) AS code) c "
            "ON CONFLICT DO NOTHING"
        ).format(catalog=self._catalog), {
            "id": procedure_id,
            "number": number,
            "code": code,
            "draft": DRAFT,
            "version": version,
            **self._columns(content),
        }

    def _versioned(self, event: Any) -> Statement:
        """Every row of a procedure shows its current aggregate version (for expected_version)."""
        return SQL("UPDATE {catalog} SET version = %(version)s WHERE procedure_id = %(id)s").format(
            catalog=self._catalog
        ), {"id": event.originator_id, "version": event.originator_version}

    def _end(self, procedure_id: Any, number: int, state: str, moment: Any) -> Statement:
        return SQL(
            "UPDATE {catalog} SET state = %(state)s, effective_until = %(at)s "
            "WHERE procedure_id = %(id)s AND version_number = %(number)s"
        ).format(catalog=self._catalog), {"id": procedure_id, "number": number, "state": state, "at": moment}

    @staticmethod
    def _columns(content: dict[str, Any]) -> dict[str, Any]:
        return {
            "agency_id": content["agency_id"],
            "field": fold(content.get("field", "")),
            "level": content.get("level", ""),
            "online_mode": content.get("online_mode", ""),
            "folded": fold(content["name"]),
            "content": Jsonb(content),
        }

    # --- reading ---------------------------------------------------------------------------

    def page(self, filters: Filters, after: tuple[str, int] | None, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` rows matching ``filters``, by code then version number, after the key
        ``after``."""
        conditions: list[Composed | SQL] = []
        params: dict[str, Any] = {"limit": limit}
        for column, value in (
            ("agency_id", filters.agency_id),
            ("field_folded", fold(filters.field)),
            ("level", filters.level),
            ("online_mode", filters.online_mode),
            ("state", filters.state),
            ("code", filters.code),
        ):
            if value:
                conditions.append(SQL("{} = %({})s").format(Identifier(column), SQL(column)))
                params[column] = value
        for i, word in enumerate(fold(filters.query).split()):
            conditions.append(SQL("search_text LIKE %(word{})s").format(SQL(str(i))))
            params[f"word{i}"] = _like_word(word)
        if after is not None:
            conditions.append(SQL("(code, version_number) > (%(after_code)s, %(after_number)s)"))
            params.update(after_code=after[0], after_number=after[1])
        where = SQL(" WHERE ") + SQL(" AND ").join(conditions) if conditions else SQL("")
        statement = (
            SQL(
                "SELECT procedure_id, version_number, code, state, content, effective_from, effective_until, "
                "version FROM {catalog}"
            ).format(catalog=self._catalog)
            + where
            + SQL(" ORDER BY code, version_number LIMIT %(limit)s")
        )
        return self.query(statement, params)
