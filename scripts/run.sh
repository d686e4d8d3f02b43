#!/usr/bin/env bash
# `make run` / `make stop`: a local three-host zkd ensemble under ./run/.
#   scripts/run.sh start PATH_TO_ZKD
#   scripts/run.sh stop
# Host N is the loopback address 127.0.0.N with the standard ports (client
# 2181, quorum 2888, election 3888); its config, myid, data and log live in
# run/zkN/. Starts the three servers, waits until one leads and two follow,
# then shows `echo stat | nc` on each and a write on host 1 read back on
# host 3 with the ZooKeeper C client (cli_mt). The servers keep running;
# `make stop` stops them (by their PIDs).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
hosts=(1 2 3)
port=2181
cli=/usr/lib/zookeeper/bin/cli_mt

dir() { echo "$top/run/zk$1"; }
addr() { echo "127.0.0.$1"; }
pidfile() { echo "$(dir "$1")/zkd.pid"; }
running() { [ -f "$(pidfile "$1")" ] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }
mode() { printf srvr | nc -w 1 "$(addr "$1")" $port 2>/dev/null | sed -n 's/^Mode: //p'; }

stop() {
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
  echo "Stop them with: make stop"
}

case "${1:-}" in
  start) start "${2:?path to zkd}" ;;
  stop) stop ;;
  *) echo "usage: $0 start ZKD | stop" >&2; exit 2 ;;
esac
