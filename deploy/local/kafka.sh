#!/usr/bin/env bash
# A real single-node Apache Kafka 4.x broker (KRaft, no ZooKeeper) for development, tests and
# `make run`. Jars come from Maven Central through deploy/local/pom.xml and are cached in
# $GATHER_LOCAL_DIR/kafka/lib; the broker runs with the machine's Java 17.
#
#   deploy/local/kafka.sh start    # idempotent: reuses a running broker, its jars and its storage
#   deploy/local/kafka.sh stop     # SIGTERM, waits for a clean shutdown (SIGKILL after 60 s)
#   deploy/local/kafka.sh status   # prints KAFKA_BOOTSTRAP_SERVERS=... when running, exit 1 if not
#   deploy/local/kafka.sh env      # same line, for `eval "$(deploy/local/kafka.sh env)"`
#
# Logs: $GATHER_LOCAL_DIR/kafka/logs/server.log (broker) and start.log (stdout/stderr of the JVM).
# KRaft quick start: https://kafka.apache.org/documentation/#quickstart_startserver
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
base=${GATHER_LOCAL_DIR:-$repo/.local}/kafka
lib=$base/lib
data=$base/data
logs=$base/logs
pidfile=$base/broker.pid
portfile=$base/ports
ready_timeout=${KAFKA_READY_TIMEOUT:-90}

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

bootstrap_line() { echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(cut -d' ' -f1 "$portfile")"; }

fetch_jars() {
  [[ -f $lib/.complete ]] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka jars: apt-get install maven"
  command -v java >/dev/null || die "Java 17+ is needed to run the broker: apt-get install openjdk-17-jre-headless"
  log "fetching Apache Kafka jars from Maven Central into $lib (once; cached afterwards)"
  mkdir -p "$lib"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$lib" -DincludeScope=runtime >"$base/mvn.log" 2>&1 \
    || die "mvn failed; see $base/mvn.log"
  touch "$lib/.complete"
}

# Reuse the ports of the last start when they are free, so clients configured earlier keep working.
choose_ports() {
  if [[ -f $portfile ]]; then
    read -r broker controller <"$portfile"
    if ! port_busy "$broker" && ! port_busy "$controller"; then return 0; fi
  fi
  echo "$(free_port) $(free_port)" >"$portfile"
}

# KAFKA_EXTRA_LISTENERS="NAME:port:advertised_port ...": more plaintext listeners, each telling
# its clients another port (the chaos suite puts a Toxiproxy in front of each: a client that
# bootstraps through the proxy is told to go on through it, not around it). $1: listen|advertise|map
extra_listeners() {
  local spec name port advertised out=""
  for spec in ${KAFKA_EXTRA_LISTENERS:-}; do
    IFS=: read -r name port advertised <<<"$spec"
    case $1 in
      listen) out+=",$name://127.0.0.1:$port" ;;
      advertise) out+=",$name://127.0.0.1:$advertised" ;;
      map) out+=",$name:PLAINTEXT" ;;
    esac
  done
  echo "$out"
}

write_config() {
  read -r broker controller <"$portfile"
  mkdir -p "$data" "$logs"
  cat >"$base/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$broker,CONTROLLER://127.0.0.1:$controller$(extra_listeners listen)
advertised.listeners=PLAINTEXT://127.0.0.1:$broker$(extra_listeners advertise)
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT$(extra_listeners map)
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.check.interval.ms=60000
EOF
  cat >"$base/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $logs/server.log
appender.file.filePattern = $logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
EOF
}

java_opts() { echo "-Xms256m -Xmx1g -Dlog4j2.configurationFile=$base/log4j2.properties"; }

# shellcheck disable=SC2046  # java_opts is a word list on purpose
java_run() { java $(java_opts) -cp "$lib/*" "$@"; }

format_storage() {
  [[ -f $data/meta.properties ]] && return 0
  log "formatting KRaft storage in $data"
  java_run kafka.tools.StorageTool format -t "$(java_run kafka.tools.StorageTool random-uuid)" \
    -c "$base/server.properties" >"$logs/format.log" 2>&1 \
    || die "storage format failed; see $logs/format.log"
}

wait_ready() {
  local pid=$1 broker deadline=$((SECONDS + ready_timeout))
  read -r broker _ <"$portfile"
  until grep -q "Kafka Server started" "$logs/server.log" 2>/dev/null && port_busy "$broker"; do
    kill -0 "$pid" 2>/dev/null || die "broker exited during start; see $logs/server.log and $logs/start.log"
    ((SECONDS < deadline)) || die "broker not ready after ${ready_timeout}s; see $logs/server.log"
    sleep 0.5
  done
}

start() {
  mkdir -p "$base"
  if running; then log "broker already running (pid $(cat "$pidfile"))"; bootstrap_line; return 0; fi
  fetch_jars
  choose_ports
  write_config
  format_storage
  : >"$logs/server.log"
  # setsid: the broker outlives this script and a Ctrl-C in the caller's terminal; its output goes
  # to files, so no caller's pipe is held open. $! is the JVM itself, which `stop` signals.
  # shellcheck disable=SC2046
  setsid java $(java_opts) -cp "$lib/*" kafka.Kafka "$base/server.properties" \
    </dev/null >"$logs/start.log" 2>&1 &
  echo $! >"$pidfile"
  wait_ready "$!"
  log "broker ready (pid $(cat "$pidfile")), logs in $logs"
  bootstrap_line
}

stop() {
  running || { log "broker not running"; rm -f "$pidfile"; return 0; }
  local pid deadline=$((SECONDS + 60))
  pid=$(cat "$pidfile")
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then log "no clean shutdown after 60 s; killing"; kill -KILL "$pid"; fi
    sleep 0.5
  done
  rm -f "$pidfile"
  log "broker stopped"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status | env) running && bootstrap_line || { log "broker not running"; exit 1; } ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
