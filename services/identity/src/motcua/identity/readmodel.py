"""Read models of accounts and agencies, written in the transaction of their events.

ListAccounts and ListAgencies filter and page without replaying anything. The tables
``<app>_accounts`` and ``<app>_agencies`` hold only what lists filter and sort by (ids,
kinds, agencies, states, dates), never personal data: the pages' contents are loaded from
the (encrypted) aggregates. The kernel's ``ProjectingRecorder`` writes them in the
transaction that appends the events and rebuilds them from the log. The login throttle's
table is created alongside.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from motcua.kernel.readmodel import ProjectingRecorder, Statement

from .domain import Account, Agency, LoginAttempt
from .throttle import LoginThrottle


class IdentityRecorder(ProjectingRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        prefix = self.table_prefix
        self._accounts = self.table("accounts")
        self._agencies = self.table("agencies")
        self._sign_ins = self.table("sign_ins")
        self.throttle = LoginThrottle(datastore, f"{prefix}_login_throttle")
        self.sql_create_statements += [
            SQL("CREATE TABLE IF NOT EXISTS {t} (account_id uuid PRIMARY KEY, position bigint NOT NULL, "
                "kind text NOT NULL, agency_id text NOT NULL, state text NOT NULL)").format(t=self._accounts),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (position)").format(
                i=Identifier(f"{prefix}_accounts_position_idx"), t=self._accounts),
            SQL("CREATE TABLE IF NOT EXISTS {t} (agency_id text PRIMARY KEY, parent_agency_id text NOT NULL, "
                "valid_from date NOT NULL, valid_to date)").format(t=self._agencies),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (parent_agency_id, agency_id)").format(
                i=Identifier(f"{prefix}_agencies_parent_idx"), t=self._agencies),
            SQL("CREATE TABLE IF NOT EXISTS {t} (attempt_id uuid PRIMARY KEY, account_id uuid NOT NULL, "
                "position bigint NOT NULL)").format(t=self._sign_ins),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (account_id, position)").format(
                i=Identifier(f"{prefix}_sign_ins_account_idx"), t=self._sign_ins),
            *self.throttle.create_statements,
        ]
        self.projections = {
            get_topic(Account.Created): self._account_created,
            get_topic(Account.Disabled): self._account_disabled,
            get_topic(Account.PersonalDataErased): self._account_disabled,
            get_topic(Agency.Created): self._agency_created,
            get_topic(Agency.Closed): self._agency_closed,
            get_topic(LoginAttempt.Recorded): self._login_attempted,
        }

    def read_model_tables(self) -> list[Identifier]:
        return [self._accounts, self._agencies, self._sign_ins]

    def _account_created(self, event: Any, position: int) -> Iterator[Statement]:
        yield SQL("INSERT INTO {t} (account_id, position, kind, agency_id, state) VALUES "
                   "(%(id)s, %(position)s, %(kind)s, %(agency_id)s, 'active') ON CONFLICT DO NOTHING").format(
            t=self._accounts), {"id": event.originator_id, "position": position, "kind": event.kind,
                                "agency_id": event.agency_id}

    def _account_disabled(self, event: Any, position: int) -> Iterator[Statement]:
        yield SQL("UPDATE {t} SET state = 'disabled' WHERE account_id = %(id)s").format(
            t=self._accounts), {"id": event.originator_id}

    def _agency_created(self, event: Any, position: int) -> Iterator[Statement]:
        yield SQL("INSERT INTO {t} (agency_id, parent_agency_id, valid_from) VALUES "
                   "(%(eid)s, %(parent)s, %(valid_from)s) ON CONFLICT DO NOTHING").format(
            t=self._agencies), {"eid": event.eid, "parent": event.parent_eid,
                                "valid_from": date.fromisoformat(event.valid_from)}

    def _agency_closed(self, event: Any, position: int) -> Iterator[Statement]:
        yield SQL("UPDATE {t} SET valid_to = %(valid_to)s WHERE agency_id = %(eid)s").format(
            t=self._agencies), {"eid": event.eid, "valid_to": date.fromisoformat(event.close_date)}

    def _login_attempted(self, event: Any, position: int) -> Iterator[Statement]:
        if event.account_id is not None:  # an attempt naming no account is nobody's history
            yield SQL("INSERT INTO {t} (attempt_id, account_id, position) VALUES (%(id)s, %(account)s, "
                      "%(position)s) ON CONFLICT DO NOTHING").format(t=self._sign_ins), {
                "id": event.originator_id, "account": event.account_id, "position": position}

    # --- reading ------------------------------------------------------------------------------

    def account_page(self, kind: str | None, agency_id: str | None, state: str | None,
                     after: int, limit: int, officers_under: list[str] | None = None,
                     people: bool = True) -> list[tuple[int, UUID]]:
        """(position, account id) of up to ``limit`` accounts after ``after``, oldest first;
        officers only of the subtrees of ``officers_under`` (None: all), citizens and
        businesses only with ``people``. Filtered here, so that every page is full."""
        query = SQL("SELECT position, account_id FROM {t} WHERE position > %(after)s").format(t=self._accounts)
        if officers_under is not None:
            query += SQL(
                " AND ((kind = 'officer' AND agency_id IN ("
                "WITH RECURSIVE subtree(agency_id) AS (SELECT unnest(%(roots)s::text[]) UNION "
                "SELECT a.agency_id FROM {a} a JOIN subtree s ON a.parent_agency_id = s.agency_id) "
                "SELECT agency_id FROM subtree))").format(a=self._agencies)
            query += SQL(" OR (kind <> 'officer' AND %(people)s))")
        elif not people:
            query += SQL(" AND kind = 'officer'")
        if kind is not None:
            query += SQL(" AND kind = %(kind)s")
        if agency_id is not None:
            query += SQL(" AND agency_id = %(agency_id)s")
        if state is not None:
            query += SQL(" AND state = %(state)s")
        query += SQL(" ORDER BY position LIMIT %(limit)s")
        params = {"after": after, "kind": kind, "agency_id": agency_id, "state": state, "limit": limit,
                  "roots": officers_under or [], "people": people}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(query, params)
            return [(row["position"], row["account_id"]) for row in curs.fetchall()]

    def agency_page(self, parent: str | None, as_of: date | None, after: str, limit: int) -> list[str]:
        """Electronic identifiers of up to ``limit`` agencies after ``after``, in order."""
        query = SQL("SELECT agency_id FROM {t} WHERE agency_id > %(after)s").format(t=self._agencies)
        if parent is not None:
            query += SQL(" AND parent_agency_id = %(parent)s")
        if as_of is not None:
            query += SQL(" AND valid_from <= %(day)s AND (valid_to IS NULL OR valid_to > %(day)s)")
        query += SQL(" ORDER BY agency_id LIMIT %(limit)s")
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(query, {"after": after, "parent": parent, "day": as_of, "limit": limit})
            return [row["agency_id"] for row in curs.fetchall()]

    def sign_ins_of(self, account_id: UUID, limit: int) -> list[UUID]:
        """Ids of the account's latest ``limit`` login attempts, oldest first."""
        query = SQL("SELECT attempt_id FROM (SELECT attempt_id, position FROM {t} WHERE account_id = %(account)s "
                    "ORDER BY position DESC LIMIT %(limit)s) latest ORDER BY position").format(t=self._sign_ins)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(query, {"account": account_id, "limit": limit})
            return [row["attempt_id"] for row in curs.fetchall()]
