"""Every service of the platform as real processes, for tests that go through all of them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def every_service(stack, signing_dir: Path, **signing_env: str) -> Iterator[dict[str, str]]:
    """The session's identity; procedures, dossiers, notifications and signing started on the
    session's PostgreSQL and Kafka: {name: gRPC address}. Each must stop cleanly."""
    processes = {
        "procedures": stack.service("procedures"),
        "dossiers": stack.service("dossiers"),
        "notifications": stack.service("notifications"),
        "signing": stack.service("signing", MOTCUA_SIGNING_DIR=str(signing_dir), **signing_env),
    }
    for process in processes.values():
        process.start()
    yield {"identity": stack.identity.addr, **{name: process.addr for name, process in processes.items()}}
    for name, process in processes.items():
        assert process.terminate() == 0, f"{name}: {process.log_path.read_text()}"


@contextlib.contextmanager
def erasing_dossiers(stack, documents_dir: Path) -> Iterator[dict[str, str]]:
    """Procedures and dossiers started, dossiers keeping attachments in ``documents_dir`` and
    no dossier past its retention (0 years), so that a person's data can be erased at once:
    {name: gRPC address}. Each must stop cleanly."""
    procedures = stack.service("procedures").start()
    dossiers = stack.service("dossiers", MOTCUA_DOSSIERS_DOCUMENTS_DIR=str(documents_dir),
                             MOTCUA_DOSSIERS_RETENTION_YEARS="0").start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr}
    for process in (dossiers, procedures):
        assert process.terminate() == 0
