"""The hash chain over a service's event log: the canonical encoding of one stored event
record and the digest that links it to the one before. Pure: no database here.

Each record of the log (a row of ``<service>_events``) is sealed, in notification-id order,
by the digest

    digest(n) = SHA-256( encoding(record n) || digest(n - 1) )

where ``digest(n - 1)`` is the digest of the previous record in notification-id order (not
necessarily id n - 1: ids may have gaps) and, for the first record of the log, 32 zero bytes
(``GENESIS``). The encoding of one record is the concatenation of these fields, in this order,
with no separators and no padding:

    field               bytes  encoding
    notification id     8      signed 64-bit integer, big-endian (two's complement)
    originator id       16     the aggregate's UUID, its 16 bytes in RFC 4122 (network) order
    originator version  8      signed 64-bit integer, big-endian
    topic length        4      unsigned 32-bit integer, big-endian: the number of bytes of topic
    topic               n      the ``topic`` column (the event's class), UTF-8
    state length        4      unsigned 32-bit integer, big-endian: the number of bytes of state
    state               m      the ``state`` column, byte for byte as stored (bytea)

The state is taken as stored, never decoded: whatever the event store wrote (JSON, or its
compressed or encrypted form) is what is sealed, so a verifier needs no key and no code of the
service. The state holds the event's data and, under ``_meta``, who caused it (``actor``,
``agency_id``) and the trace it belongs to (``traceparent``): those are sealed with it.

The digest is over ``encoding || previous digest`` (32 bytes), so editing, removing,
inserting or moving any record changes its digest and every digest after it. The same
definition, with a worked example, is in ``docs/audit-chain.md``.
"""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

DIGEST_SIZE = 32
GENESIS = bytes(DIGEST_SIZE)

_HEAD = struct.Struct(">q16sqI")  # notification id, originator id, originator version, topic length
_LENGTH = struct.Struct(">I")


def encode_record(notification_id: int, originator_id: UUID | bytes, originator_version: int, topic: str,
                  state: bytes) -> bytes:
    """The canonical encoding of one stored event record (see the module's docstring)."""
    raw_id = originator_id.bytes if isinstance(originator_id, UUID) else originator_id
    if len(raw_id) != 16:
        raise ValueError(f"an originator id is 16 bytes, got {len(raw_id)}")
    topic_bytes = topic.encode("utf-8")
    return b"".join((
        _HEAD.pack(notification_id, raw_id, originator_version, len(topic_bytes)),
        topic_bytes,
        _LENGTH.pack(len(state)),
        state,
    ))


def record_digest(previous: bytes, notification_id: int, originator_id: UUID | bytes, originator_version: int,
                  topic: str, state: bytes) -> bytes:
    """The digest sealing one record after the record whose digest is ``previous``."""
    if len(previous) != DIGEST_SIZE:
        raise ValueError(f"a previous digest is {DIGEST_SIZE} bytes, got {len(previous)}")
    sha = hashlib.sha256(encode_record(notification_id, originator_id, originator_version, topic, state))
    sha.update(previous)
    return sha.digest()
