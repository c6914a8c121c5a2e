"""``python -m motcua.identity.rewrap_keys``: puts a new key-encryption key in service.

After a new ``<id>.key`` is added to the KEK directory (and ``MOTCUA_IDENTITY_SUBJECT_KEK_ID``
names it, or it sorts last), every account's data key still wrapped by an older KEK is
re-wrapped by the new one, in batches, while the service runs; the events are not touched.
Then the old KEK may be retired. Reads the service's own environment (PostgreSQL, the KEKs).
Prints how many keys were re-wrapped; exit 2 on a configuration error.
"""

from __future__ import annotations

import sys

from motcua.kernel.config import ConfigError, Settings
from motcua.kernel.rewrap import rewrap_data_keys
from motcua.kernel.subject_keys import KeyEncryptionKeys

from .config import IdentityConfig


def main() -> int:
    try:
        settings = Settings.from_env(service="identity")
        config = IdentityConfig.from_env()
        keks = KeyEncryptionKeys.from_directory(config.subject_keks_dir, config.subject_kek_id)
    except ConfigError as e:
        print(f"rewrap_keys: {e}", file=sys.stderr)
        return 2
    done = rewrap_data_keys(settings, "identity", keks)
    print(f"{done} data keys re-wrapped by key-encryption key {keks.current_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
