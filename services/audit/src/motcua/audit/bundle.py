"""Audit bundles: a range of one or more services' event logs with their seals, written to one
file so that an auditor verifies it offline, with nothing but the file (docs/audit-chain.md,
"Audit bundles", defines the format for anyone re-implementing the check).

A bundle is a tar archive (gzip-compressed when its name ends in ``.gz``) holding
``manifest.json`` and, per service, ``<service>/events.ndjson``: one line per position of the
range, the record as stored beside the digest sealed for it. Records are exported as they are
in the database, tampered or not: the bundle's check names the first broken position the same
way ``verify --live`` does.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import psycopg
from psycopg import sql

from motcua.kernel.chain import DIGEST_SIZE, GENESIS
from motcua.kernel.sealer import CHAIN_TABLE

from . import chain_check, checkpoint_check

FORMAT = "motcua-audit-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class BundleError(Exception):
    """The file is not a readable bundle; the message says why."""


@dataclass(frozen=True)
class Exported:
    service: str
    records: int  # positions written: records, and sealed positions with no record
    first: int  # the first position written (0: none)
    last: int  # the last sealed position written (0: none)
    unsealed: int  # records after the last seal, left out (not sealed yet)
    checkpoints: int = 0  # signed checkpoints written
    checkpoint_lines: bytes = field(default=b"", repr=False)  # their NDJSON member


@dataclass(frozen=True)
class Checked:
    service: str
    outcome: chain_check.Outcome
    first: int
    last: int
    # The recomputed digests at the checkpoints' positions, and the checkpoints.
    digests: dict[int, bytes] = field(default_factory=dict)
    checkpoints: list[checkpoint_check.Checkpoint] = field(default_factory=list)


def export_log(conn: psycopg.Connection[Any], service: str, events_table: str, out: IO[bytes],
               after: int = 0, until: int | None = None, schema: str = "public",
               progress: Callable[[int], None] | None = None, database: str = "",
               checkpoints: list[checkpoint_check.Checkpoint] | None = None) -> tuple[Exported, dict[str, Any]]:
    """Writes the positions after ``after`` up to ``until`` (default: the last seal) as NDJSON
    lines to ``out``; returns what was written and the service's manifest entry.

    ``conn`` must be in one repeatable-read transaction: the records, their seals and the digest
    the range starts from are one snapshot."""
    seals_table = sql.Identifier(schema, CHAIN_TABLE)
    events = sql.Identifier(schema, events_table)
    row = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(seals_table)).fetchone()
    last_sealed = row[0] if row else 0
    end = last_sealed if until is None else min(until, last_sealed)
    row = conn.execute(sql.SQL(
        "SELECT digest FROM {} WHERE notification_id <= %s ORDER BY notification_id DESC LIMIT 1"
    ).format(seals_table), (after,)).fetchone()
    previous = bytes(row[0]) if row else GENESIS
    row = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE notification_id > %s").format(events),
                       (max(end, after),)).fetchone()
    unsealed = row[0] if row and until is None else 0
    written = first = last = 0
    head = previous
    for position, originator_id, version, topic, state, digest in chain_check.stream_rows(
        conn, "motcua_export", sql.SQL(
            "SELECT notification_id, e.originator_id, e.originator_version, e.topic, e.state, c.digest "
            "FROM {} e FULL JOIN {} c USING (notification_id) "
            "WHERE notification_id > %s AND notification_id <= %s ORDER BY notification_id"
        ).format(events, seals_table), (after, end)):
        out.write(_line(position, originator_id, version, topic, state, digest))
        written += 1
        first = first or position
        last = position
        if digest is not None:
            head = bytes(digest)
        if progress is not None:
            progress(position)
    entry = {
        "service": service,
        "events": f"{service}/events.ndjson",
        "after": after,
        "first_position": first,
        "last_position": last,
        "previous_digest": previous.hex(),
        "head_digest": head.hex(),
        "positions": written,
    }
    lines = b""
    if database:
        entry["database"] = database
    if checkpoints:
        entry["checkpoints"] = f"{service}/checkpoints.ndjson"
        lines = b"".join(json.dumps(c.to_json(), separators=(",", ":")).encode("utf-8") + b"\n"
                         for c in sorted(checkpoints, key=lambda c: (c.position, c.found_in)))
    return Exported(service, written, first, last, unsealed, len(checkpoints or ()), lines), entry


def _line(position: int, originator_id: UUID | None, version: int | None, topic: str | None,
          state: bytes | None, digest: bytes | None) -> bytes:
    line: dict[str, Any] = {"position": position}
    if originator_id is not None:
        line |= {"originator_id": str(originator_id), "originator_version": version, "topic": topic}
        stored = bytes(state or b"")
        try:  # readable when the store wrote plain UTF-8 (JSON); exact bytes either way
            line["state"] = stored.decode("utf-8")
        except UnicodeDecodeError:
            line["state_base64"] = base64.b64encode(stored).decode("ascii")
    if digest is not None:
        line["digest"] = bytes(digest).hex()
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def write_bundle(path: Path, logs: list[tuple[str, Callable[[IO[bytes]], tuple[Exported, dict[str, Any]]]]],
                 ) -> list[Exported]:
    """Writes the bundle at ``path``: each (service, export function) writes its NDJSON to a
    temporary file (a tar member's size comes first), then the manifest and the logs are added.
    The bundle appears at ``path`` only once complete."""
    exported: list[Exported] = []
    entries: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="motcua-audit-") as scratch:
        files: list[tuple[str, Path]] = []
        for service, export in logs:
            ndjson = Path(scratch) / f"{service}.ndjson"
            with ndjson.open("wb") as out:
                done, entry = export(out)
            exported.append(done)
            entries.append(entry)
            files.append((entry["events"], ndjson))
            if done.checkpoint_lines:
                signed = Path(scratch) / f"{service}.checkpoints.ndjson"
                signed.write_bytes(done.checkpoint_lines)
                files.append((entry["checkpoints"], signed))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "chain": "SHA-256 over the canonical encoding of each record and the previous digest "
                     "(docs/audit-chain.md)",
            "logs": entries,
        }
        partial = path.with_name(f".{path.name}.partial")
        with tarfile.open(partial, "w:gz" if path.name.endswith(".gz") else "w", format=tarfile.PAX_FORMAT) as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o644
            tar.addfile(info, io.BytesIO(data))
            for name, file in files:
                tar.add(file, arcname=name, recursive=False, filter=_plain)
        os.replace(partial, path)
    return exported


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info


def check_bundle(path: Path, progress: Callable[[str, int, int], Callable[[int], None] | None] | None = None,
                 ) -> list[Checked]:
    """Verifies every log of the bundle at ``path`` against its seals, offline. ``progress``
    gets (service, first, last) and returns a callback told each position reached."""
    try:
        tar = tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as e:
        raise BundleError(f"cannot read {path}: {e}") from None
    with tar:
        manifest = _manifest(tar, path)
        checked = []
        for entry in manifest["logs"]:
            service, name = entry["service"], entry["events"]
            first, last = entry["first_position"], entry["last_position"]
            advance = progress(service, first, last) if progress is not None else None

            def rows(name: str = name) -> Iterator[chain_check.Row]:
                member = tar.extractfile(name) if name in tar.getnames() else None
                if member is None:
                    raise BundleError(f"{path}: the manifest names {name}, which the bundle lacks")
                yield from _rows(member, name)

            def seals(name: str = name) -> Iterator[tuple[int, bytes]]:
                return ((row[0], row[5]) for row in rows(name) if row[5] is not None)

            checkpoints = _checkpoints(tar, entry, path)
            digests = {c.position: b"" for c in checkpoints}
            outcome = chain_check.walk(rows(), last, seals, _digest(entry, "previous_digest", path), advance,
                                       digests)
            if outcome.broken is None and outcome.unsealed == 0:
                outcome = _check_end(outcome, entry, last)
            checked.append(Checked(service, outcome, first, last, digests, checkpoints))
        return checked


def _checkpoints(tar: tarfile.TarFile, entry: dict[str, Any], path: Path) -> list[checkpoint_check.Checkpoint]:
    """The log's signed checkpoints (an optional member)."""
    name = entry.get("checkpoints")
    if not name:
        return []
    member = tar.extractfile(name) if name in tar.getnames() else None
    if member is None:
        raise BundleError(f"{path}: the manifest names {name}, which the bundle lacks")
    found = []
    for number, raw in enumerate(member, 1):
        try:
            found.append(checkpoint_check.Checkpoint.from_json(entry["service"], json.loads(raw)))
        except (ValueError, KeyError, TypeError) as e:
            raise BundleError(f"{name} line {number} is not a checkpoint: {e!r}") from None
    return found


def _check_end(outcome: chain_check.Outcome, entry: dict[str, Any], last: int) -> chain_check.Outcome:
    """The manifest's last position and head digest against what the log's lines reached: a log
    cut short ends before them."""
    if outcome.head != last and last:
        return chain_check.Outcome(outcome.verified, outcome.head, 0, chain_check.Break(
            outcome.head, "missing",
            f"the log ends at position {outcome.head}, but the manifest says it runs to {last} (cut short)"))
    return outcome


def _manifest(tar: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BundleError(f"{path} is not an audit bundle: it has no {MANIFEST}")
    try:
        manifest = json.loads(member.read())
    except ValueError as e:
        raise BundleError(f"{path}: {MANIFEST} is not JSON: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: {MANIFEST} does not describe a {FORMAT}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: format version {manifest.get('format_version')!r}; this tool reads "
                          f"{FORMAT_VERSION}")
    logs = manifest.get("logs")
    required = ("service", "events", "first_position", "last_position", "previous_digest")
    if not isinstance(logs, list) or not all(isinstance(e, dict) and all(k in e for k in required) for e in logs):
        raise BundleError(f"{path}: {MANIFEST} lists no logs, or a log without {', '.join(required)}")
    return manifest


def _digest(entry: dict[str, Any], key: str, path: Path) -> bytes:
    try:
        value = bytes.fromhex(entry[key])
    except (TypeError, ValueError):
        value = b""
    if len(value) != DIGEST_SIZE:
        raise BundleError(f"{path}: {entry['service']}'s {key} is not a {DIGEST_SIZE}-byte hex digest")
    return value


_decode = json.JSONDecoder().raw_decode  # json.loads' encoding sniffing and checks cost a third of the check


def _rows(lines: IO[bytes], name: str) -> Iterator[chain_check.Row]:
    for number, raw in enumerate(lines, 1):
        try:
            line = _decode(raw.decode("utf-8"))[0]
            position = line["position"]
            digest = bytes.fromhex(line["digest"]) if "digest" in line else None
            if "originator_id" not in line:
                yield position, None, None, None, None, digest
                continue
            state = (line["state"].encode("utf-8") if "state" in line
                     else base64.b64decode(line["state_base64"], validate=True))
            originator = bytes.fromhex(line["originator_id"].replace("-", ""))
            if len(originator) != 16:
                raise ValueError(f"originator_id {line['originator_id']!r} is not a UUID")
            yield position, originator, line["originator_version"], line["topic"], state, digest
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise BundleError(f"{name} line {number} is not a log line: {e!r}") from None
