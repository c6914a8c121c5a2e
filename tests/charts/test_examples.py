"""The operator examples in infra/k8s/examples/ match what the platform and the chart use."""

from __future__ import annotations

from pathlib import Path

import yaml

from motcua.devstack import SERVICES
from motcua.kernel.checkpoints import CHECKPOINTS_TOPIC, HEADS_TOPIC
from motcua.kernel.config import events_topic

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "infra" / "k8s" / "examples"
CHART_VALUES = yaml.safe_load((ROOT / "charts" / "motcua" / "values.yaml").read_text())


def _objects(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((EXAMPLES / name).read_text()) if doc]


def test_the_strimzi_topics_are_the_platforms_with_the_charts_partitions() -> None:
    topics = {o["spec"]["topicName"]: o["spec"] for o in _objects("strimzi-kafka.yaml") if o["kind"] == "KafkaTopic"}
    wanted = {events_topic(s) for s in SERVICES} | {f"motcua.{s}.deadletter.v1" for s in SERVICES} | \
        {HEADS_TOPIC, CHECKPOINTS_TOPIC}
    assert set(topics) == wanted
    for spec in topics.values():
        assert spec["partitions"] == CHART_VALUES["config"]["topicPartitions"]
        assert (spec["replicas"], spec["config"]["min.insync.replicas"]) == (3, 2)


def test_the_strimzi_user_authenticates_with_scram_on_a_tls_listener() -> None:
    objects = _objects("strimzi-kafka.yaml")
    (user,) = [o for o in objects if o["kind"] == "KafkaUser"]
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    (kafka,) = [o for o in objects if o["kind"] == "Kafka"]
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"


def test_the_cloudnative_pg_cluster_has_a_database_per_service() -> None:
    (cluster,) = _objects("cloudnative-pg-cluster.yaml")
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    created = {initdb["database"]} | {sql.split()[2] for sql in initdb["postInitApplicationSQL"]}
    assert created == {f"motcua_{s}" for s in SERVICES}
    assert initdb["owner"] == CHART_VALUES["postgresql"]["user"]
