"""The filesystem blob store under concurrent writers of the same bytes: threads of one
process (the gRPC server's workers) and separate processes (replicas on one volume)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from motcua.kernel.blobstore import BlobNotFound, FilesystemBlobStore

WRITERS = 8
ROUNDS = 20


def content(round_: int) -> bytes:
    # Large enough that one write is still going on while another starts.
    return hashlib.sha256(str(round_).encode()).digest() * (64 * 1024)


def put_once(store: FilesystemBlobStore, key: str, data: bytes, start: threading.Barrier | None = None) -> str:
    """'stored' or 'exists'; any other outcome propagates."""
    if start is not None:
        start.wait()
    try:
        store.put(key, data)
    except FileExistsError:
        return "exists"
    return "stored"


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.name.startswith(".")]


def test_threads_writing_the_same_bytes_store_one_intact_blob_and_leave_no_temporary_files(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    with ThreadPoolExecutor(WRITERS) as pool:
        for round_ in range(ROUNDS):
            data = content(round_)
            key = hashlib.sha256(data).hexdigest()
            start = threading.Barrier(WRITERS)
            outcomes = list(
                pool.map(lambda _, key=key, data=data, start=start: put_once(store, key, data, start), range(WRITERS))
            )
            assert sorted(outcomes) == ["exists"] * (WRITERS - 1) + ["stored"], outcomes
            assert store.get(key) == data
    assert leftovers(tmp_path) == []


def _write_in_process(root: str, key: str, data: bytes, start, results) -> None:
    start.wait()
    results.put(put_once(FilesystemBlobStore(Path(root)), key, data))


def test_processes_writing_the_same_bytes_store_one_intact_blob(tmp_path):
    context = multiprocessing.get_context("spawn")
    data = content(-1)
    key = hashlib.sha256(data).hexdigest()
    start, results = context.Barrier(4), context.Queue()
    writers = [
        context.Process(target=_write_in_process, args=(str(tmp_path), key, data, start, results)) for _ in range(4)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    outcomes = sorted(results.get(timeout=10) for _ in writers)
    assert outcomes == ["exists", "exists", "exists", "stored"]
    assert FilesystemBlobStore(tmp_path).get(key) == data
    assert leftovers(tmp_path) == []


def test_a_blob_is_written_once_and_read_back(tmp_path):
    store = FilesystemBlobStore(tmp_path, suffix=".pdf")
    store.put("ab-1", "Quyết định số 12/QĐ-UBND".encode())
    with pytest.raises(FileExistsError):
        store.put("ab-1", b"other bytes")
    assert store.get("ab-1").decode() == "Quyết định số 12/QĐ-UBND"
    assert oct(os.stat(store.path("ab-1")).st_mode & 0o777) == oct(0o640)
    with pytest.raises(BlobNotFound):
        store.get("cd-2")
    with pytest.raises(ValueError):
        store.path("../etc/passwd")
