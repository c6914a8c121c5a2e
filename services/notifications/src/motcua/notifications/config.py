"""Settings of the notifications service beyond the kernel's, read once from the environment.

Environment variables:

- `MOTCUA_TIMEZONE`: time zone of dates and times in texts. Default: `Asia/Ho_Chi_Minh`.
- `MOTCUA_INBOX_POLL_INTERVAL`: seconds between inbox polls when no NOTIFY wakes the hub. Default:
  `1.0`.
- `MOTCUA_INBOX_MAX_STREAMS`: StreamInbox calls served at once by one process. Default: half of
  `MOTCUA_GRPC_WORKERS`.
- `MOTCUA_INBOX_MAX_STREAMS_PER_ACCOUNT`: StreamInbox calls one caller holds at once in one process.
  Default: `3`.
- `MOTCUA_INBOX_BACKLOG`: unread notifications a new stream starts with (the newest). Default:
  `100`.

Each open stream holds one of the gRPC server's worker threads (the kernel's server is
synchronous), so the streams are capped below the worker count to leave threads for
the other RPCs; a stream over the cap is refused with RESOURCE_EXHAUSTED. So that one
account cannot take all of them, a caller holds a few at most (a browser's tabs, a phone);
the next one is refused likewise, naming the limit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from motcua.kernel.config import ConfigError, Settings, env_number
from motcua.kernel.localtime import VIETNAM, VIETNAM_ZONE_NAME


@dataclass(frozen=True)
class NotificationSettings:
    zone: tzinfo
    inbox_poll_interval: float
    inbox_max_streams: int
    inbox_max_streams_per_account: int
    inbox_backlog: int

    @classmethod
    def from_env(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> NotificationSettings:
        env = os.environ if environ is None else environ
        return cls(
            zone=_zone(env.get("MOTCUA_TIMEZONE", "")),
            inbox_poll_interval=env_number(env, "MOTCUA_INBOX_POLL_INTERVAL", 1.0, float, minimum=0.01),
            inbox_max_streams=env_number(
                env, "MOTCUA_INBOX_MAX_STREAMS", max(1, settings.grpc_workers // 2), int, minimum=1
            ),
            inbox_max_streams_per_account=env_number(env, "MOTCUA_INBOX_MAX_STREAMS_PER_ACCOUNT", 3, int, minimum=1),
            inbox_backlog=env_number(env, "MOTCUA_INBOX_BACKLOG", 100, int, minimum=0),
        )


def _zone(name: str) -> tzinfo:
    if not name or name == VIETNAM_ZONE_NAME:
        return VIETNAM
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(f"MOTCUA_TIMEZONE: unknown time zone {name!r}") from e
