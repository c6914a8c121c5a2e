"""The auditor API every service serves over its own event log (``motcua.audit.v1.AuditService``),
so auditors need no database credentials.

Three parts, one module, mounted by the runtime for every service with a PostgreSQL log
(``runtime``: ``Service.audit`` names the agency tree and, for dossiers, how a code becomes a
dossier id; a service that names nothing gets the plain log):

* ``AuditIndexer``: a worker led by one replica at a time (``leadership``, as the relay and the
  sealer), following the notification log in notification-id order and appending one row per
  event to ``motcua_audit_index`` (position, aggregate id, version, type, record time, actor,
  agency, trace id), indexed for each filter. Why a follower and not the events' transaction:
  not every service writes through the read-model recorder (``readmodel``), and the write path
  keeps its throughput, as with the chain. The index trails the log by one commit; it is
  disposable: a missing table is created and filled again from position 0 when a leader starts.
* ``AuditLog``: the application-level query and its authorization. Callers hold ``auditor`` or
  ``administrator``; they see the events whose ``_meta.agency_id`` lies in the subtree of an
  agency where they hold one of them. Events recorded without an agency (citizens' own acts,
  the system's) are shown only to callers with such a grant at a root of the agency tree (the
  province): they may concern any agency. A service without an agency tree (signing) shows an
  agency's events to grants at that very agency only — the safe side.
* ``AuditServicer``: translates requests and responses.

Event data is returned as stored (decoded from the stored JSON, not replayed through the
domain's classes or upcasters), so personal fields the service stores sealed stay sealed.

An aggregate's state at a version or a time (``AuditLog.aggregate_state``) is the aggregate
replayed from its events up to that version with the service's own classes and mapper, but
with no person's data key: personal fields show ``MASKED``, as they do once their person was
erased (auditors see them sealed in ListEvents; a state must not open them either). Events
only, none of the service's snapshots: the state is what the events say. A time becomes the
last version recorded at or before it, through the index. Replays start from the audit's own
snapshots (``motcua_audit_snapshots``, every ``SNAPSHOT_EVERY`` versions): taken of the masked
replay, so they hold no personal data in the clear, written as queries reach a version
(derived and disposable, like the index). The caller must be allowed every event the state
is made of, as ListEvents would list them: a state folds them all in.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from google.protobuf import struct_pb2
from psycopg import sql

from motcua.audit.v1 import audit_service_pb2, audit_service_pb2_grpc

from .access import ADMINISTRATOR, AUDITOR, require_role
from .checkpoints import CHECKPOINTS_TABLE, log_database
from .context import Actor, current_actor
from .errors import InvalidArgument, NotFound, PermissionDenied
from .eventstore import META_KEY, EventMapper, ProjectingRepository, ServiceApplication, project_events
from .grpc_server import Registration, serve
from .leadership import RELAXED_DURABILITY, SingleLeaderWorker
from .paging import PageQuery, invalid_page_token
from .sealer import CHAIN_TABLE, TRAILING_GATHER
from .subject_keys import PersonalData
from .supervision import WorkerHealth

log = logging.getLogger(__name__)

INDEX_TABLE = "motcua_audit_index"
SNAPSHOTS_TABLE = "motcua_audit_snapshots"
# A state replays at most this many events after a snapshot; a snapshot costs one row per that
# many versions of an aggregate an auditor asked about.
SNAPSHOT_EVERY = 20
KNOWN_SNAPSHOTS = 10_000  # (aggregate, version) pairs remembered as stored, to skip asking again
# Memory for the decoded anchors (``DecodedAnchors``): a 1,000-event dossier's fifty anchors take
# about 6 MB pickled.
ANCHOR_CACHE_BYTES = 32 * 1024 * 1024
AUDIT_ROLES = (AUDITOR, ADMINISTRATOR)
DEFAULT_PAGE = 100
LATEST_CHECKPOINTS = 10  # in a chain status: enough to see the signing go on, and key changes
NO_AGENCY = ""  # the index's agency of an event recorded by an actor of no agency

INDEX_DDL = [
    f"""CREATE TABLE IF NOT EXISTS {INDEX_TABLE} (
        position bigint PRIMARY KEY,
        aggregate_id uuid NOT NULL,
        version bigint NOT NULL,
        event_type text NOT NULL,
        record_time timestamptz,
        actor text NOT NULL,
        agency_id text NOT NULL,
        trace_id text NOT NULL
    )""",
    # Each filter reads in log order from its own index: a dossier's history is one range.
    f"CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_aggregate_idx ON {INDEX_TABLE} (aggregate_id, position)",
    f"CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_actor_idx ON {INDEX_TABLE} (actor, position)",
    f"CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_type_idx ON {INDEX_TABLE} (event_type, position)",
    f"CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_agency_idx ON {INDEX_TABLE} (agency_id, position)",
    f"CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_time_idx ON {INDEX_TABLE} (record_time)",
    f"CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_trace_idx ON {INDEX_TABLE} (trace_id) WHERE trace_id <> ''",
    # The rows of eventsourcing's aggregate recorder (what its snapshot stores read and write).
    f"""CREATE TABLE IF NOT EXISTS {SNAPSHOTS_TABLE} (
        originator_id uuid NOT NULL,
        originator_version bigint NOT NULL,
        topic text,
        state bytea,
        PRIMARY KEY (originator_id, originator_version)
    )""",
]

_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", META_KEY})


class AgencyScope(Protocol):
    """What the audit log needs of an agency tree (``agencies.AgencyTree`` has it)."""

    def is_within(self, eid: str, ancestor_eid: str) -> bool: ...

    def parent_of(self, eid: str) -> str | None: ...


def stored_state(mapper: EventMapper, stored: StoredEvent) -> dict[str, Any]:
    """The event's stored JSON, decrypted and decompressed as the service stores it, decoded
    without the domain's classes (what was written, not what replaying would make of it)."""
    data = stored.state
    if mapper.cipher:
        data = mapper.cipher.decrypt(data)
    if mapper.compressor:
        data = mapper.compressor.decompress(data)
    state = mapper.transcoder.decode(data)
    return state if isinstance(state, dict) else {"state": state}


def trace_id_of(traceparent: str) -> str:
    """The trace id of a W3C traceparent (``00-<trace id>-<span id>-<flags>``), or ""."""
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else ""


def event_type_of(topic: str) -> str:
    return topic.partition(":")[2] or topic


def _record_time(state: dict[str, Any]) -> datetime | None:
    moment = state.get("timestamp")
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return None
    if not isinstance(moment, datetime):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def index_row(mapper: EventMapper, stored: StoredEvent, position: int) -> tuple[Any, ...]:
    """The index row of one stored event; one that cannot be decoded is indexed by its envelope."""
    try:
        state = stored_state(mapper, stored)
    except Exception:
        log.warning("audit index: event not decodable", extra={"position": position, "topic": stored.topic})
        state = {}
    meta = state.get(META_KEY) or {}
    return (position, stored.originator_id, stored.originator_version, event_type_of(stored.topic),
            _record_time(state), str(meta.get("actor") or ""), str(meta.get("agency_id") or NO_AGENCY),
            trace_id_of(str(meta.get("traceparent") or "")))


class AuditIndexer(SingleLeaderWorker):
    """Keeps ``motcua_audit_index`` level with the log (see the module's docstring)."""

    def __init__(self, app: ServiceApplication, batch_size: int = 1000, idle_wait: float = 0.5) -> None:
        self.app = app
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        service = app.settings.service
        super().__init__(app.settings, "audit indexer", f"audit-index:{service}",
                         WorkerHealth(f"audit indexer {service}"), service=service)

    def lead(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        for statement in INDEX_DDL:
            conn.execute(statement)
        conn.execute(RELAXED_DURABILITY)  # a lost commit is indexed again from the log
        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)  # its commits NOTIFY this channel
        row = conn.execute(f"SELECT coalesce(max(position), 0) FROM {INDEX_TABLE}").fetchone()
        position = row[0] if row else 0
        log.info("audit indexer leading", extra={"service": self.settings.service, "position": position})
        for batch in self.follow_log(conn, recorder, position, self.batch_size, self.idle_wait, stop,
                                     gather=TRAILING_GATHER):
            if not batch:
                continue
            rows = [index_row(self.app.mapper, n, n.id) for n in batch]
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {INDEX_TABLE} (position, aggregate_id, version, event_type, record_time, actor, "
                    "agency_id, trace_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", rows)
            self.health.working()


@dataclass(frozen=True)
class EventFilters:
    """What ListEvents is narrowed to; empty fields do not narrow it."""

    aggregate_id: UUID | None = None
    dossier_code: str = ""
    actor: str = ""
    event_type: str = ""
    agency_id: str = ""
    start: datetime | None = None
    end: datetime | None = None
    trace_id: str = ""
    after_position: int = 0


def _plain(value: Any) -> Any:
    """json.dumps' fallback for what the stored JSON decodes to, and what aggregates hold."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "__dict__"):
        return public_attributes(value)
    return str(value)


def public_attributes(obj: Any) -> dict[str, Any]:
    """An object's attributes that are not private by name."""
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def plain_state(aggregate: Any) -> dict[str, Any]:
    """An aggregate's public attributes as JSON values (a Struct's): what json.dumps with
    ``_plain`` then json.loads would give, built in one walk (a dossier's state grows with its
    handovers; encoding it to text only to parse it back cost as much as its replay)."""
    state: dict[str, Any] = _json_value(public_attributes(aggregate))
    return state


_JSON_SCALARS = (str, int, bool, type(None))
_JSON_KEYS = {True: "true", False: "false", None: "null"}


def _json_value(value: Any) -> Any:
    kind = type(value)
    if kind in _JSON_SCALARS or kind is float:
        return value
    if kind is dict:  # the common keys and values inline: a large state is mostly these
        return {(k if type(k) is str else _json_key(k)): (v if type(v) in _JSON_SCALARS else _json_value(v))
                for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _JSON_SCALARS else _json_value(v) for v in value]
    if kind is datetime:
        return value.isoformat()
    # Subclasses as json encodes them: dicts, lists and tuples by content, str, int, float by value.
    if isinstance(value, dict):
        return {_json_key(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return _json_value(_plain(value))


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return str.__str__(key)
    if key is True or key is False or key is None:
        return _JSON_KEYS[key]
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return json.dumps(float(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


class _NoDataKeys:
    """Opens no person's data: every sealed field reads as MASKED."""

    def key_for_reading(self, subject_id: str) -> None:
        return None

    def key_for_writing(self, subject_id: str, used_by: tuple[Any, int] | None = None) -> bytes:
        raise RuntimeError("the audit replay writes nothing")


def masking_mapper(mapper: EventMapper) -> EventMapper:
    """The service's mapper, reading sealed personal fields as MASKED."""
    if mapper.personal is None:
        return mapper
    masking = copy.copy(mapper)
    masking.personal = PersonalData(mapper.personal.fields, _NoDataKeys())
    return masking


@dataclass(frozen=True)
class AggregateState:
    """An aggregate as of a version (``AuditLog.aggregate_state``)."""

    aggregate_id: UUID
    aggregate_type: str
    version: int
    current_version: int
    created_on: datetime | None
    modified_on: datetime | None
    state: dict[str, Any]


class DecodedAnchors:
    """The masked aggregates at anchor versions lately replayed, kept pickled in a least recently
    used order within ``budget`` bytes: an aggregate's past never changes, and unpickling a copy
    costs a fraction of decoding its snapshot (JSON, a datetime per object hook) or fetching it.
    Each ``get`` is a copy of its own, which the caller may fold more events into. They are the
    masked replays: no person's data is held in the clear, so an erasure changes none of them."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._kept: OrderedDict[tuple[UUID, int], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, aggregate_id: UUID, version: int) -> Any:
        with self._lock:
            pickled = self._kept.get((aggregate_id, version))
            if pickled is None:
                return None
            self._kept.move_to_end((aggregate_id, version))
        return pickle.loads(pickled)

    def put(self, aggregate_id: UUID, version: int, aggregate: Any) -> None:
        try:
            pickled = pickle.dumps(aggregate, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # an aggregate that cannot be pickled is replayed every time
            log.debug("audit anchor not kept", extra={"aggregate_id": str(aggregate_id), "reason": type(e).__name__})
            return
        if len(pickled) > self.budget:
            return
        with self._lock:
            previous = self._kept.pop((aggregate_id, version), None)
            self._size -= len(previous) if previous is not None else 0
            self._kept[(aggregate_id, version)] = pickled
            self._size += len(pickled)
            while self._size > self.budget:
                _, dropped = self._kept.popitem(last=False)
                self._size -= len(dropped)


@dataclass(frozen=True)
class _Recorded:
    """What the index says of one event of an aggregate (or what the event says, when the
    index has not reached it yet)."""

    version: int
    record_time: datetime | None
    agency_id: str


class AuditLog:
    """The audit query of one service, with its authorization (see the module's docstring).

    ``tree``: the service's agency tree (None: grants reach their own agency only).
    ``aggregate_of_code``: for a service whose aggregates have public codes (dossiers), the
    aggregate id of a code, or None when there is none.
    """

    def __init__(self, app: ServiceApplication, tree: AgencyScope | None = None,
                 aggregate_of_code: Callable[[str], UUID | None] | None = None) -> None:
        self.app = app
        self.tree = tree
        self.aggregate_of_code = aggregate_of_code
        recorder = app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        self.recorder = recorder
        self.events_table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
        self._snapshot_recorder: PostgresAggregateRecorder | None = None
        self._snapshotted: dict[tuple[UUID, int], None] = {}
        self._snapshot_lock = threading.Lock()
        self._anchors = DecodedAnchors(ANCHOR_CACHE_BYTES)
        # Rendered once: composing it (identifiers quoted one by one) cost a fifth of a millisecond
        # of every state asked for.
        self._state_query = sql.SQL(sql.SQL(
            "SELECT (SELECT max(originator_version) FROM {t} WHERE originator_id = %(id)s) AS current, "
            "max(version) AS indexed, max(version) FILTER (WHERE record_time <= %(at)s) AS at_version, "
            "min(record_time) AS first, "
            "(SELECT array_agg(ARRAY[agency_id, first::text]) FROM (SELECT agency_id, min(version) AS first "
            "FROM {i} WHERE aggregate_id = %(id)s GROUP BY agency_id) AS a) AS agencies "
            "FROM {i} WHERE aggregate_id = %(id)s").format(t=self.events_table,
                                                           i=sql.Identifier(INDEX_TABLE)).as_string())

    @property
    def service(self) -> str:
        return self.app.settings.service

    # --- authorization -------------------------------------------------------------------

    def visible_agencies(self, actor: Actor, recorded: Sequence[str]) -> list[str]:
        """Of the agencies ``recorded`` in the log, those whose events the caller may read
        (``NO_AGENCY`` included for a grant at a root of the tree)."""
        return [a for a in dict.fromkeys([*recorded, NO_AGENCY]) if self.may_read(actor, a)]

    def may_read(self, actor: Actor, agency: str) -> bool:
        """Whether the caller may read the events recorded for ``agency`` (NO_AGENCY: none)."""
        granted = [g for g in actor.agencies_for(*AUDIT_ROLES) if g]
        if agency == NO_AGENCY:
            return self.tree is not None and any(self.tree.parent_of(g) == "" for g in granted)
        return any(agency == g or (self.tree is not None and self.tree.is_within(agency, g)) for g in granted)

    # --- queries -------------------------------------------------------------------------

    def list_events(self, filters: EventFilters, page_size: int, page_token: str) -> tuple[list[dict[str, Any]], str]:
        actor = current_actor()
        action = f"read the {self.service} audit log"
        require_role(actor, action, *AUDIT_ROLES)
        query = PageQuery("audit-events", self.service, filters.aggregate_id, filters.dossier_code, filters.actor,
                          filters.event_type, filters.agency_id, filters.start, filters.end, filters.trace_id,
                          # only when given: the tokens of queries without it stay as they were
                          *([filters.after_position] if filters.after_position else []))
        after = query.position(page_token, int) or 0
        if after < 0:
            raise invalid_page_token()
        after = max(after, filters.after_position)
        aggregate_id = filters.aggregate_id
        if filters.dossier_code:
            if self.aggregate_of_code is None:
                raise InvalidArgument.field("dossier_code", f"only the dossiers service knows dossier codes, "
                                                            f"not {self.service}")
            found = self.aggregate_of_code(filters.dossier_code.strip())
            if found is None:
                raise NotFound("dossier with code", filters.dossier_code)
            if aggregate_id is not None and aggregate_id != found:
                return [], ""
            aggregate_id = found
        size = page_size or DEFAULT_PAGE
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            if filters.agency_id and not self.may_read(actor, filters.agency_id):
                raise PermissionDenied(action, f"needs auditor or administrator granted for {filters.agency_id} "
                                               "or an agency above it", error_reason="AGENCY_SCOPE",
                                       agencies=filters.agency_id)
            visible = [filters.agency_id] if filters.agency_id else \
                self.visible_agencies(actor, self._recorded_agencies(cursor))
            conditions: list[sql.Composable] = [sql.SQL("position > %(after)s"),
                                                sql.SQL("agency_id = ANY(%(visible)s)")]
            params: dict[str, Any] = {"after": after, "visible": visible, "limit": size + 1}
            for column, value in (("aggregate_id", aggregate_id), ("actor", filters.actor),
                                  ("event_type", filters.event_type), ("agency_id", filters.agency_id),
                                  ("trace_id", filters.trace_id)):
                if value:
                    conditions.append(sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column)))
                    params[column] = value
            if filters.start is not None:
                conditions.append(sql.SQL("record_time >= %(start)s"))
                params["start"] = filters.start
            if filters.end is not None:
                conditions.append(sql.SQL("record_time < %(end)s"))
                params["end"] = filters.end
            cursor.execute(sql.SQL("SELECT position FROM {t} WHERE {c} ORDER BY position LIMIT %(limit)s").format(
                t=sql.Identifier(INDEX_TABLE), c=sql.SQL(" AND ").join(conditions)), params)
            positions = [r["position"] for r in cursor.fetchall()]
            more = len(positions) > size
            positions = positions[:size]
            cursor.execute(sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {t} "
                "WHERE notification_id = ANY(%(ids)s) ORDER BY notification_id").format(t=self.events_table),
                {"ids": positions})
            rows = cursor.fetchall()
        events = [self._event(r) for r in rows]
        return events, (query.token(positions[-1]) if more and positions else "")

    def aggregate_state(self, aggregate: str, version: int = 0, at: datetime | None = None) -> AggregateState:
        """The aggregate (a UUID, or a dossier code where the service knows codes) as of
        ``version`` or ``at`` (neither: now), replayed by the service's application."""
        actor = current_actor()
        action = f"read an aggregate's state in the {self.service} audit log"
        require_role(actor, action, *AUDIT_ROLES)
        aggregate_id = self._aggregate_id(aggregate)
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            # What the log and its index hold of the aggregate, in one round trip: its current
            # version, the index's last, the last version recorded at or before ``at``, its first
            # time, and each agency with the first version it appears at (an agency counts when
            # that is at or before the version asked for).
            cursor.execute(self._state_query, {"id": aggregate_id, "at": at})
            found = _one(cursor)
            current = found["current"]
            if current is None:
                raise NotFound("aggregate", str(aggregate_id))
            indexed = found["indexed"] or 0
            # The index trails the log by a commit: the newest events are read from the log itself.
            tail = self._unindexed(cursor, aggregate_id, indexed) if indexed < current else []
        if version:
            if version > current:
                raise InvalidArgument.field("version", f"aggregate {aggregate_id} has {current} version(s); "
                                                       f"there is no version {version}")
            target = version
        elif at is not None:
            target = self._version_at(aggregate_id, at, found["at_version"], found["first"], tail)
        else:
            target = current
        agencies = {agency for agency, first in (found["agencies"] or ()) if int(first) <= target} | \
            {r.agency_id for r in tail if r.version <= target}
        hidden = sorted(a for a in agencies if not self.may_read(actor, a))
        if hidden:
            named = ", ".join(a or "(no agency: citizens or the system)" for a in hidden)
            raise PermissionDenied(action, f"the state folds in events recorded for {named}, outside the agencies "
                                           "where the caller holds auditor or administrator",
                                   error_reason="AGENCY_SCOPE", agencies=",".join(a for a in hidden if a))
        try:
            replayed = self._replayed(aggregate_id, target)
        except AggregateNotFoundError:
            raise NotFound("aggregate", str(aggregate_id)) from None
        return AggregateState(
            aggregate_id=aggregate_id, aggregate_type=type(replayed).__qualname__, version=replayed.version,
            current_version=current, created_on=getattr(replayed, "created_on", None),
            modified_on=getattr(replayed, "modified_on", None), state=plain_state(replayed))

    def _replayed(self, aggregate_id: UUID, target: int) -> Any:
        """The masked aggregate at ``target``: the events after the last anchor (a multiple of
        SNAPSHOT_EVERY) folded into a copy of the aggregate at that anchor, kept decoded in
        memory (``_anchors``), else read from the audit's snapshots, else replayed."""
        # Built per call: a service may set its mapper's personal data after constructing this.
        masking = masking_mapper(self.app.mapper)
        events = EventStore(masking, self.recorder)
        anchor = target - target % SNAPSHOT_EVERY
        if anchor < SNAPSHOT_EVERY:
            return ProjectingRepository(event_store=events).get(aggregate_id, version=target)
        at_anchor = self._anchors.get(aggregate_id, anchor)
        if at_anchor is None:
            snapshots = self._snapshot_store(masking)
            replayer = ProjectingRepository(event_store=events, snapshot_store=snapshots)
            at_anchor = replayer.get(aggregate_id, version=anchor)
            if snapshots is not None:
                self._keep_snapshot(snapshots, at_anchor, anchor)
            self._anchors.put(aggregate_id, anchor, at_anchor)
        if target == anchor:
            return at_anchor
        return project_events(at_anchor, events.get(aggregate_id, gt=anchor, lte=target))

    def _snapshot_store(self, mapper: EventMapper) -> EventStore[UUID] | None:
        """The audit's snapshots, or None while the indexer has not created their table yet."""
        if self._snapshot_recorder is None:
            with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (SNAPSHOTS_TABLE,))
                if not _one(cursor)["present"]:
                    return None
            self._snapshot_recorder = PostgresAggregateRecorder(self.recorder.datastore,
                                                                events_table_name=SNAPSHOTS_TABLE)
        return EventStore(mapper, self._snapshot_recorder)

    def _keep_snapshot(self, snapshots: EventStore[UUID], at_anchor: Any, anchor: int) -> None:
        """Stores the snapshot at ``anchor`` unless it is known to be there: other replicas, and
        this one once its memory dropped the anchor, start from it."""
        key = (at_anchor.id, anchor)
        if key in self._snapshotted:
            return
        try:
            if not list(snapshots.get(at_anchor.id, gt=anchor - 1, lte=anchor, limit=1)):
                snapshot_class = getattr(type(at_anchor), "Snapshot", Snapshot)
                snapshots.put([snapshot_class.take(at_anchor)])
        except Exception as e:  # a cache: a race with another replica, a state it cannot encode
            log.debug("audit snapshot not kept", extra={"aggregate_id": str(at_anchor.id), "version": anchor,
                                                        "reason": type(e).__name__})
            return
        with self._snapshot_lock:
            self._snapshotted[key] = None
            while len(self._snapshotted) > KNOWN_SNAPSHOTS:
                del self._snapshotted[next(iter(self._snapshotted))]

    def _aggregate_id(self, aggregate: str) -> UUID:
        text = aggregate.strip()
        try:
            return UUID(text)
        except ValueError:
            pass
        if self.aggregate_of_code is None:
            raise InvalidArgument.field("aggregate_id", f"expected a UUID ({self.service} has no codes for its "
                                                        "aggregates)")
        found = self.aggregate_of_code(text)
        if found is None:
            raise NotFound("dossier with code", text)
        return found

    def _unindexed(self, cursor: psycopg.Cursor[Any], aggregate_id: UUID, indexed: int) -> list[_Recorded]:
        cursor.execute(sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {t} "
            "WHERE originator_id = %s AND originator_version > %s ORDER BY originator_version").format(
            t=self.events_table), (aggregate_id, indexed))
        found = []
        for row in cursor.fetchall():
            stored = StoredEvent(originator_id=row["originator_id"], originator_version=row["originator_version"],
                                 topic=row["topic"], state=bytes(row["state"]))
            _, _, version, _, moment, _, agency, _ = index_row(self.app.mapper, stored, 0)
            found.append(_Recorded(version, moment, agency))
        return found

    def _version_at(self, aggregate_id: UUID, at: datetime, indexed_at: int | None, first: datetime | None,
                    tail: list[_Recorded]) -> int:
        """The last version recorded at or before ``at`` (``indexed_at``: the index's answer)."""
        found = max([indexed_at or 0, *(r.version for r in tail if r.record_time is not None and r.record_time <= at)])
        if not found:
            first = first or next((r.record_time for r in tail if r.record_time is not None), None)
            since = f"its first event was recorded at {first.isoformat()}" if first else "no time is recorded"
            raise InvalidArgument.field("read_time", f"aggregate {aggregate_id} did not exist yet at "
                                                     f"{at.isoformat()}: {since}")
        return int(found)

    def _recorded_agencies(self, cursor: psycopg.Cursor[Any]) -> list[str]:
        """The distinct agencies of the index: one index probe per agency (a loose index scan),
        not a scan of the whole table."""
        cursor.execute(sql.SQL(
            "WITH RECURSIVE a(v) AS (SELECT min(agency_id) FROM {t} UNION ALL "
            "SELECT (SELECT min(agency_id) FROM {t} WHERE agency_id > a.v) FROM a WHERE a.v IS NOT NULL) "
            "SELECT v FROM a WHERE v IS NOT NULL").format(t=sql.Identifier(INDEX_TABLE)))
        return [r["v"] for r in cursor.fetchall()]

    def _event(self, row: dict[str, Any]) -> dict[str, Any]:
        stored = StoredEvent(originator_id=row["originator_id"], originator_version=row["originator_version"],
                             topic=row["topic"], state=bytes(row["state"]))
        try:
            state = stored_state(self.app.mapper, stored)
        except Exception as e:  # a corrupted or foreign record: shown, not fatal to the page
            state = {"not_decoded": f"{type(e).__name__}"}
        meta = state.get(META_KEY) or {}
        data = json.loads(json.dumps({k: v for k, v in state.items() if k not in _ENVELOPE}, default=_plain,
                                     ensure_ascii=False))
        return {
            "position": row["notification_id"],
            "aggregate_id": str(row["originator_id"]),
            "version": row["originator_version"],
            "event_type": event_type_of(row["topic"]),
            "topic": row["topic"],
            "record_time": _record_time(state),
            "actor": str(meta.get("actor") or ""),
            "agency_id": str(meta.get("agency_id") or ""),
            "traceparent": str(meta.get("traceparent") or ""),
            "data": data,
        }

    def chain_status(self) -> dict[str, Any]:
        require_role(current_actor(), f"read the {self.service} chain status", *AUDIT_ROLES)
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) AS last FROM {t}").format(
                t=self.events_table))
            last = _one(cursor)["last"]
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (CHAIN_TABLE,))
            head, digest = 0, b""
            if _one(cursor)["present"]:
                cursor.execute(sql.SQL("SELECT notification_id, digest FROM {} ORDER BY notification_id DESC LIMIT 1")
                               .format(sql.Identifier(CHAIN_TABLE)))
                sealed = cursor.fetchone()
                if sealed:
                    head, digest = sealed["notification_id"], bytes(sealed["digest"])
            cursor.execute(sql.SQL("SELECT count(*) AS n FROM {t} WHERE notification_id > %s").format(
                t=self.events_table), (head,))
            unsealed = _one(cursor)["n"]
            checkpoints: list[dict[str, Any]] = []
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (CHECKPOINTS_TABLE,))
            if _one(cursor)["present"]:
                cursor.execute(sql.SQL(
                    "SELECT position, digest, key_id, signed_at, timestamp_token IS NOT NULL AS timestamped "
                    "FROM {} WHERE service = %s AND database = %s ORDER BY position DESC, signed_at DESC LIMIT %s"
                ).format(sql.Identifier(CHECKPOINTS_TABLE)),
                    (self.service, log_database(self.app.settings), LATEST_CHECKPOINTS))
                checkpoints = [{**row, "digest": bytes(row["digest"]).hex()} for row in cursor.fetchall()]
        return {"sealed_position": head, "sealed_digest": digest.hex(), "last_position": last,
                "unsealed_events": unsealed, "latest_checkpoints": checkpoints}


def _one(cursor: psycopg.Cursor[Any]) -> dict[str, Any]:
    row: dict[str, Any] | None = cursor.fetchone()
    assert row is not None  # an aggregate query always answers one row
    return row


class AuditServicer(audit_service_pb2_grpc.AuditServiceServicer):
    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def _check_service(self, service: str) -> None:
        if service != self.audit.service:
            raise InvalidArgument.field("service", f"this is the {self.audit.service} service, not {service}")

    def ListEvents(self, request: audit_service_pb2.ListEventsRequest, context: Any) -> Any:
        self._check_service(request.service)
        filters = EventFilters(
            aggregate_id=UUID(request.aggregate_id) if request.aggregate_id else None,
            dossier_code=request.dossier_code, actor=request.actor, event_type=request.event_type,
            agency_id=request.agency_id,
            start=request.start_time.ToDatetime(UTC) if request.HasField("start_time") else None,
            end=request.end_time.ToDatetime(UTC) if request.HasField("end_time") else None,
            trace_id=request.trace_id, after_position=request.after_position,
        )
        events, token = self.audit.list_events(filters, request.page_size, request.page_token)
        response = audit_service_pb2.ListEventsResponse(next_page_token=token)
        for e in events:
            message = response.events.add(
                service=self.audit.service, position=e["position"], aggregate_id=e["aggregate_id"],
                version=e["version"], event_type=e["event_type"], topic=e["topic"], actor=e["actor"],
                agency_id=e["agency_id"], traceparent=e["traceparent"])
            if e["record_time"] is not None:
                message.record_time.FromDatetime(e["record_time"])
            data = struct_pb2.Struct()
            data.update(e["data"])
            message.data.CopyFrom(data)
        return response

    def GetChainStatus(self, request: audit_service_pb2.GetChainStatusRequest, context: Any) -> Any:
        self._check_service(request.service)
        status = self.audit.chain_status()
        checkpoints = status.pop("latest_checkpoints")
        response = audit_service_pb2.GetChainStatusResponse(service=self.audit.service, **status)
        for c in checkpoints:
            message = response.latest_checkpoints.add(position=c["position"], digest=c["digest"], key_id=c["key_id"],
                                                      timestamped=c["timestamped"])
            if c["signed_at"] is not None:
                message.sign_time.FromDatetime(c["signed_at"])
        return response


    def GetAggregateState(self, request: audit_service_pb2.GetAggregateStateRequest, context: Any) -> Any:
        self._check_service(request.service)
        if request.version and request.HasField("read_time"):
            raise InvalidArgument.field("version", "give either version or read_time, not both")
        found = self.audit.aggregate_state(
            request.aggregate_id, request.version,
            request.read_time.ToDatetime(UTC) if request.HasField("read_time") else None)
        response = audit_service_pb2.GetAggregateStateResponse(
            service=self.audit.service, aggregate_id=str(found.aggregate_id), aggregate_type=found.aggregate_type,
            version=found.version, current_version=found.current_version)
        if found.created_on is not None:
            response.create_time.FromDatetime(found.created_on)
        if found.modified_on is not None:
            response.update_time.FromDatetime(found.modified_on)
        response.state.update(found.state)
        return response


def registration(audit: AuditLog) -> Registration:
    """The AuditService of one service, for its gRPC server."""
    return serve(audit_service_pb2, audit_service_pb2_grpc, AuditServicer(audit))
