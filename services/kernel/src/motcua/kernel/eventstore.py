"""Event-sourced applications on PostgreSQL, one database per service.

Every service's application derives from ``ServiceApplication``: an
eventsourcing application whose recorder also keeps tracking records, so the
same log holds the service's own commands and the effects of events it
consumed from other services (each with the consumed position, atomically).
"""

from __future__ import annotations

import contextlib
import itertools
import select
from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar, cast
from uuid import UUID

import psycopg
import psycopg_pool
from eventsourcing.application import AggregateNotFoundError, ProcessingEvent, Repository
from eventsourcing.domain import Aggregate, BaseAggregate
from eventsourcing.persistence import (
    AggregateRecorder,
    EventStore,
    IntegrityError,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Tracking,
    find_id_convertor,
)
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic, resolve_topic, strtobool
from opentelemetry.trace import SpanKind
from psycopg.sql import SQL, Identifier

from .config import Settings
from .context import current_actor
from .errors import NotFound, VersionConflict
from .groupcommit import GroupCommitRecorder
from .subject_keys import PersonalData
from .tracing import current_traceparent, records_spans, tracer

A = TypeVar("A", bound=Aggregate)

META_KEY = "_meta"
_MAX_MAPPED = 10_000


class EventMapper(Mapper[UUID]):
    """Stores who caused each event and the trace it belongs to beside its state.

    The metadata never reaches the domain: ``to_domain_event`` drops it, and
    ``decode`` returns it separately for the outbox relay and the audit tool.

    With ``personal`` set, the personal fields it names are sealed under their subject's key
    on the way in and unsealed (or masked, once erased) on the way out (kernel.subject_keys).
    """

    personal: PersonalData | None = None
    # Set by a recorder that projects the events it stores (kernel.readmodel): each stored event
    # made here is kept with the domain event it came from until written, so the projection
    # reads the domain event rather than decoding (and unsealing) the stored one again.
    mapped: dict[int, tuple[StoredEvent, Any]] | None = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = self._to_stored_event(domain_event)
        if self.mapped is not None:
            if len(self.mapped) >= _MAX_MAPPED:
                self.mapped.clear()  # writes that never reached the recorder: not worth keeping
            # Keyed by identity, holding the stored event: its id is not reused while kept.
            self.mapped[id(stored)] = (stored, domain_event)
        return stored

    def domain_event_of(self, stored_event: StoredEvent) -> Any:
        """The domain event a stored event was made from here (not yet written), else decoded."""
        kept = self.mapped.get(id(stored_event)) if self.mapped is not None else None
        if kept is not None and kept[0] is stored_event:
            return kept[1]
        return self.to_domain_event(stored_event)

    def written(self, stored_events: Any) -> None:
        if self.mapped is not None:
            for stored in stored_events:
                self.mapped.pop(id(stored), None)

    def _to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        actor = current_actor()
        meta = {"actor": actor.subject}
        if actor.agency_id:
            meta["agency_id"] = actor.agency_id
        traces = _batch_traces.get()
        traceparent = (traces.get(id(domain_event)) if traces else None) or current_traceparent()
        if traceparent:
            meta["traceparent"] = traceparent
        state[META_KEY] = meta
        topic = get_topic(type(domain_event))
        if self.personal is not None:
            self.personal.seal_state(topic, originator_id, originator_version, state)
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.decode(stored_event)[0]

    def decode(self, stored_event: StoredEvent, state: dict[str, Any] | None = None) -> tuple[Any, dict[str, str]]:
        """The domain event and its metadata; ``state``: the stored state already decoded."""
        if self.personal is not None and stored_event.topic in self.personal.fields:
            # Unsealed in the decoded state, the event made from it (not re-encoded for the base
            # mapper to decode once more: a third of a sealed event's read).
            state = self._state_of(stored_event) if state is None else state
            self.personal.unseal_state(stored_event.topic, stored_event.originator_id,
                                       stored_event.originator_version, state)
        event = super().to_domain_event(stored_event) if state is None else self._event_of(stored_event, state)
        meta = vars(event).pop(META_KEY, None) or {}
        return event, meta

    def decode_many(self, stored_events: Sequence[StoredEvent]) -> list[Any]:
        """The domain events of these stored events; the keys unsealing them read in one query
        (when the key store can) rather than one for each person as each event is decoded."""
        prefetch = getattr(self.personal.keys, "prefetch", None) if self.personal is not None else None
        if prefetch is None:
            return [self.decode(e)[0] for e in stored_events]
        assert self.personal is not None
        states: dict[int, dict[str, Any]] = {}
        subjects: list[str] = []
        for n, stored_event in enumerate(stored_events):
            if stored_event.topic in self.personal.fields:
                states[n] = state = self._state_of(stored_event)
                subjects += self.personal.subjects(stored_event.topic, stored_event.originator_id, state)
        prefetch(subjects)
        return [self.decode(e, states.get(n))[0] for n, e in enumerate(stored_events)]

    def _state_of(self, stored_event: StoredEvent) -> dict[str, Any]:
        stored_state = stored_event.state
        try:
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            return cast(dict[str, Any], self.transcoder.decode(stored_state))
        except Exception as e:
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic '{stored_event.topic}', originator_id "
                f"'{stored_event.originator_id}' and originator_version {stored_event.originator_version}: {e}"
            ) from e

    @staticmethod
    def _event_of(stored_event: StoredEvent, state: dict[str, Any]) -> Any:
        """The domain event of a decoded state, as eventsourcing's ``Mapper.to_domain_event``
        makes it (the originator's id converted, the state upcast to the class's version)."""
        cls = resolve_topic(stored_event.topic)
        convert_id = find_id_convertor(cls, cast(Hashable, type(stored_event.originator_id)))
        state["originator_id"] = convert_id(stored_event.originator_id)
        state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event


def pre_ping(settings: Settings) -> bool:
    """Whether pooled connections are checked before use (POSTGRES_PRE_PING), for the pools a
    service keeps beside the event store's."""
    return strtobool(settings.eventstore_env.get("POSTGRES_PRE_PING") or "n")


def check_pooled_connection(conn: psycopg.Connection) -> None:
    """The pool's check of a connection before it hands it out (POSTGRES_PRE_PING): raises when the
    connection is no longer usable, so that the pool replaces it.

    A round trip per check (psycopg_pool's own check) cost as much as the query it guarded: every
    command checks out a connection several times. An idle connection of a healthy session has
    nothing to read; one whose server restarted, failed over or ended the session has (the
    server's termination message, or end of file). So the socket is looked at, without waiting,
    and only a connection with something to read pays the round trip (and fails it when stale).
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the pooled connection is closed")
    poll = select.poll()
    poll.register(conn.fileno(), select.POLLIN | select.POLLPRI)
    if poll.poll(0):
        psycopg_pool.ConnectionPool.check_connection(conn)


def dedicated_connection(settings: Settings, purpose: str) -> psycopg.Connection:
    """An autocommit connection of its own to the service's database, outside the pool:
    for session state such as LISTEN or an advisory lock (named in pg_stat_activity)."""
    env = settings.eventstore_env
    return psycopg.connect(
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD", ""),
        application_name=f"motcua-{settings.service}-{purpose}",
        autocommit=True,
        # The same bound as the pool's: a worker waiting on an unreachable server fails and retries.
        connect_timeout=max(1, round(float(env.get("POSTGRES_CONNECT_TIMEOUT") or 5))),
    )


# Aggregates changed but not yet saved by the batch of consumed events being applied
# in this thread: later events of the batch must see those changes.
_batch_changes: ContextVar[dict[UUID, Any] | None] = ContextVar("motcua_batch_changes", default=None)
# The aggregates ``ServiceApplication.preload`` read for the current batch (None: there is none of
# that id), kept apart from its changes: those alone are saved.
_batch_preloaded: ContextVar[dict[UUID, Any] | None] = ContextVar("motcua_batch_preloaded", default=None)

# The trace each pending event of that batch was caused in (by the event object's id: the
# batch holds the objects until they are saved). The batch is saved under a span of its own;
# each event must still name the trace of the message that caused it, or a trace's timeline
# would miss the effects of messages applied together.
_batch_traces: ContextVar[dict[int, str] | None] = ContextVar("motcua_batch_traces", default=None)


def project_events(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """eventsourcing's ``project_aggregate`` without its ``assert isinstance(event,
    CanMutateProtocol)`` on every event: an isinstance against a runtime-checkable Protocol
    walks the class's attributes each time, which cost more than the event's own mutation on
    every load and every replay. The events are the store's own, decoded to the classes their
    topics name (a snapshot or an aggregate event, each with ``mutate``)."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class CollectedEvents(ProcessingEvent[UUID]):
    """eventsourcing's ``ProcessingEvent`` collecting an aggregate's pending events without first
    asking ``isinstance(obj, DomainEventProtocol)`` and ``isinstance(obj, CollectEventsProtocol)``:
    each check against a runtime-checkable Protocol walks the class's attributes, together more
    than 100 microseconds per aggregate saved on a loaded machine. An aggregate is recognised by
    its base class (a plain isinstance); anything else (a bare domain event) takes the library's
    own path."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            elif obj is not None:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class ProjectingRepository(Repository[UUID]):
    """A repository that reconstructs aggregates with ``project_events``."""

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("projector_func", project_events)
        return super().get(aggregate_id, version=version, **kwargs)


class BatchAwareRepository(ProjectingRepository):
    """Reads an aggregate changed earlier in the current batch from the batch, not the store."""

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        changes = _batch_changes.get()
        if changes is not None and version is None:
            if aggregate_id in changes:
                return changes[aggregate_id]
            preloaded = _batch_preloaded.get()
            if preloaded is not None and aggregate_id in preloaded:
                if preloaded[aggregate_id] is None:
                    raise AggregateNotFoundError(aggregate_id)
                return preloaded[aggregate_id]
        return super().get(aggregate_id, version=version, **kwargs)


class ServiceApplication(EventSourcedProjection[UUID]):
    """Base of every service's application: load, call, save — plus tracked effects."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Snapshots replay the aggregate's recent events with ``project_events`` too, not with
        # the library's default projector and its Protocol check per event.
        self.snapshotting_projectors = {  # type: ignore[misc]
            **{t: project_events for t in self.snapshotting_intervals or {}}, **self.snapshotting_projectors}
        super().__init__(env=settings.eventstore_env)
        self.mapper: EventMapper
        self._stored_versions_statement: SQL | None = None
        pool = getattr(getattr(self.factory, "datastore", None), "pool", None)
        if isinstance(pool, psycopg_pool.ConnectionPool) and pool._check is not None:
            # eventsourcing gives POSTGRES_PRE_PING psycopg_pool's check, a round trip per checkout;
            # the pool takes no other (the attribute is the one its constructor's ``check`` sets).
            pool._check = check_pooled_connection

    def construct_mapper(self) -> EventMapper:
        mapper = self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=EventMapper)
        assert isinstance(mapper, EventMapper)  # the factory builds the class it is given
        return mapper

    def construct_repository(self) -> Repository[UUID]:
        # No aggregate cache: with several replicas writing, only the store is current.
        # Aggregates of the types never snapshotted are read without first asking the snapshot
        # store (a round trip on every load that always finds nothing).
        self._without_snapshots = BatchAwareRepository(event_store=self.events, snapshot_store=None)
        return BatchAwareRepository(event_store=self.events, snapshot_store=self.snapshots)

    def _repository_for(self, aggregate_type: type) -> Repository[UUID]:
        snapshotted = self.snapshotting_intervals or {}
        if self.snapshots is None or any(issubclass(aggregate_type, t) or issubclass(t, aggregate_type)
                                         for t in snapshotted):
            return self.repository
        return self._without_snapshots

    @contextlib.contextmanager
    def batch_of_changes(self) -> Iterator[dict[UUID, Any]]:
        """Within it, aggregates put in the yielded dict are what ``repository.get`` returns."""
        changes: dict[UUID, Any] = {}
        token = _batch_changes.set(changes)
        preloaded = _batch_preloaded.set({})
        traces = _batch_traces.set({})
        try:
            yield changes
        finally:
            _batch_traces.reset(traces)
            _batch_preloaded.reset(preloaded)
            _batch_changes.reset(token)

    def preload(self, aggregate_ids: Iterable[UUID]) -> None:
        """Within ``batch_of_changes``: the aggregates of these ids read in one query, and those
        of which there is none known absent, so that the batch's reads of them make no round
        trip each (a consumed batch about many dossiers and people). Read from their events
        alone, snapshots aside: meant for aggregates of a few events. The batch's writes still
        conflict with another replica's meanwhile, as after reads one by one."""
        changes, preloaded = _batch_changes.get(), _batch_preloaded.get()
        select = getattr(self.recorder, "select_events_of", None)
        if changes is None or preloaded is None or select is None:
            return
        wanted = [i for i in dict.fromkeys(aggregate_ids) if i not in changes and i not in preloaded]
        if not wanted:
            return
        stored = select(wanted)
        for aggregate_id in wanted:
            events = stored.get(aggregate_id)
            preloaded[aggregate_id] = project_events(None, map(self.mapper.to_domain_event, events)) \
                if events else None

    @staticmethod
    def trace_pending_events(aggregates: Iterable[Any]) -> None:
        """Within ``batch_of_changes``: the events the aggregates hold unsaved and not yet
        attributed are recorded as caused in the current trace (the message being applied)."""
        traces = _batch_traces.get()
        traceparent = current_traceparent()
        if traces is None or not traceparent:
            return
        for aggregate in aggregates:
            for pending in aggregate.pending_events:
                traces.setdefault(id(pending), traceparent)

    def construct_event_store(self) -> EventStore[UUID]:
        self.group_commit = GroupCommitRecorder(self.recorder)
        # The wrapper is a recorder by delegation (its reads pass through __getattr__).
        return self.factory.event_store(mapper=self.mapper, recorder=cast(AggregateRecorder, self.group_commit))

    def close(self) -> None:
        self.group_commit.close()
        super().close()

    def load(self, aggregate_type: type[A], aggregate_id: UUID, expected_version: int | None = None) -> A:
        """The aggregate, checked against the version the caller last saw (0 or None: no check)."""
        try:
            aggregate: object = self._repository_for(aggregate_type).get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(aggregate_type.__name__, str(aggregate_id)) from None
        if not isinstance(aggregate, aggregate_type):
            raise NotFound(aggregate_type.__name__, str(aggregate_id))
        if expected_version and aggregate.version != expected_version:
            raise VersionConflict(str(aggregate_id), expected_version, aggregate.version)
        return aggregate

    def find(self, aggregate_type: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate, or None when there is none of that type with that id."""
        try:
            aggregate: object = self._repository_for(aggregate_type).get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, aggregate_type) else None

    def find_many(self, aggregate_type: type[A], aggregate_ids: Sequence[UUID]) -> dict[UUID, A]:
        """The aggregates of ``aggregate_ids`` that exist and are of that type, by id: the events
        of them all read in one query, and the keys that unseal them in one more, rather than a
        round trip or two each (a worker taking up a batch). Types that are snapshotted, and
        reads within a batch of changes, are read one at a time as ``find`` reads them."""
        recorder = self.recorder
        if (self._repository_for(aggregate_type) is not self._without_snapshots or _batch_changes.get() is not None
                or not isinstance(recorder, PostgresAggregateRecorder)):
            return {i: a for i in aggregate_ids if (a := self.find(aggregate_type, i)) is not None}
        with recorder.datastore.get_connection() as conn:
            rows = conn.execute(SQL("SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
                             "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version").format(
                schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name)),
                [list(aggregate_ids)], prepare=True).fetchall()
        stored = [StoredEvent(originator_id=row["originator_id"], originator_version=row["originator_version"],
                              topic=row["topic"], state=bytes(row["state"])) for row in rows]
        found: dict[UUID, A] = {}
        for originator_id, events in itertools.groupby(self.mapper.decode_many(stored), key=lambda e: e.originator_id):
            aggregate = project_events(None, events)
            if isinstance(aggregate, aggregate_type):
                found[originator_id] = aggregate
        return found

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Saves atomically; a concurrent write to any of the aggregates raises VersionConflict."""
        with self._commit_span():
            try:
                return self._save(*objs, **kwargs)
            except IntegrityError as e:
                aggregate = next((o for o in objs if isinstance(o, Aggregate)), None)
                raise VersionConflict(str(getattr(aggregate, "id", "?")), None, self._current_version(aggregate)) from e

    def _save(self, *objs: Any, **kwargs: Any) -> Any:
        """``Application.save`` (eventsourcing 9.5), its events collected by ``CollectedEvents``."""
        processing_event = CollectedEvents()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # deprecated by the library, still called by it
        return recordings

    def stored_versions(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, int]:
        """The version each of these aggregates has in the store, in one query (an id with no
        event stored is absent): what a cache of aggregates checks itself against, since another
        replica may have saved a newer version."""
        recorder: Any = self.recorder
        if self._stored_versions_statement is None:
            # Rendered to text once: psycopg quotes a composed statement's identifiers again at
            # every execution.
            self._stored_versions_statement = SQL(SQL(
                "SELECT originator_id, max(originator_version) AS version FROM {events} "
                "WHERE originator_id = ANY(%s) GROUP BY originator_id"
            ).format(events=Identifier(recorder.datastore.schema, recorder.events_table_name)).as_string())
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(self._stored_versions_statement, (list(aggregate_ids),))
            return {row["originator_id"]: row["version"] for row in curs.fetchall()}

    def record_processed(self, tracking: Tracking, *aggregates: Any) -> None:
        """Saves the effects of consumed events together with the position of the last one.

        Raises eventsourcing's IntegrityError when the position was already
        recorded (a redelivery) or an aggregate was changed concurrently.
        """
        processing_event = CollectedEvents(tracking=tracking)
        processing_event.collect_events(*aggregates)
        with self._commit_span():
            recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> Any:
        keys = self.mapper.personal.keys if self.mapper.personal is not None else None
        if not getattr(keys, "stores_keys_with_events", False):
            return super()._record(processing_event)
        assert self.mapper.personal is not None
        # The keys of the subjects the events name, read at once (not one round trip each).
        stored, new = self.mapper.personal.subjects_of(
            (get_topic(type(e)), e.originator_id, vars(e)) for e in processing_event.events)
        try:
            with keys.read_together(stored, new):  # type: ignore[union-attr]
                return super()._record(processing_event)
        except IntegrityError:
            if not keys.write_failed(processing_event.events):  # type: ignore[union-attr]
                raise
        # A new subject's key made here may have lost to one another replica stored first: the
        # events are sealed again (under the stored key) and written once more. A write that
        # conflicts for another reason fails again, as it would have.
        try:
            return super()._record(processing_event)
        except IntegrityError:
            keys.write_failed(processing_event.events)  # type: ignore[union-attr]
            raise

    def tracked_position(self, upstream: str) -> int:
        return self.recorder.max_tracking_id(upstream) or 0

    def _current_version(self, aggregate: Aggregate | None) -> int | None:
        if aggregate is None:
            return None
        try:
            return self.repository.get(aggregate.id).version
        except AggregateNotFoundError:
            return None

    def _commit_span(self) -> contextlib.AbstractContextManager[Any]:
        """The span of a commit, in the current trace; none where spans are not recorded (creating
        a non-recording one cost a few percent of a command)."""
        if not records_spans():
            return contextlib.nullcontext()
        return tracer().start_as_current_span("eventstore.commit", kind=SpanKind.CLIENT,
                                              attributes=self._db_attributes())

    def _db_attributes(self) -> dict[str, str]:
        return {"db.system": "postgresql", "db.name": self.settings.eventstore_env.get("POSTGRES_DBNAME", "")}
