#!/usr/bin/env bash
# The compose broker's start, health check and SCRAM users (apache/kafka image;
# docker/compose.yaml mounts this folder at /opt/controlfeed and the secrets at
# /run/secrets). Passwords are read from the secret files and never printed.
#
#   kafka-setup.sh broker   the service's entrypoint: on the first start, format the
#                           KRaft log dir with a SCRAM-SHA-512 user per principal
#                           (kafka-storage.sh format --add-scram); write the JAAS
#                           login of the broker's own inter-broker connections
#                           (admin); then the image's own start (/etc/kafka/docker/run)
#   kafka-setup.sh health   the health check: ApiVersions over the internal
#                           SASL_SSL listener as admin
#   kafka-setup.sh users    set every principal's SCRAM password from its secret
#                           again, on the running broker (rotation; compose's
#                           kafka-users service runs it at every `up`)
set -euo pipefail

PRINCIPALS=(admin worker producer console downstream)  # = streams.kafka.acls.PRINCIPALS
SECRETS=${SETUP_SECRETS:-/run/secrets}  # overridable to try the script outside the image
BIN=${SETUP_KAFKA_BIN:-/opt/kafka/bin}
BOOTSTRAP=${SETUP_BOOTSTRAP:-kafka:9092}  # the INTERNAL listener
TOOL_HEAP=-Xmx256m  # the tools' JVMs: not the broker's KAFKA_HEAP_OPTS of the service
WORK=$(mktemp -d /tmp/controlfeed-kafka.XXXXXX)  # 0700: the admin login lives here
trap 'rm -rf "$WORK"' EXIT

password() { head -n1 "$SECRETS/kafka_$1_password" | tr -d '[:space:]'; }

admin_properties() {  # a client config of the admin principal for the Java tools
  cat > "$WORK/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(password admin)";
ssl.truststore.type=PEM
ssl.truststore.location=$SECRETS/kafka_ca.crt
PROPS
  echo "$WORK/admin.properties"
}

format_once() {
  if [ -e "$KAFKA_LOG_DIRS/meta.properties" ]; then
    return
  fi
  cat > "$WORK/format.properties" <<PROPS
process.roles=$KAFKA_PROCESS_ROLES
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_CONTROLLER_QUORUM_VOTERS
controller.listener.names=$KAFKA_CONTROLLER_LISTENER_NAMES
listeners=$KAFKA_LISTENERS
listener.security.protocol.map=$KAFKA_LISTENER_SECURITY_PROTOCOL_MAP
inter.broker.listener.name=$KAFKA_INTER_BROKER_LISTENER_NAME
log.dirs=$KAFKA_LOG_DIRS
PROPS
  local scram=()
  for principal in "${PRINCIPALS[@]}"; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$principal,password=$(password "$principal")]")
  done
  echo "controlfeed: formatting $KAFKA_LOG_DIRS with SCRAM users ${PRINCIPALS[*]}"
  KAFKA_HEAP_OPTS=$TOOL_HEAP "$BIN/kafka-storage.sh" format --ignore-formatted --cluster-id "$CLUSTER_ID" \
    --config "$WORK/format.properties" "${scram[@]}" >/dev/null
}

case "${1:-}" in
  broker)
    format_once
    jaas=/opt/kafka/config/controlfeed_jaas.conf  # the image's writable config folder
    umask 077
    cat > "$jaas" <<JAAS
KafkaServer {
  org.apache.kafka.common.security.scram.ScramLoginModule required
  username="admin" password="$(password admin)";
};
JAAS
    export KAFKA_OPTS="${KAFKA_OPTS:-} -Djava.security.auth.login.config=$jaas"
    trap - EXIT
    rm -rf "$WORK"
    exec /etc/kafka/docker/run
    ;;
  health)
    KAFKA_HEAP_OPTS=$TOOL_HEAP "$BIN/kafka-broker-api-versions.sh" --bootstrap-server "$BOOTSTRAP" \
      --command-config "$(admin_properties)" >/dev/null
    ;;
  users)
    config=$(admin_properties)
    for principal in "${PRINCIPALS[@]}"; do
      # In the tool's arguments, as for `format --add-scram`: seen inside this container only.
      KAFKA_HEAP_OPTS=$TOOL_HEAP "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" \
        --command-config "$config" --alter --entity-type users --entity-name "$principal" \
        --add-config "SCRAM-SHA-512=[iterations=8192,password=$(password "$principal")]" \
        >/dev/null
      echo "controlfeed: SCRAM credentials of $principal set"
    done
    ;;
  *)
    echo "usage: $0 broker|health|users" >&2
    exit 2
    ;;
esac
