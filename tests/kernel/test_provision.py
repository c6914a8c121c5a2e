"""motcua-migrate (the chart's pre-install/pre-upgrade Job) against the test session's real
PostgreSQL and Kafka: the services' role gets its own databases and nothing more, the topics
exist, and running it again changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from kafka import KafkaAdminClient

from motcua.kernel.provision import topics


def migrate(stack, role: str, databases: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "POSTGRES_HOST": stack.postgres.host, "POSTGRES_PORT": str(stack.profile.pg_port),
           "POSTGRES_USER": role, "POSTGRES_PASSWORD": "mật-khẩu-của-dịch-vụ",
           "MOTCUA_ADMIN_POSTGRES_USER": stack.postgres.user, "MOTCUA_ADMIN_POSTGRES_PASSWORD": stack.postgres.password,
           "KAFKA_BOOTSTRAP_SERVERS": stack.kafka.bootstrap, "MOTCUA_TOPIC_PARTITIONS": "3",
           **{f"MOTCUA_{service.upper()}_DBNAME": name for service, name in databases.items()}}
    return subprocess.run([sys.executable, "-m", "motcua.kernel.provision", "--services", ",".join(databases)],
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_services_role_owns_its_databases_and_may_create_nothing_else(stack):
    run = uuid.uuid4().hex[:8]
    role = f"motcua_app_{run}"
    databases = {"identity": f"k8s_identity_{run}", "dossiers": f"k8s_dossiers_{run}"}
    first = migrate(stack, role, databases)
    assert first.returncode == 0, first.stdout + first.stderr
    again = migrate(stack, role, databases)  # every pre-upgrade runs it again
    assert again.returncode == 0, again.stdout + again.stderr

    with psycopg.connect(stack.postgres.dsn(), autocommit=True) as admin:
        flags = admin.execute("SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication "
                              "FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        assert flags == (True, False, False, False, False)
        owners = dict(admin.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                                    "WHERE datname LIKE %s", (f"k8s_%_{run}",)).fetchall())
        assert owners == {name: role for name in databases.values()}
        # Nobody else may connect to a service's database.
        acl = admin.execute("SELECT datacl::text FROM pg_database WHERE datname = %s",
                            (databases["dossiers"],)).fetchone()[0]
        assert "=c" not in acl.replace(f"{role}=", ""), acl

    dsn = f"host={stack.postgres.host} port={stack.profile.pg_port} user={role} dbname={databases['dossiers']}"
    with psycopg.connect(dsn, autocommit=True) as service:
        # What eventsourcing does at a service's first start: its tables in its own database.
        service.execute("CREATE TABLE stored_events (id bigint PRIMARY KEY, topic text)")
        service.execute("INSERT INTO stored_events VALUES (1, 'Hồ sơ đã tiếp nhận')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            service.execute(f"CREATE DATABASE k8s_other_{run}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            service.execute(f"CREATE ROLE k8s_other_{run}")

    admin_client = KafkaAdminClient(bootstrap_servers=stack.kafka.bootstrap)
    try:
        assert set(topics(["identity", "dossiers"])) <= set(admin_client.list_topics())
    finally:
        admin_client.close()


def test_the_administrator_as_the_services_role_is_refused_with_a_reason(stack):
    result = migrate(stack, stack.postgres.user, {"procedures": f"k8s_procedures_{uuid.uuid4().hex[:8]}"})
    assert result.returncode == 2
    assert "POSTGRES_USER must not be the administrator" in result.stderr
