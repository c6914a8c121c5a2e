"""Where documents' bytes are kept (signed PDFs, dossier attachments): one small
interface, on the filesystem for now. Pure of gRPC, Kafka and PostgreSQL.

Event logs record ids and hashes only; the bytes live here, under a key written once.
An object store (S3-compatible, a WORM archive) can implement the same interface.
"""

from __future__ import annotations

import os
import re
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

    Writes go to a temporary file that is flushed to disk and then renamed, so a blob is
    either absent or complete, even after a crash.
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
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)  # fails if the key exists: blobs are written once
        finally:
            tmp.unlink(missing_ok=True)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None
