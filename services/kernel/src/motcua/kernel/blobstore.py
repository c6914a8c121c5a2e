"""Where documents' bytes are kept (signed PDFs, dossier attachments): one small
interface, on the filesystem for now. Pure of gRPC, Kafka and PostgreSQL.

Event logs record ids and hashes only; the bytes live here, under a key written once.
An object store (S3-compatible, a WORM archive) can implement the same interface.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[0-9a-zA-Z][0-9a-zA-Z._-]{0,127}$")


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Stores ``data`` under ``key``, durably, replacing nothing: keys are written once
        (FileExistsError when ``key`` holds bytes already)."""

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; BlobNotFound when there are none."""


class FilesystemBlobStore:
    """One file per blob under ``root/<first 2 characters of the key>/<key>``.

    Writes go to a temporary file of their own that is flushed to disk and then linked
    under the key, so a blob is either absent or complete, even after a crash; and two
    writers of one key (two uploads of the same bytes, in one process or several) never
    share a temporary file: the first link wins, the other gets FileExistsError.
    """

    def __init__(self, root: Path, suffix: str = "") -> None:
        self.root = root
        self.suffix = suffix
        root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"bad blob key {key!r}")
        return self.root / key[:2] / f"{key}{self.suffix}"

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(exist_ok=True)
        # A name of its own per write, not per process: threads of one process write at once.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o640)
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            # A link, not os.replace: it fails if the key exists, so blobs are written once.
            os.link(tmp, path)
            _fsync_directory(path.parent)  # the new name survives a crash too
        finally:
            tmp.unlink(missing_ok=True)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
