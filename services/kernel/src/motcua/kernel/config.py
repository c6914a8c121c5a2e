"""Service configuration, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from eventsourcing.postgres import BasePostgresFactory

from .client_address import TrustedProxies

N = TypeVar("N", int, float)

# Environment variables the eventsourcing library reads for PostgreSQL (every one its
# PostgreSQL factory knows, e.g. POSTGRES_PRE_PING, POSTGRES_CONNECT_TIMEOUT,
# POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT: taken from the library so that none is
# dropped), and for encrypting or compressing the stored events where a service turns that on.
_EVENTSTORE_KEYS = (
    *sorted({value for name, value in vars(BasePostgresFactory).items() if name.isupper() and isinstance(value, str)}),
    "CIPHER_TOPIC",
    "CIPHER_KEY",
    "COMPRESSOR_TOPIC",
)


class ConfigError(ValueError):
    """A required setting is missing or malformed."""


# The largest message anywhere on a request's way, in bytes: the gateway's request bodies, and
# what every gRPC server and channel sends and receives (MOTCUA_MAX_MESSAGE_BYTES). One number,
# so that what the gateway lets in a service also takes. 16 MiB: an attachment may be 10 MiB,
# which is 13.4 MiB as base64 in a JSON body, plus its envelope (names, fields); the same
# attachment is 10 MiB and a little in its gRPC message. gRPC's own default (4 MiB) is too small.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MIN_MAX_MESSAGE_BYTES = 64 * 1024  # below this, ordinary requests (a dossier with its documents) fail


def env_number(env: Mapping[str, str], key: str, default: N, kind: type[N], minimum: N | None = None) -> N:
    """A number setting: ``default`` when unset; ConfigError naming the variable when malformed."""
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError as e:
        raise ConfigError(f"{key} must be {'an integer' if kind is int else 'a number'}, got {raw!r}") from e
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key} must be at least {minimum}, got {raw!r}")
    return value


def max_message_bytes(environ: Mapping[str, str] | None = None) -> int:
    """MOTCUA_MAX_MESSAGE_BYTES, the one message-size limit (see DEFAULT_MAX_MESSAGE_BYTES)."""
    env = os.environ if environ is None else environ
    return env_number(env, "MOTCUA_MAX_MESSAGE_BYTES", DEFAULT_MAX_MESSAGE_BYTES, int, minimum=MIN_MAX_MESSAGE_BYTES)


def env_flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    """A yes/no setting: 1, y, yes, true, on mean yes."""
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "y", "yes", "true", "on")


@dataclass(frozen=True)
class AuthSettings:
    """Where the keys are and what a token must say (shared by identity, which issues them)."""

    jwks_url: str
    issuer: str
    audience: str = "motcua"
    leeway: int = 30  # seconds of clock skew tolerated on exp/nbf

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings | None:
        jwks_url = env.get("MOTCUA_AUTH_JWKS_URL", "").strip()
        if not jwks_url:
            return None
        issuer = env.get("MOTCUA_AUTH_ISSUER", "").strip()
        if not issuer:
            raise ConfigError("MOTCUA_AUTH_ISSUER is not set (the `iss` every token must carry)")
        return cls(
            jwks_url=jwks_url,
            issuer=issuer,
            audience=env.get("MOTCUA_AUTH_AUDIENCE", "").strip() or "motcua",
            leeway=env_number(env, "MOTCUA_AUTH_LEEWAY", 30, int, minimum=0),
        )


KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaSettings:
    """How every Kafka client of the platform reaches the brokers (kafka.py builds each client
    from these), and how the topics it creates are replicated."""

    bootstrap: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""  # with a SASL_* protocol: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: str = ""  # the CA that signed the brokers' certificates; "": the system's CAs
    ssl_certfile: str = ""  # a client certificate (PEM), for brokers that require one (mTLS)
    ssl_keyfile: str = ""
    ssl_key_password: str = field(default="", repr=False)
    ssl_check_hostname: bool = True
    # 1/1 suits a one-broker development cluster; production: 3 and 2, so that a write
    # acknowledged by "all" replicas survives the loss of one broker.
    replication_factor: int = 1
    min_insync_replicas: int = 1

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_ssl(self) -> bool:
        return self.security_protocol.endswith("SSL")

    def client_kwargs(self) -> dict[str, object]:
        """The connection arguments every kafka-python client (producer, consumer, admin) takes."""
        kwargs: dict[str, object] = {"bootstrap_servers": self.bootstrap, "security_protocol": self.security_protocol}
        if self.uses_sasl:
            kwargs.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                          sasl_plain_password=self.sasl_password)
        if self.uses_ssl:
            kwargs["ssl_check_hostname"] = self.ssl_check_hostname
            for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
                if value := getattr(self, key):
                    kwargs[key] = value
            if self.ssl_key_password:
                kwargs["ssl_password"] = self.ssl_key_password
        return kwargs

    def topic_configs(self) -> dict[str, str]:
        """Topic-level settings for the topics the platform creates."""
        return {"min.insync.replicas": str(self.min_insync_replicas)}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSettings:
        protocol = env.get("MOTCUA_KAFKA_SECURITY_PROTOCOL", "").strip().upper() or "PLAINTEXT"
        if protocol not in KAFKA_SECURITY_PROTOCOLS:
            raise ConfigError(f"MOTCUA_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(KAFKA_SECURITY_PROTOCOLS)}, "
                              f"got {protocol!r}")
        mechanism = env.get("MOTCUA_KAFKA_SASL_MECHANISM", "").strip().upper()
        settings = cls(
            bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS", "").strip() or "127.0.0.1:9092",
            security_protocol=protocol,
            sasl_mechanism=mechanism,
            sasl_username=env.get("MOTCUA_KAFKA_SASL_USERNAME", "").strip(),
            sasl_password=env.get("MOTCUA_KAFKA_SASL_PASSWORD", ""),
            ssl_cafile=env.get("MOTCUA_KAFKA_SSL_CAFILE", "").strip(),
            ssl_certfile=env.get("MOTCUA_KAFKA_SSL_CERTFILE", "").strip(),
            ssl_keyfile=env.get("MOTCUA_KAFKA_SSL_KEYFILE", "").strip(),
            ssl_key_password=env.get("MOTCUA_KAFKA_SSL_KEY_PASSWORD", ""),
            ssl_check_hostname=env_flag(env, "MOTCUA_KAFKA_SSL_CHECK_HOSTNAME", True),
            replication_factor=env_number(env, "MOTCUA_KAFKA_REPLICATION_FACTOR", 1, int, minimum=1),
            min_insync_replicas=env_number(env, "MOTCUA_KAFKA_MIN_INSYNC_REPLICAS", 1, int, minimum=1),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """ConfigError naming the variable when the settings cannot work together."""
        if self.uses_sasl:
            if self.sasl_mechanism not in KAFKA_SASL_MECHANISMS:
                raise ConfigError(f"MOTCUA_KAFKA_SASL_MECHANISM must be one of {', '.join(KAFKA_SASL_MECHANISMS)} "
                                  f"with {self.security_protocol}, got {self.sasl_mechanism!r}")
            for variable, value in (("MOTCUA_KAFKA_SASL_USERNAME", self.sasl_username),
                                    ("MOTCUA_KAFKA_SASL_PASSWORD", self.sasl_password)):
                if not value:
                    raise ConfigError(f"{variable} is not set (required with {self.security_protocol})")
        elif self.sasl_mechanism or self.sasl_username:
            raise ConfigError(f"MOTCUA_KAFKA_SASL_* is set but MOTCUA_KAFKA_SECURITY_PROTOCOL is "
                              f"{self.security_protocol}: set it to SASL_SSL (or SASL_PLAINTEXT) to use SASL")
        files = (("MOTCUA_KAFKA_SSL_CAFILE", self.ssl_cafile), ("MOTCUA_KAFKA_SSL_CERTFILE", self.ssl_certfile),
                 ("MOTCUA_KAFKA_SSL_KEYFILE", self.ssl_keyfile))
        if not self.uses_ssl and any(value for _, value in files):
            raise ConfigError(f"MOTCUA_KAFKA_SSL_* is set but MOTCUA_KAFKA_SECURITY_PROTOCOL is "
                              f"{self.security_protocol}: set it to SSL or SASL_SSL to use TLS")
        for variable, value in files:
            if value and not os.path.isfile(value):
                raise ConfigError(f"{variable}: no such file: {value}")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ConfigError("MOTCUA_KAFKA_SSL_CERTFILE and MOTCUA_KAFKA_SSL_KEYFILE go together (a client "
                              "certificate and its key)")
        if self.min_insync_replicas > self.replication_factor:
            # Every write with acks=all would fail: fewer replicas exist than must acknowledge it.
            raise ConfigError(f"MOTCUA_KAFKA_MIN_INSYNC_REPLICAS ({self.min_insync_replicas}) must not exceed "
                              f"MOTCUA_KAFKA_REPLICATION_FACTOR ({self.replication_factor})")


@dataclass(frozen=True)
class Settings:
    service: str
    grpc_addr: str
    kafka: KafkaSettings
    eventstore_env: dict[str, str] = field(repr=False)
    grpc_workers: int = 32
    shutdown_grace: float = 10.0
    log_level: str = "INFO"
    relay_enabled: bool = True
    relay_batch_size: int = 1000
    relay_idle_wait: float = 0.5
    # The hash chain over the event log (sealer.py); off only to measure what it costs.
    chain_enabled: bool = True
    # How often the sealer publishes its chain head to be signed (checkpoints.py): after this
    # many sealed records or this many seconds, whichever comes first.
    checkpoint_every: int = 1000
    checkpoint_interval: float = 60.0
    topic_partitions: int = 3
    consumer_max_attempts: int = 3
    consumer_retry_max_pause: float = 10.0  # seconds between retries of a message while a dependency is down
    # A background worker (relay, consumer, periodic task) failing this long turns the gRPC health
    # NOT_SERVING.
    worker_unhealthy_after: float = 30.0
    snapshotting: bool = True
    auth: AuthSettings | None = None  # required to serve gRPC (see grpc_server)
    http_addr: str = ""  # a service's own HTTP endpoints, when it has some (identity's JWKS)
    metrics_addr: str = ""  # MOTCUA_METRICS_ADDR: where Prometheus scrapes /metrics (metrics.py); "": nowhere
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES  # the gRPC server's limit, both ways
    # Whose word on the caller's address counts (client_address.py): nobody's unless set.
    trusted_proxies: TrustedProxies = TrustedProxies()

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.bootstrap

    @property
    def events_topic(self) -> str:
        return events_topic(self.service)

    @property
    def deadletter_topic(self) -> str:
        return f"motcua.{self.service}.deadletter.v1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, service: str | None = None) -> Settings:
        env = os.environ if environ is None else environ
        name = service or env.get("MOTCUA_SERVICE", "")
        if not name:
            raise ConfigError("MOTCUA_SERVICE is not set")
        snapshotting = env_flag(env, "MOTCUA_SNAPSHOTTING", True)
        store = {k: env[k] for k in _EVENTSTORE_KEYS if env.get(k)}
        store.setdefault("POSTGRES_DBNAME", f"motcua_{name}")
        store.setdefault("POSTGRES_POOL_SIZE", "10")
        store.setdefault("POSTGRES_MAX_OVERFLOW", "20")
        # Check a pooled connection before handing it out: after a PostgreSQL restart (or a
        # failover) the pool's stale connections are replaced instead of failing a call.
        store.setdefault("POSTGRES_PRE_PING", "y")
        store["PERSISTENCE_MODULE"] = env.get("PERSISTENCE_MODULE", "eventsourcing.postgres")
        store["IS_SNAPSHOTTING_ENABLED"] = "y" if snapshotting else "n"
        for required in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER"):
            if store["PERSISTENCE_MODULE"] == "eventsourcing.postgres" and required not in store:
                raise ConfigError(f"{required} is not set")
        return cls(
            service=name,
            grpc_addr=env.get("MOTCUA_GRPC_ADDR", "127.0.0.1:50051"),
            kafka=KafkaSettings.from_env(env),
            eventstore_env=store,
            # Enough threads for group commit to fill its batches (measured: 32 beats 8 and 16).
            grpc_workers=env_number(env, "MOTCUA_GRPC_WORKERS", 32, int),
            shutdown_grace=env_number(env, "MOTCUA_SHUTDOWN_GRACE", 10.0, float),
            log_level=env.get("MOTCUA_LOG_LEVEL", "INFO").upper(),
            relay_enabled=env_flag(env, "MOTCUA_RELAY_ENABLED", True),
            relay_batch_size=env_number(env, "MOTCUA_RELAY_BATCH_SIZE", 1000, int),
            relay_idle_wait=env_number(env, "MOTCUA_RELAY_IDLE_WAIT", 0.5, float),
            chain_enabled=env_flag(env, "MOTCUA_CHAIN", True),
            checkpoint_every=env_number(env, "MOTCUA_CHECKPOINT_EVERY", 1000, int, minimum=1),
            checkpoint_interval=env_number(env, "MOTCUA_CHECKPOINT_INTERVAL", 60.0, float, minimum=0.0),
            topic_partitions=env_number(env, "MOTCUA_TOPIC_PARTITIONS", 3, int),
            consumer_max_attempts=env_number(env, "MOTCUA_CONSUMER_MAX_ATTEMPTS", 3, int, minimum=1),
            consumer_retry_max_pause=env_number(env, "MOTCUA_CONSUMER_RETRY_MAX_PAUSE", 10.0, float, minimum=0.1),
            worker_unhealthy_after=env_number(env, "MOTCUA_WORKER_UNHEALTHY_AFTER", 30.0, float, minimum=0.0),
            snapshotting=snapshotting,
            auth=AuthSettings.from_env(env),
            http_addr=env.get("MOTCUA_HTTP_ADDR", "").strip(),
            metrics_addr=metrics_addr_from_env(env),
            max_message_bytes=max_message_bytes(env),
            trusted_proxies=trusted_proxies_from_env(env),
        )


def trusted_proxies_from_env(env: Mapping[str, str]) -> TrustedProxies:
    """MOTCUA_TRUSTED_PROXIES, for the services and the gateway alike."""
    try:
        return TrustedProxies.parse(env.get("MOTCUA_TRUSTED_PROXIES", ""))
    except ValueError as e:
        raise ConfigError(str(e)) from None


def events_topic(service: str) -> str:
    """The Kafka topic a service publishes its integration events to."""
    return f"motcua.{service}.events.v1"


def metrics_addr_from_env(env: Mapping[str, str]) -> str:
    """MOTCUA_METRICS_ADDR, checked: host:port or empty."""
    raw = env.get("MOTCUA_METRICS_ADDR", "").strip()
    host, sep, port = raw.rpartition(":")
    if raw and (not sep or not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536):
        raise ConfigError(f"MOTCUA_METRICS_ADDR must be host:port, got {raw!r}")
    return raw
