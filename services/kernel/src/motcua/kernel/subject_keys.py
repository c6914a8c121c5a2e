"""Personal data encrypted under a key of the person it is about (crypto-shredding).

An event log is immutable, so a person's data in it cannot be deleted; it can be made
unreadable. Each data subject (an account, or a pseudonym for an applicant without one) has
a data key of their own. Personal fields of events are stored encrypted under it
(AES-256-GCM, field by field: the event, its other fields and its digest in the audit hash
chain stay as they are). Erasing the person destroys the key: every copy of the ciphertext
(the log, backups, exports) becomes noise, and readers show ``MASKED`` instead.

Data keys are stored wrapped (encrypted) by a key-encryption key (KEK) from a Secret, in a
table of their own beside the events. Each wrapped key records the id of the KEK that wrapped
it, so a new KEK is put in service by re-wrapping the data keys (``rewrap``), never by
re-encrypting events. Destroying a key deletes its row and leaves a tombstone (who, when,
why) without the key.

The pure parts (wrapping, sealing, unsealing) are functions of their inputs; the store
(``SubjectKeyStore``) is the only part that talks to PostgreSQL.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field as dataclass_field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg.sql import SQL, Identifier

from . import keyfiles
from .config import ConfigError

# What a reader shows in place of a field whose subject was erased ("deleted").
MASKED = "[đã xóa]"
DATA_KEY_BYTES = 32  # AES-256-GCM
KEK_BYTES = 32
NONCE_BYTES = 12
# The key under which a sealed field's ciphertext sits inside the field's dict in a stored
# event, beside the values left in the clear.
SEALED = "_sealed"
SEALED_FORMAT = 1


class SubjectErased(Exception):
    """The subject's key was destroyed: their data can no longer be read."""

    def __init__(self, subject_id: str) -> None:
        self.subject_id = subject_id
        super().__init__(f"the personal data of subject {subject_id} was erased")


# --- key-encryption keys -----------------------------------------------------------------------


@dataclass(frozen=True)
class KeyEncryptionKeys:
    """The KEKs in service: the current one wraps new data keys; older ones still unwrap the
    keys they wrapped until ``rewrap`` moves those to the current one."""

    current_id: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise ConfigError(f"the current key-encryption key {self.current_id!r} is not among the keys given")

    @classmethod
    def from_directory(cls, directory: Path, current_id: str = "", generate: bool = False) -> KeyEncryptionKeys:
        """One key per file ``<id>.key`` (base64), e.g. a mounted Secret; the current one is
        ``current_id`` or else the last id in name order. With ``generate`` (development) an
        empty directory gets a first key ``k1``."""
        files = sorted(directory.glob("*.key")) if directory.is_dir() else []
        if not files:
            if not generate:
                raise ConfigError(f"no key-encryption key (<id>.key, base64 of {KEK_BYTES} bytes) in {directory}")
            keyfiles.write_new_key(directory / "k1.key", KEK_BYTES)
            files = sorted(directory.glob("*.key"))
        keys = {f.stem: keyfiles.decode_key(f.read_text(), str(f), "key-encryption key") for f in files}
        return cls(current_id or files[-1].stem, keys)


def _wrap_context(kek_id: str, subject_id: str) -> bytes:
    # Binds a wrapped key to its subject and KEK: a row copied to another subject does not unwrap.
    return f"motcua-subject-key:{kek_id}:{subject_id}".encode()


def wrap_key(keks: KeyEncryptionKeys, subject_id: str, data_key: bytes) -> tuple[str, bytes]:
    """(id of the KEK used, nonce || AES-GCM(data key)) under the current KEK."""
    nonce = os.urandom(NONCE_BYTES)
    kek_id = keks.current_id
    return kek_id, nonce + AESGCM(keks.keys[kek_id]).encrypt(nonce, data_key, _wrap_context(kek_id, subject_id))


def unwrap_key(keks: KeyEncryptionKeys, subject_id: str, kek_id: str, wrapped: bytes) -> bytes:
    kek = keks.keys.get(kek_id)
    if kek is None:
        raise ConfigError(f"the key-encryption key {kek_id!r} that wrapped a data key is not configured")
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_context(kek_id, subject_id))
    except InvalidTag:
        # Not an erasure (that deletes the row): the configured key is not the one that wrapped it.
        raise ConfigError(f"a data key wrapped by key-encryption key {kek_id!r} does not open with the key "
                          f"configured under that id: the wrong key file is mounted") from None


# --- sealing fields ----------------------------------------------------------------------------


def seal(data_key: bytes, values: Mapping[str, str], context: str) -> str:
    """The values (a dict of text) encrypted under the data key, bound to ``context`` (where
    they are stored: an event's id, version and field), as base64 of nonce || ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(dict(values), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.b64encode(nonce + AESGCM(data_key).encrypt(nonce, plaintext, context.encode())).decode()


def unseal(data_key: bytes, sealed: str, context: str) -> dict[str, str]:
    """The values ``seal`` encrypted; InvalidTag when the key or the context is not theirs."""
    raw = base64.b64decode(sealed)
    values = json.loads(AESGCM(data_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()))
    if not isinstance(values, dict):
        raise ValueError("a sealed field holds an object")
    return values


def seal_bytes(data_key: bytes, content: bytes, context: str) -> bytes:
    """A file's bytes encrypted under the data key, bound to ``context`` (where they are
    kept): nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, content, context.encode())


def unseal_bytes(data_key: bytes, sealed: bytes, context: str) -> bytes:
    return AESGCM(data_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode())


class KeyLookup(Protocol):
    def key_for_writing(self, subject_id: str, used_by: tuple[Any, int] | None = None) -> bytes: ...

    def key_for_reading(self, subject_id: str) -> bytes | None: ...


@dataclass(frozen=True)
class PersonalField:
    """A dict-valued attribute of an event holding personal data: the values under ``keys``
    are sealed under the key of the subject named by its ``subject_key`` value; the others
    (kind, account id, the subject id itself) stay in the clear.

    With no ``attribute`` the keys are the event's own attributes (flat events, such as an
    account's creation). ``subject_of`` names the subject from the event's originator id and
    the attribute's values when no value names it (e.g. ``account:<originator id>``); an empty
    name leaves the values as given."""

    attribute: str
    keys: tuple[str, ...]
    subject_key: str = "subject_id"
    subject_of: Callable[[Any, Mapping[str, Any]], str] | None = None
    # What an erased value reads as, for keys whose value is not text (e.g. ``{}`` for a dict).
    masked: Mapping[str, Any] = dataclass_field(default_factory=dict)
    # Whether the subject is new with this event: one named after the event's own aggregate on
    # the event creating it (a notice to an address: ``notification:<id>``), whose key can only
    # be stored with that very event. Its key is then made without asking the store first (a
    # write repeating a stored creation fails on the event anyway).
    new_subject: Callable[[Any, Mapping[str, Any]], bool] | None = None

    def subject(self, originator_id: Any, value: Mapping[str, Any]) -> str:
        if self.subject_of is not None:
            return self.subject_of(originator_id, value)
        return str(value.get(self.subject_key) or "")


class PersonalData:
    """Seals and unseals the personal fields of stored event states, by event topic.

    A state without a sealed part (written before sealing began) is read as it is: old
    plaintext events replay unchanged (upcast on read, nothing rewritten).
    """

    def __init__(self, fields: Mapping[str, Iterable[PersonalField]], keys: KeyLookup) -> None:
        self.fields = {topic: tuple(f) for topic, f in fields.items()}
        self.keys = keys

    @staticmethod
    def context(originator_id: Any, originator_version: int, attribute: str) -> str:
        return f"{originator_id}:{originator_version}:{attribute}"

    def seal_state(self, topic: str, originator_id: Any, originator_version: int, state: dict[str, Any]) -> None:
        for field in self.fields.get(topic, ()):
            value = state.get(field.attribute) if field.attribute else state
            if not isinstance(value, dict) or SEALED in value:
                continue
            subject_id = field.subject(originator_id, value)
            if not subject_id:
                continue  # no subject to key it to (not expected for new events): left as given
            personal = {k: value[k] for k in field.keys if value.get(k)}
            clear = {k: v for k, v in value.items() if k not in field.keys}
            # The event that uses the key: a new subject's key is stored with it (SubjectKeyStore).
            key = self.keys.key_for_writing(subject_id, used_by=(originator_id, originator_version))
            clear[SEALED] = {
                "v": SEALED_FORMAT,
                "data": seal(key, personal, self.context(originator_id, originator_version, field.attribute)),
            }
            self._put(state, field, clear)

    def subjects_of(self, states: Iterable[tuple[str, Any, Mapping[str, Any]]]) -> tuple[set[str], set[str]]:
        """The subjects whose keys sealing these (topic, originator id, state) needs: those that
        may have a stored key, and those new with their event (``PersonalField.new_subject``)."""
        stored: set[str] = set()
        new: set[str] = set()
        for topic, originator_id, state in states:
            for field in self.fields.get(topic, ()):
                value = state.get(field.attribute) if field.attribute else state
                if isinstance(value, Mapping) and SEALED not in value:
                    subject = field.subject(originator_id, value)
                    fresh = field.new_subject is not None and field.new_subject(originator_id, value)
                    (new if fresh else stored).add(subject)
        stored.discard("")
        new.discard("")
        return stored - new, new

    def unseal_state(self, topic: str, originator_id: Any, originator_version: int, state: dict[str, Any]) -> None:
        for field in self.fields.get(topic, ()):
            value = state.get(field.attribute) if field.attribute else state
            if not isinstance(value, dict) or SEALED not in value:
                continue
            value = dict(value)
            sealed = value.pop(SEALED)
            subject_id = field.subject(originator_id, value)
            key = self.keys.key_for_reading(subject_id) if subject_id else None
            personal: dict[str, str] | None = None
            if key is not None:
                try:
                    personal = unseal(key, sealed["data"], self.context(originator_id, originator_version,
                                                                         field.attribute))
                except InvalidTag:
                    personal = None  # sealed under an earlier key of the subject, since destroyed
            if personal is None:
                personal = {k: field.masked.get(k, MASKED) for k in field.keys}
            value.update({k: personal.get(k, "") for k in field.keys})
            self._put(state, field, value)

    def subjects(self, topic: str, originator_id: Any, state: Mapping[str, Any]) -> list[str]:
        """The subjects whose keys unsealing this (still sealed) state takes."""
        subjects = []
        for field in self.fields.get(topic, ()):
            value = state.get(field.attribute) if field.attribute else state
            if isinstance(value, dict) and SEALED in value:
                subject_id = field.subject(originator_id, {k: v for k, v in value.items() if k != SEALED})
                if subject_id:
                    subjects.append(subject_id)
        return subjects

    @staticmethod
    def _put(state: dict[str, Any], field: PersonalField, value: dict[str, Any]) -> None:
        if field.attribute:
            state[field.attribute] = value
        else:
            state.clear()
            state.update(value)


# --- the store ---------------------------------------------------------------------------------


class Datastore(Protocol):
    schema: str

    def get_connection(self) -> Any: ...


class _BoundedCache:
    """Least-recently-used data keys, at most ``size`` of them and none older than ``max_age``
    seconds: a key destroyed by another replica stops being used here within ``max_age``."""

    def __init__(self, size: int, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.max_age = max_age
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, subject_id: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(subject_id)
            if entry is None:
                return None
            if self.clock() - entry[0] > self.max_age:
                del self._entries[subject_id]
                return None
            self._entries.move_to_end(subject_id)
            return entry[1]

    def put(self, subject_id: str, key: bytes) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[subject_id] = (self.clock(), key)
            self._entries.move_to_end(subject_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, subject_id: str) -> None:
        with self._lock:
            self._entries.pop(subject_id, None)

    def __len__(self) -> int:
        return len(self._entries)


# The subjects ``SubjectKeyStore.read_together`` found without a stored key, in its block.
_known_without_key: ContextVar[frozenset[str]] = ContextVar("known_without_key", default=frozenset())


@dataclass
class _UnsavedKey:
    """A new subject's key, made for events not yet committed: stored in their transaction."""

    key: bytes
    kek_id: str
    wrapped: bytes
    users: set[tuple[Any, int]]  # (originator id, version) of the events sealed under it
    # Another key of the subject was stored first: its events must not commit (their INSERT of
    # this key fails them), and new ones are sealed under the stored key.
    lost: bool = False


@dataclass(frozen=True)
class Erasure:
    subject_id: str
    erased_at: datetime
    erased_by: str
    reason: str


def subject_key_store(app: Any, keks: KeyEncryptionKeys) -> SubjectKeyStore:
    """A service application's subject key store (tables ``<app name>_subject_*``), every
    service's the same way: a new subject's key is stored in the transaction of the first events
    sealed under it (``store_new_keys_with_events``), so that a command naming a new person
    commits once."""
    store = SubjectKeyStore(app.recorder.datastore, app.name, keks)
    store.store_new_keys_with_events(app.recorder)
    return store


class SubjectKeyStore:
    """Data keys per subject in ``<prefix>_subject_keys`` (wrapped), tombstones of destroyed
    ones in ``<prefix>_subject_erasures``; both beside, never inside, the event table."""

    def __init__(self, datastore: Datastore, table_prefix: str, keks: KeyEncryptionKeys, *,
                 cache_size: int = 10_000, cache_max_age: float = 60.0, create_tables: bool = True) -> None:
        self.datastore = datastore
        self.keks = keks
        self.keys_table = Identifier(datastore.schema, f"{table_prefix}_subject_keys")
        self.erasures_table = Identifier(datastore.schema, f"{table_prefix}_subject_erasures")
        self._insert_key = SQL("INSERT INTO {t} (subject_id, kek_id, wrapped_key) "
                               "VALUES (%(subject)s, %(kek)s, %(wrapped)s)").format(t=self.keys_table)
        self.cache = _BoundedCache(cache_size, cache_max_age)
        # With ``store_new_keys_with_events``: the subjects' keys made for events not yet written.
        self._unsaved: dict[str, _UnsavedKey] | None = None
        self._unsaved_lock = threading.Lock()
        if create_tables:
            self.create_tables()

    def store_new_keys_with_events(self, recorder: Any) -> None:
        """From now on a new subject's key is stored in the transaction of the first events sealed
        under it (``recorder``: kernel.readmodel's ProjectingRecorder), not in one of its own: a
        command for a new subject commits once. Until they commit, the key is this process's alone;
        a subject's key stored meanwhile by another replica fails the write (a unique key), which
        the application writes again, sealed under the stored key (``stores_keys_with_events``)."""
        self._unsaved = {}
        recorder.write_beside_events(self)

    @property
    def stores_keys_with_events(self) -> bool:
        return self._unsaved is not None

    def statements_for(self, stored_events: Any) -> list[tuple[Any, dict[str, Any]]]:
        """The keys of new subjects these events are sealed under, to insert with them."""
        if not self._unsaved:
            return []
        users = {(e.originator_id, e.originator_version) for e in stored_events}
        with self._unsaved_lock:
            new = [(subject, k) for subject, k in self._unsaved.items() if k.users & users]
        # A plain INSERT: a key stored meanwhile for the subject fails the transaction, which
        # must not commit events sealed under a key that is not the subject's.
        return [(self._insert_key, {"subject": subject, "kek": k.kek_id, "wrapped": k.wrapped}) for subject, k in new]

    def written(self, stored_events: Any, committed: bool) -> None:
        """After a transaction of events: a committed key is an ordinary stored one (cached). A
        rolled-back one stays theirs: group commit writes them again alone (``write_failed``
        lets go of them once the application gives up)."""
        if not self._unsaved or not committed:
            return
        users = {(e.originator_id, e.originator_version) for e in stored_events}
        with self._unsaved_lock:
            for subject, k in list(self._unsaved.items()):
                if k.users & users:
                    del self._unsaved[subject]
                    self.cache.put(subject, k.key)

    def write_failed(self, events: Any) -> bool:
        """The application's write of these domain events failed: their keys no longer wait for
        them, and a key of which the subject has another one stored is lost. True when they
        used a key made here (worth writing again, sealed anew)."""
        if not self._unsaved:
            return False
        users = {(e.originator_id, e.originator_version) for e in events}
        with self._unsaved_lock:
            used = [(subject, k) for subject, k in self._unsaved.items() if k.users & users]
        for subject, k in used:
            stored = self._stored_row_exists(subject)
            with self._unsaved_lock:
                k.users -= users
                k.lost = k.lost or stored
                if not k.users and self._unsaved.get(subject) is k:
                    del self._unsaved[subject]
        return bool(used)

    @contextlib.contextmanager
    def read_together(self, subject_ids: Iterable[str], new_subject_ids: Iterable[str] = ()) -> Iterator[None]:
        """Within it, the stored keys of ``subject_ids`` come from one query made here, not one
        each as the events are sealed (a batch of notices to many people), and a subject found
        without one, or named in ``new_subject_ids`` (see ``PersonalField.new_subject``), gets a
        new key without being read again. A key stored meanwhile by another replica fails the
        write as it would after a read just before it."""
        wanted = [s for s in set(subject_ids) if self.cache.get(s) is None]
        absent = frozenset(new_subject_ids)
        if wanted:
            with self.datastore.get_connection() as conn:
                rows = conn.execute(SQL("SELECT subject_id, kek_id, wrapped_key FROM {t} WHERE subject_id = ANY(%s)")
                                    .format(t=self.keys_table), (wanted,)).fetchall()
            for row in rows:
                subject = row["subject_id"]
                self.cache.put(subject, unwrap_key(self.keks, subject, row["kek_id"], bytes(row["wrapped_key"])))
            absent |= frozenset(wanted) - {row["subject_id"] for row in rows}
        token = _known_without_key.set(absent)
        try:
            yield
        finally:
            _known_without_key.reset(token)

    def _stored_row_exists(self, subject_id: str) -> bool:
        with self.datastore.get_connection() as conn:
            return conn.execute(SQL("SELECT 1 FROM {t} WHERE subject_id = %s").format(t=self.keys_table),
                                (subject_id,)).fetchone() is not None

    def _key_with_events(self, subject_id: str, used_by: tuple[Any, int]) -> bytes:
        with self._unsaved_lock:
            assert self._unsaved is not None
            unsaved = self._unsaved.get(subject_id)
            if unsaved is not None and not unsaved.lost:
                unsaved.users.add(used_by)
                return unsaved.key
        # A read, no commit (cached when found); none for a subject just read without a key.
        stored = None if subject_id in _known_without_key.get() else self.key_for_reading(subject_id)
        if stored is not None:
            return stored
        data_key = os.urandom(DATA_KEY_BYTES)
        kek_id, wrapped = wrap_key(self.keks, subject_id, data_key)
        with self._unsaved_lock:
            # Another thread may have made one meanwhile: one key per subject in this process.
            unsaved = self._unsaved.get(subject_id)
            if unsaved is None or unsaved.lost:
                unsaved = self._unsaved[subject_id] = _UnsavedKey(data_key, kek_id, wrapped, set())
            unsaved.users.add(used_by)
            return unsaved.key

    def create_tables(self) -> None:
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute(SQL(
                "CREATE TABLE IF NOT EXISTS {t} (subject_id text PRIMARY KEY, kek_id text NOT NULL, "
                "wrapped_key bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            ).format(t=self.keys_table))
            conn.execute(SQL(
                "CREATE TABLE IF NOT EXISTS {t} (subject_id text NOT NULL, erased_at timestamptz NOT NULL "
                "DEFAULT now(), erased_by text NOT NULL, reason text NOT NULL, PRIMARY KEY (subject_id, erased_at))"
            ).format(t=self.erasures_table))

    def key_for_writing(self, subject_id: str, used_by: tuple[Any, int] | None = None) -> bytes:
        """The subject's data key, made (and stored wrapped) at their first personal data; stored
        with the event ``used_by`` names (its originator id and version) when keys are stored
        with events."""
        key = self.cache.get(subject_id)
        if key is not None:
            return key
        if self._unsaved is not None and used_by is not None:
            return self._key_with_events(subject_id, used_by)
        # One round trip whether the subject has a key or not (a notice to a new address is a
        # new subject on every call): insert a new one, else read the stored one. The outer
        # SELECT sees the table as the statement began, so a conflict returns the stored row;
        # two replicas making one at once: the first row stays, both use it.
        #
        # The insert commits without waiting for its WAL to reach the disk (synchronous_commit
        # off for this statement's transaction alone): the events sealed under the key are
        # committed after it, and their commit flushes the WAL up to their own record, the
        # key's included, so no event is durable without its key. A key lost in a crash before
        # that had sealed nothing that was kept. Waiting for a flush of its own doubled the
        # disk waits of every command naming a new person (make bench --only personal).
        data_key = os.urandom(DATA_KEY_BYTES)
        kek_id, wrapped = wrap_key(self.keks, subject_id, data_key)
        with self.datastore.get_connection() as conn:
            row = conn.execute(SQL(
                "WITH made AS (INSERT INTO {t} (subject_id, kek_id, wrapped_key) SELECT %(subject)s, %(kek)s, "
                "%(wrapped)s WHERE set_config('synchronous_commit', 'off', true) = 'off' "
                "ON CONFLICT (subject_id) DO NOTHING RETURNING TRUE AS made) "
                "SELECT TRUE AS made, NULL AS kek_id, NULL::bytea AS wrapped_key FROM made "
                "UNION ALL SELECT FALSE, kek_id, wrapped_key FROM {t} WHERE subject_id = %(subject)s"
            ).format(t=self.keys_table), {"subject": subject_id, "kek": kek_id, "wrapped": wrapped}).fetchone()
        if row is None:  # inserted by a transaction not yet committed when ours conflicted with it
            key = self.key_for_reading(subject_id)
            assert key is not None
            return key
        if not row["made"]:
            data_key = unwrap_key(self.keks, subject_id, row["kek_id"], bytes(row["wrapped_key"]))
        self.cache.put(subject_id, data_key)
        return data_key

    def key_for_reading(self, subject_id: str) -> bytes | None:
        """The subject's data key; None when they have none (erased, or never had data)."""
        key = self.cache.get(subject_id)
        if key is not None:
            return key
        if self._unsaved:
            # Events sealed under a key not yet stored are read in their own transaction only
            # (their read model's projection): that key is theirs.
            with self._unsaved_lock:
                unsaved = self._unsaved.get(subject_id)
            if unsaved is not None and not unsaved.lost:
                return unsaved.key
        with self.datastore.get_connection() as conn:
            row = conn.execute(SQL("SELECT kek_id, wrapped_key FROM {t} WHERE subject_id = %s").format(
                t=self.keys_table), (subject_id,)).fetchone()
        if row is None:
            return None
        key = unwrap_key(self.keks, subject_id, row["kek_id"], bytes(row["wrapped_key"]))
        self.cache.put(subject_id, key)
        return key

    def prefetch(self, subject_ids: Iterable[str]) -> None:
        """Reads the keys of these subjects that are not cached in one query (a batch of
        events about many people decoded together), so that ``key_for_reading`` finds them."""
        missing = [subject_id for subject_id in set(subject_ids) if self.cache.get(subject_id) is None]
        if not missing:
            return
        with self.datastore.get_connection() as conn:
            rows = conn.execute(SQL("SELECT subject_id, kek_id, wrapped_key FROM {t} "
                                    "WHERE subject_id = ANY(%s)").format(t=self.keys_table), (missing,)).fetchall()
        for row in rows:
            self.cache.put(row["subject_id"], unwrap_key(self.keks, row["subject_id"], row["kek_id"],
                                                         bytes(row["wrapped_key"])))

    def destroy(self, subject_id: str, erased_by: str, reason: str) -> bool:
        """Deletes the subject's key (True if there was one); records who destroyed it and why."""
        with self.datastore.get_connection() as conn, conn.transaction():
            deleted: int = conn.execute(SQL("DELETE FROM {t} WHERE subject_id = %s").format(t=self.keys_table),
                                        (subject_id,)).rowcount
            conn.execute(SQL("INSERT INTO {t} (subject_id, erased_by, reason) VALUES (%s, %s, %s)").format(
                t=self.erasures_table), (subject_id, erased_by, reason))
        self.cache.drop(subject_id)
        if self._unsaved is not None:
            with self._unsaved_lock:
                self._unsaved.pop(subject_id, None)
        return deleted > 0

    def erasures(self, subject_id: str) -> list[Erasure]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(SQL("SELECT subject_id, erased_at, erased_by, reason FROM {t} WHERE subject_id = %s "
                                    "ORDER BY erased_at").format(t=self.erasures_table), (subject_id,)).fetchall()
        return [Erasure(r["subject_id"], r["erased_at"], r["erased_by"], r["reason"]) for r in rows]

    def rewrap(self, batch_size: int = 500) -> int:
        """Re-wraps every data key not wrapped by the current KEK (after a new one is put in
        service), batch by batch; the events are not touched. Returns how many were re-wrapped."""
        done = 0
        current = self.keks.current_id
        while True:
            with self.datastore.get_connection() as conn, conn.transaction():
                rows = conn.execute(SQL(
                    "SELECT subject_id, kek_id, wrapped_key FROM {t} WHERE kek_id <> %s LIMIT %s FOR UPDATE SKIP LOCKED"
                ).format(t=self.keys_table), (current, batch_size)).fetchall()
                for row in rows:
                    key = unwrap_key(self.keks, row["subject_id"], row["kek_id"], bytes(row["wrapped_key"]))
                    kek_id, wrapped = wrap_key(self.keks, row["subject_id"], key)
                    conn.execute(SQL("UPDATE {t} SET kek_id = %s, wrapped_key = %s WHERE subject_id = %s").format(
                        t=self.keys_table), (kek_id, wrapped, row["subject_id"]))
            done += len(rows)
            if len(rows) < batch_size:
                return done
