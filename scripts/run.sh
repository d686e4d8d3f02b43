#!/usr/bin/env bash
# `make run` / `make stop`: a local zkd on 127.0.0.1:2181 under ./run/.
#   scripts/run.sh start PATH_TO_ZKD
#   scripts/run.sh stop
# Starts zkd with run/zk1/zookeeper.properties, waits until it serves, then
# shows `echo stat | nc` and a client round trip with the ZooKeeper C client
# (cli_mt). The server keeps running; `make stop` stops it (by its PID).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
rundir=$top/run/zk1
pidfile=$rundir/zkd.pid
addr=127.0.0.1
port=2181

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

stop() {
  if running; then
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "zkd (pid $pid) stopped"
  else
    echo "zkd is not running"
  fi
  rm -f "$pidfile"
}

start() {
  zkd=$1
  mkdir -p "$rundir/data"
  if running; then
    echo "zkd already running (pid $(cat "$pidfile")); 'make stop' first to restart"
  else
    sed -e "s|^dataDir=.*|dataDir=$rundir/data|" \
        -e "s|^clientPort=.*|clientPort=$port\nclientPortAddress=$addr|" \
        -e "s|^autopurge.purgeInterval=.*|autopurge.purgeInterval=1|" \
        etc/zookeeper.properties > "$rundir/zookeeper.properties"
    "$zkd" "$rundir/zookeeper.properties" >> "$rundir/zkd.log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 200); do
      [ "$(printf ruok | nc -w 1 $addr $port 2>/dev/null || true)" = imok ] && break
      running || { echo "zkd exited; see $rundir/zkd.log"; tail -5 "$rundir/zkd.log"; exit 1; }
      sleep 0.05
    done
    echo "zkd (pid $(cat "$pidfile")) serving on $addr:$port, data in $rundir/data, log $rundir/zkd.log"
  fi
  echo
  echo "\$ echo stat | nc $addr $port"
  echo stat | nc -q 1 $addr $port
  echo
  node=/demo-$$
  for cmd in "create $node" "get $node" "ls /" "delete $node" "ls /"; do
    echo "\$ cli_mt -h $addr:$port -c \"$cmd\""
    /usr/lib/zookeeper/bin/cli_mt -h "$addr:$port" -c "$cmd" 2>&1 </dev/null |
      grep -vE '^(Batch mode|Watcher SESSION_EVENT|Got a new session id|Creating \[)' || true
  done
  echo
  echo "Stop it with: make stop"
}

case "${1:-}" in
  start) start "${2:?path to zkd}" ;;
  stop) stop ;;
  *) echo "usage: $0 start ZKD | stop" >&2; exit 2 ;;
esac
