"""Re-wrapping a service's data keys by its current key-encryption key, from a command
(``python -m motcua.<service>.rewrap_keys``), on a connection of its own, while the service
runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from psycopg.rows import DictRow, dict_row

from .config import Settings
from .eventstore import dedicated_connection
from .subject_keys import KeyEncryptionKeys, SubjectKeyStore


class _Connection:
    """The one connection of the command, as the key store asks for connections."""

    def __init__(self, connection: psycopg.Connection[DictRow], schema: str) -> None:
        self.connection = connection
        self.schema = schema

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        yield self.connection


def rewrap_data_keys(settings: Settings, table_prefix: str, keks: KeyEncryptionKeys) -> int:
    """How many data keys of ``<table_prefix>_subject_keys`` were re-wrapped by the current KEK."""
    connection = dedicated_connection(settings, "rewrap-keys")
    connection.row_factory = dict_row  # type: ignore[assignment]
    with connection:
        schema = settings.eventstore_env.get("POSTGRES_SCHEMA") or "public"
        store = SubjectKeyStore(_Connection(connection, schema), table_prefix, keks,  # type: ignore[arg-type]
                                cache_size=0, create_tables=False)
        return store.rewrap()
