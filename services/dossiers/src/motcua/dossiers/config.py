"""The dossiers service's own settings (beside the kernel's), read once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from motcua.kernel.config import env_number


@dataclass(frozen=True)
class DossiersConfig:
    # gRPC address of the signing service, which signs results (empty: results cannot be marked ready).
    signing_addr: str = ""
    # Seconds between two passes of the deadline watch.
    watch_interval: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DossiersConfig:
        env = os.environ if environ is None else environ
        return cls(
            signing_addr=env.get("MOTCUA_SIGNING_ADDR", ""),
            watch_interval=env_number(env, "MOTCUA_DEADLINE_WATCH_INTERVAL", 30.0, float, minimum=0.1),
        )
