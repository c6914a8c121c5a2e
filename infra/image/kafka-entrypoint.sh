#!/bin/sh
# The development Kafka image's entrypoint: a one-node KRaft broker and controller, its storage
# formatted at the first start in $KAFKA_DATA, advertised as $KAFKA_ADVERTISED_HOST (a
# StatefulSet pod's stable DNS name; the pod's hostname by default).
set -eu
data=${KAFKA_DATA:-/var/lib/kafka/data}
host=${KAFKA_ADVERTISED_HOST:-$(hostname -f 2>/dev/null || hostname)}
port=${KAFKA_PORT:-9092}
config=/tmp/server.properties
cat >"$config" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://0.0.0.0:$port,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://$host:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
PROPERTIES
java="java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -Djava.awt.headless=true"
java="$java -Dlog4j.configuration=file:/opt/kafka/log4j.properties -Dkafka.logs.dir=/tmp/kafka-logs"
if [ ! -f "$data/meta.properties" ]; then
  $java -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \
    --cluster-id="${KAFKA_CLUSTER_ID:-bW90Y3VhLWRldi1rYWZrYQ}" --config="$config"
fi
exec $java -cp '/opt/kafka/libs/*' kafka.Kafka "$config"
