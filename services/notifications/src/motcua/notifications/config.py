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

Channels (each off while its first variable is unset; notifications of a channel that is off
stay queued):

- `MOTCUA_SMTP_HOST`, `MOTCUA_SMTP_PORT` (587), `MOTCUA_SMTP_STARTTLS` (`true`),
  `MOTCUA_SMTP_USERNAME`, `MOTCUA_SMTP_PASSWORD`, `MOTCUA_SMTP_FROM`, `MOTCUA_SMTP_FROM_NAME`,
  `MOTCUA_SMTP_RATE` (e-mails a second, 0: unlimited), `MOTCUA_SMTP_TIMEOUT` (10 s: how long the
  server may take to answer), `MOTCUA_SMTP_DKIM_DOMAIN`,
  `MOTCUA_SMTP_DKIM_SELECTOR`, `MOTCUA_SMTP_DKIM_KEY_FILE` (PEM; signs with DKIM when set): e-mail.
- `MOTCUA_ESMS_URL` (e.g. `https://rest.esms.vn`), `MOTCUA_ESMS_API_KEY`, `MOTCUA_ESMS_SECRET_KEY`,
  `MOTCUA_ESMS_BRANDNAME`, `MOTCUA_ESMS_CALLBACK_URL` (ours, with `?token=`),
  `MOTCUA_ESMS_CALLBACK_TOKEN`, `MOTCUA_ESMS_UNICODE` (`false`: unaccented texts),
  `MOTCUA_ESMS_RATE`: SMS brandname.
- `MOTCUA_ZALO_ZNS_URL` (e.g. `https://business.openapi.zalo.me`), `MOTCUA_ZALO_ACCESS_TOKEN`,
  `MOTCUA_ZALO_APP_ID`, `MOTCUA_ZALO_OA_SECRET_KEY` (verifies receipts), `MOTCUA_ZALO_TEMPLATES`
  (`key=zns_template_id,…`), `MOTCUA_ZALO_RATE`: Zalo ZNS.
- `MOTCUA_NOTIFY_MAX_ATTEMPTS` (5), `MOTCUA_NOTIFY_RETRY_BASE` (2 s), `MOTCUA_NOTIFY_RETRY_MAX`
  (600 s), `MOTCUA_NOTIFY_POLL_INTERVAL` (0.5 s): the sender's retries and polling (the
  fallback: the sender wakes on every commit of events through LISTEN/NOTIFY);
  `MOTCUA_PROVIDER_TIMEOUT` (10 s): how long an HTTP provider may take to answer;
  `MOTCUA_NOTIFY_TEMPLATE_CACHE` (5 s; 0: none): how long a template read for rendering is kept,
  so how long another replica's revision may take to reach this one's notices;
  `MOTCUA_NOTIFY_CONFIRM_WITHIN` (900 s; 0: never): how long an SMS or Zalo message may wait
  for its delivery receipt before the notice goes out on the next channel;
  `MOTCUA_NOTIFY_SENDERS` (16): notifications the leader sends at once;
  `MOTCUA_NOTIFY_ATTEMPT_LEASE` (120 s): how long a notification caught mid-attempt by a
  sender's crash waits before the next sender tries again (longer than `MOTCUA_SMTP_TIMEOUT`
  and `MOTCUA_PROVIDER_TIMEOUT`);
  `MOTCUA_NOTIFY_ROLE` (`all`): what this process does: `api` (the gRPC API, the event
  consumers and the providers' receipts), `sender` (hands queued notifications to their
  providers, nothing else: the sending scales apart from the API) or `all` (both, one process);
  `MOTCUA_NOTIFY_QUIET_HOURS` (`21:00-07:00`, local; `off`): hours in which e-mails, SMS and
  Zalo messages that are not statutory notices (officers' ones) wait till the end.

Providers' receipts come to `MOTCUA_HTTP_ADDR` (`/v1/callbacks/esms`, `/v1/callbacks/zalo`).

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
from datetime import time, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from motcua.kernel.config import ConfigError, Settings, env_number
from motcua.kernel.localtime import VIETNAM, VIETNAM_ZONE_NAME

from .adapters.email import SmtpSettings
from .adapters.esms import EsmsSettings
from .adapters.zalo import ZaloSettings
from .callbacks import CallbackSecrets
from .delivery import RetryPolicy

# What one process of the service does (MOTCUA_NOTIFY_ROLE).
API = "api"
SENDER = "sender"
ALL = "all"
ROLES = (API, SENDER, ALL)


@dataclass(frozen=True)
class NotificationSettings:
    zone: tzinfo
    inbox_poll_interval: float
    inbox_max_streams: int
    inbox_max_streams_per_account: int
    inbox_backlog: int
    smtp: SmtpSettings | None = None
    esms: EsmsSettings | None = None
    zalo: ZaloSettings | None = None
    rates: dict[str, float] | None = None
    retry: RetryPolicy = RetryPolicy()
    poll_interval: float = 0.5
    confirm_within: float = 900.0
    senders: int = 16
    attempt_lease: float = 120.0
    quiet_hours: tuple[time, time] | None = None
    template_cache_seconds: float = 5.0
    callback_secrets: CallbackSecrets = CallbackSecrets()
    role: str = ALL

    @property
    def serves_api(self) -> bool:
        return self.role in (API, ALL)

    @property
    def sends(self) -> bool:
        return self.role in (SENDER, ALL)

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
            smtp=SmtpSettings(
                host=env["MOTCUA_SMTP_HOST"],
                port=env_number(env, "MOTCUA_SMTP_PORT", 587, int, minimum=1),
                starttls=_flag(env, "MOTCUA_SMTP_STARTTLS", True),
                username=env.get("MOTCUA_SMTP_USERNAME", ""),
                password=env.get("MOTCUA_SMTP_PASSWORD", ""),
                sender=env.get("MOTCUA_SMTP_FROM", "") or "no-reply@motcua.local",
                sender_name=env.get("MOTCUA_SMTP_FROM_NAME", "") or "Bộ phận Một cửa",
                dkim_domain=env.get("MOTCUA_SMTP_DKIM_DOMAIN", ""),
                dkim_selector=env.get("MOTCUA_SMTP_DKIM_SELECTOR", ""),
                dkim_key=_dkim_key(env),
                timeout=env_number(env, "MOTCUA_SMTP_TIMEOUT", 10.0, float, minimum=0.1),
            ) if env.get("MOTCUA_SMTP_HOST") else None,
            esms=EsmsSettings(
                base_url=env["MOTCUA_ESMS_URL"],
                api_key=env.get("MOTCUA_ESMS_API_KEY", ""),
                secret_key=env.get("MOTCUA_ESMS_SECRET_KEY", ""),
                brandname=env.get("MOTCUA_ESMS_BRANDNAME", ""),
                callback_url=env.get("MOTCUA_ESMS_CALLBACK_URL", ""),
                unicode=_flag(env, "MOTCUA_ESMS_UNICODE", False),
                timeout=env_number(env, "MOTCUA_PROVIDER_TIMEOUT", 10.0, float, minimum=0.1),
            ) if env.get("MOTCUA_ESMS_URL") else None,
            zalo=ZaloSettings(
                base_url=env["MOTCUA_ZALO_ZNS_URL"],
                access_token=env.get("MOTCUA_ZALO_ACCESS_TOKEN", ""),
                template_ids=_pairs(env, "MOTCUA_ZALO_TEMPLATES"),
                timeout=env_number(env, "MOTCUA_PROVIDER_TIMEOUT", 10.0, float, minimum=0.1),
            ) if env.get("MOTCUA_ZALO_ZNS_URL") else None,
            rates={
                "email": env_number(env, "MOTCUA_SMTP_RATE", 0.0, float, minimum=0.0),
                "sms": env_number(env, "MOTCUA_ESMS_RATE", 0.0, float, minimum=0.0),
                "zalo": env_number(env, "MOTCUA_ZALO_RATE", 0.0, float, minimum=0.0),
            },
            retry=RetryPolicy(
                max_attempts=env_number(env, "MOTCUA_NOTIFY_MAX_ATTEMPTS", 5, int, minimum=1),
                base_delay=env_number(env, "MOTCUA_NOTIFY_RETRY_BASE", 2.0, float, minimum=0.0),
                max_delay=env_number(env, "MOTCUA_NOTIFY_RETRY_MAX", 600.0, float, minimum=0.0),
            ),
            poll_interval=env_number(env, "MOTCUA_NOTIFY_POLL_INTERVAL", 0.5, float, minimum=0.01),
            confirm_within=env_number(env, "MOTCUA_NOTIFY_CONFIRM_WITHIN", 900.0, float, minimum=0.0),
            senders=env_number(env, "MOTCUA_NOTIFY_SENDERS", 16, int, minimum=1),
            attempt_lease=env_number(env, "MOTCUA_NOTIFY_ATTEMPT_LEASE", 120.0, float, minimum=1.0),
            quiet_hours=_window(env.get("MOTCUA_NOTIFY_QUIET_HOURS", "21:00-07:00")),
            template_cache_seconds=env_number(env, "MOTCUA_NOTIFY_TEMPLATE_CACHE", 5.0, float, minimum=0.0),
            role=_role(env.get("MOTCUA_NOTIFY_ROLE", "")),
            callback_secrets=CallbackSecrets(
                esms_token=env.get("MOTCUA_ESMS_CALLBACK_TOKEN", ""),
                zalo_app_id=env.get("MOTCUA_ZALO_APP_ID", ""),
                zalo_oa_secret_key=env.get("MOTCUA_ZALO_OA_SECRET_KEY", ""),
            ),
        )


def _dkim_key(env: Mapping[str, str]) -> bytes:
    path = env.get("MOTCUA_SMTP_DKIM_KEY_FILE", "")
    if not path:
        return b""
    if not env.get("MOTCUA_SMTP_DKIM_DOMAIN") or not env.get("MOTCUA_SMTP_DKIM_SELECTOR"):
        raise ConfigError("MOTCUA_SMTP_DKIM_KEY_FILE needs MOTCUA_SMTP_DKIM_DOMAIN and MOTCUA_SMTP_DKIM_SELECTOR")
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"MOTCUA_SMTP_DKIM_KEY_FILE: cannot read {path}: {e.strerror}") from None


def _window(raw: str) -> tuple[time, time] | None:
    """``"21:00-07:00"`` (local; seconds allowed) -> the two times; empty or ``off``: None."""
    raw = raw.strip()
    if not raw or raw.lower() == "off":
        return None
    start, sep, end = raw.partition("-")
    try:
        if not sep:
            raise ValueError(raw)
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ConfigError(f"MOTCUA_NOTIFY_QUIET_HOURS must be HH:MM-HH:MM (or off), got {raw!r}") from None


def _role(raw: str) -> str:
    role = raw.strip().lower() or ALL
    if role not in ROLES:
        raise ConfigError(f"MOTCUA_NOTIFY_ROLE must be one of {', '.join(ROLES)}, got {raw!r}")
    return role


def _flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}")


def _pairs(env: Mapping[str, str], key: str) -> dict[str, str]:
    pairs = {}
    for item in filter(None, (part.strip() for part in env.get(key, "").split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"{key} must be key=value pairs separated by commas, got {item!r}")
        pairs[name.strip()] = value.strip()
    return pairs


def _zone(name: str) -> tzinfo:
    if not name or name == VIETNAM_ZONE_NAME:
        return VIETNAM
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(f"MOTCUA_TIMEZONE: unknown time zone {name!r}") from e
