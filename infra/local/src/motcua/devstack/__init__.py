"""motcua's local stack without containers: PostgreSQL (pgserver's binaries), Kafka (jars from
Maven Central) and the services as plain processes, with data under <repo>/.local/<profile>/.

    from motcua.devstack import PROFILES, Postgres, Kafka, ServiceProcess, service_env, free_port
    profile = PROFILES["test"]
    pg = Postgres(profile).start()       # no-op when already running
    kafka = Kafka(profile).start()
    env = service_env(profile, "identity", free_port())
    with ServiceProcess("identity", env, tmp_path / "identity.log") as svc: ...
"""

from ._proc import free_port
from .kafka_broker import KAFKA_VERSION, Kafka, kafka_libs
from .postgres import Postgres, pg_bindir
from .profiles import PROFILES, SERVICES, Profile, profile, repo_root
from .services import ServiceProcess, auth_env, identity_env, service_env

__all__ = [
    "KAFKA_VERSION", "PROFILES", "SERVICES", "Kafka", "Postgres", "Profile", "ServiceProcess", "profile",
    "free_port", "kafka_libs", "pg_bindir", "repo_root", "service_env",
    "auth_env", "identity_env",
]
