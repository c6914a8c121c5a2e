"""``python -m motcua.dossiers.rewrap_keys``: puts a new key-encryption key in service.

After a new ``<id>.key`` is added to the KEK directory (and ``MOTCUA_DOSSIERS_SUBJECT_KEK_ID``
names it, or it sorts last), every applicant's data key still wrapped by an older KEK is
re-wrapped by the new one, in batches, while the service runs; the events are not touched.
Then the old KEK may be retired. Reads the service's own environment (PostgreSQL, the KEKs).
Prints how many keys were re-wrapped; exit 2 on a configuration error.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import psycopg
from psycopg.rows import DictRow, dict_row

from motcua.dossiers.config import DossiersConfig
from motcua.kernel.config import ConfigError, Settings
from motcua.kernel.eventstore import dedicated_connection
from motcua.kernel.subject_keys import KeyEncryptionKeys, SubjectKeyStore


class _Connection:
    """The one connection of this command, as the key store asks for connections."""

    def __init__(self, connection: psycopg.Connection[DictRow], schema: str) -> None:
        self.connection = connection
        self.schema = schema

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        yield self.connection


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings.from_env(service="dossiers")
        config = DossiersConfig.from_env()
        keks = KeyEncryptionKeys.from_directory(config.subject_keks_dir, config.subject_kek_id)
    except ConfigError as e:
        print(f"rewrap_keys: {e}", file=sys.stderr)
        return 2
    connection = dedicated_connection(settings, "rewrap-keys")
    connection.row_factory = dict_row  # type: ignore[assignment]
    with connection:
        schema = settings.eventstore_env.get("POSTGRES_SCHEMA") or "public"
        store = SubjectKeyStore(_Connection(connection, schema), "dossiers", keks,  # type: ignore[arg-type]
                                cache_size=0, create_tables=False)
        done = store.rewrap()
    print(f"{done} data keys re-wrapped by key-encryption key {keks.current_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
