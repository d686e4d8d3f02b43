#!/usr/bin/env bash
# `make run` / `make stop`: a local three-host cluster under ./run/: a zkd
# ensemble and three kafkad brokers.
#   scripts/run.sh start PATH_TO_ZKD PATH_TO_KAFKAD
#   scripts/run.sh stop
# Host N is the loopback address 127.0.0.N with the standard ports (client
# 2181, quorum 2888, election 3888, Kafka 9092); zkd's config, myid, data and
# log live in run/zkN/, the broker's in run/kafkaN/ (its server.properties is
# etc/hosts/N/server.properties, with log.dirs pointed into run/kafkaN/).
# Starts the three zkd, waits until one leads and two follow, shows `echo stat
# | nc` on each and a write on host 1 read back on host 3 with the ZooKeeper C
# client (cli_mt); then starts the brokers, waits until all three are
# registered, creates a demo topic and shows kcat producing to and consuming
# from it. Everything keeps running; `make stop` stops it (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
hosts=(1 2 3)
port=2181
cli=/usr/lib/zookeeper/bin/cli_mt

dir() { echo "$top/run/zk$1"; }
kdir() { echo "$top/run/kafka$1"; }
addr() { echo "127.0.0.$1"; }
pidfile() { echo "$(dir "$1")/zkd.pid"; }
kpidfile() { echo "$(kdir "$1")/kafkad.pid"; }
running() { [ -f "$(pidfile "$1")" ] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }
krunning() { [ -f "$(kpidfile "$1")" ] && kill -0 "$(cat "$(kpidfile "$1")")" 2>/dev/null; }
bootstrap=127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092
mode() { printf srvr | nc -w 1 "$(addr "$1")" $port 2>/dev/null | sed -n 's/^Mode: //p'; }

stop_pid() { # pidfile, what
  local pid
  pid=$(cat "$1")
  kill "$pid"
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  echo "$2 (pid $pid) stopped"
}

stop() {
  # brokers first, while ZooKeeper still answers their goodbyes
  for h in "${hosts[@]}"; do
    krunning "$h" && stop_pid "$(kpidfile "$h")" "kafkad host $h"
    rm -f "$(kpidfile "$h")"
  done
  for h in "${hosts[@]}"; do
    if running "$h"; then
      pid=$(cat "$(pidfile "$h")")
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "zkd host $h (pid $pid) stopped"
    fi
    rm -f "$(pidfile "$h")"
  done
}

configure() {
  local h=$1 d
  d=$(dir "$h")
  mkdir -p "$d/data"
  echo "$h" > "$d/data/myid"
  sed -e "s|^dataDir=.*|dataDir=$d/data|" \
      -e "s|^clientPort=.*|clientPort=$port\nclientPortAddress=$(addr "$h")|" \
      -e "s|^autopurge.purgeInterval=.*|autopurge.purgeInterval=1|" \
      etc/zookeeper.properties > "$d/zookeeper.properties"
  for s in "${hosts[@]}"; do
    echo "server.$s=$(addr "$s"):2888:3888" >> "$d/zookeeper.properties"
  done
}

brokers_registered() { # the number of brokers in a Metadata answer
  kcat -L -b "$bootstrap" -m 2 2>/dev/null | sed -n 's/^ \([0-9]*\) brokers:$/\1/p'
}

start_brokers() {
  local kafkad=$1 h
  for h in "${hosts[@]}"; do
    if krunning "$h"; then
      echo "kafkad host $h already running (pid $(cat "$(kpidfile "$h")"))"
      continue
    fi
    mkdir -p "$(kdir "$h")/data"
    "$kafkad" --override "log.dirs=$(kdir "$h")/data" etc/hosts/"$h"/server.properties \
      >> "$(kdir "$h")/kafkad.log" 2>&1 &
    echo $! > "$(kpidfile "$h")"
  done
  for _ in $(seq 1 300); do
    [ "$(brokers_registered)" = 3 ] && break
    for h in "${hosts[@]}"; do
      krunning "$h" || { echo "kafkad host $h exited; see $(kdir "$h")/kafkad.log"; tail -5 "$(kdir "$h")/kafkad.log"; exit 1; }
    done
    sleep 0.1
  done
  for h in "${hosts[@]}"; do
    echo "kafkad host $h (pid $(cat "$(kpidfile "$h")")) on $(addr "$h"):9092, logs in $(kdir "$h")/data"
  done
  echo
  echo "\$ kcat -L -b $bootstrap"
  kcat -L -b "$bootstrap"
  # A demo topic with one replica per partition (data is not copied between
  # brokers yet), spread over the three brokers; min.insync.replicas 1 since
  # the hosts' files ask for 2, which a single replica cannot satisfy.
  /usr/bin/python3 - "$bootstrap" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
demo = NewTopic("demo", 6, 1, config={"min.insync.replicas": "1"})
for f in a.create_topics([demo], request_timeout=15).values():
    try:
        f.result()
    except Exception as e:  # already there from an earlier run
        if "TOPIC_ALREADY_EXISTS" not in str(e):
            raise
PY
  echo
  echo "\$ for i in 1 2 3 4 5 6; do echo \"k\$i:message \$i\"; done | kcat -P -b $bootstrap -t demo -K:"
  for i in 1 2 3 4 5 6; do echo "k$i:message $i"; done | kcat -P -b "$bootstrap" -t demo -K:
  echo "\$ kcat -C -b $bootstrap -t demo -e -o beginning -q -f '%t[%p]@%o %k=%s\\n' | sort"
  kcat -C -b "$bootstrap" -t demo -e -o beginning -q -f '%t[%p]@%o %k=%s\n' | sort
}

start() {
  zkd=$1
  for h in "${hosts[@]}"; do
    if running "$h"; then
      echo "zkd host $h already running (pid $(cat "$(pidfile "$h")"))"
      continue
    fi
    configure "$h"
    "$zkd" "$(dir "$h")/zookeeper.properties" >> "$(dir "$h")/zkd.log" 2>&1 &
    echo $! > "$(pidfile "$h")"
  done
  # one leader and two followers, within 30 s
  for _ in $(seq 1 300); do
    modes=$(for h in "${hosts[@]}"; do mode "$h"; echo; done | sort | tr '\n' ' ')
    [ "$modes" = "follower follower leader " ] && break
    for h in "${hosts[@]}"; do
      running "$h" || { echo "zkd host $h exited; see $(dir "$h")/zkd.log"; tail -5 "$(dir "$h")/zkd.log"; exit 1; }
    done
    sleep 0.1
  done
  for h in "${hosts[@]}"; do
    echo "zkd host $h (pid $(cat "$(pidfile "$h")")) $(mode "$h") on $(addr "$h"):$port, data in $(dir "$h")/data"
  done
  for h in "${hosts[@]}"; do
    echo
    echo "\$ echo stat | nc $(addr "$h") $port"
    echo stat | nc -q 1 "$(addr "$h")" $port
  done
  echo
  node=/demo-$$
  show() { # host, command
    echo "\$ cli_mt -h $(addr "$1"):$port -c \"$2\""
    "$cli" -h "$(addr "$1"):$port" -c "$2" 2>&1 </dev/null |
      grep -vE '^(Batch mode|Watcher SESSION_EVENT|Got a new session id|Creating \[)' || true
  }
  show 1 "create $node"
  show 3 "get $node"
  show 2 "delete $node"
  show 3 "ls /"
  echo
  start_brokers "$2"
  echo
  echo "Stop them with: make stop"
}

case "${1:-}" in
  start) start "${2:?path to zkd}" "${3:?path to kafkad}" ;;
  stop) stop ;;
  *) echo "usage: $0 start ZKD KAFKAD | stop" >&2; exit 2 ;;
esac
