#!/usr/bin/env bash
# bench/run.sh -- zkd against Apache ZooKeeper 3.8 (Debian), same load, same config.
#
# Called by `make bench` with ZKD_BIN, ZKLOAD_BIN and ZKBENCH_BIN set. Two load
# generators put the same load on the servers: zkload (ZKLOAD_BIN, "raw": speaks the
# wire protocol itself, one thread, 0.4-2 us of CPU per op; defaults to zkload next to
# ZKBENCH_BIN) and zkbench (ZKBENCH_BIN, libzookeeper_mt: 30-50 us of CPU per op, so on
# a small machine it is the bottleneck). For each server, one at a time: write a standalone config (fresh
# dataDir, fsync on, a loopback address of its own, port 2181), spawn it, time spawn ->
# serving (`ruok` answers `imok`, then `srvr` reports `Mode:`; polled every 5 ms,
# bounded), run a warm-up, then the measured load with each client in turn (raw
# first), reading the CPU time the server used during each load; read VmRSS/VmHWM
# after the loads, stop it by PID (TERM, then KILL after a bound). With several rounds
# the two servers alternate who goes first and the tables show per-metric medians.
# Then one comparison table per client; the targets are marked on the raw client's
# table (the one that measures the servers), the libzookeeper_mt table is
# informational.
#
# Env knobs:
#   BENCH_CLIENT=both       raw (zkload), zk (zkbench, libzookeeper_mt) or both
#   BENCH_PIN=0             1: server on cpu 0, clients on cpu 1 (taskset), so neither
#                           steals the other's core; needs 2+ cpus
#   BENCH_COUNT=100000      ops per phase          BENCH_SESSIONS=16    BENCH_OUTSTANDING=32
#   BENCH_DATA=100          znode data bytes       BENCH_WARMUP=20000   warm-up ops/phase (0: none)
#   BENCH_ROUNDS=1          rounds per server; the tables show medians
#   BENCH_TIMEOUT=240       bound in seconds for one client run
#   BENCH_TMPDIR=$TMPDIR    where the temp dataDirs go (a real disk, or fsync costs nothing)
#   BENCH_KEEP=1            keep the temp dir (configs, server logs, raw outputs)
#   BENCH_ZK_JVMFLAGS       JVM flags for ZooKeeper (default -Xmx1000m, as upstream zkEnv.sh)
#   BENCH_SELFTEST=1        run ZooKeeper in both slots (tests this pipeline without zkd)
#   BENCH_ENSEMBLE=1        then run bench/ensemble.sh (three-node ensembles, zkload);
#                           0: standalone only; only: the ensemble part only
#
# Exit status: 0 when every server that was run produced numbers in every round (the
# targets are informational), here and in the ensemble part, 1 otherwise. Without an
# executable ZKD_BIN only the reference runs. Only signals processes this script
# started, by PID; binds nothing but 127.77.0.1 and 127.77.0.2. The helpers shared
# with bench/ensemble.sh (knobs, process control, loads, medians, table rows) are in
# bench/lib/bench.sh.

KB_NAME=run.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib/bench.sh
. "$BENCH_DIR/lib/bench.sh"

ENSEMBLE=${BENCH_ENSEMBLE:-1}
case $ENSEMBLE in
    0 | 1) ;;
    only) exec bash "$BENCH_DIR/ensemble.sh" ;;
    *) kb_die "BENCH_ENSEMBLE must be 0, 1 or only (got '$ENSEMBLE')" ;;
esac
case $CLIENT in
    raw) CLIENTS=(raw) ;;
    zk) CLIENTS=(zk) ;;
    both) CLIENTS=(raw zk) ;;
    *) kb_die "BENCH_CLIENT must be raw, zk or both (got '$CLIENT')" ;;
esac
kb_init "${CLIENTS[@]}"   # PRIMARY: the client whose table carries the targets, raw when it runs

declare -A ADDR=([zkd]=127.77.0.1 [zk]=127.77.0.2)   # loopback only

# slot round -> one server through start, warm-up, the loads, RSS, stop. Returns 0
# when every load produced numbers; start time and RSS are kept if the server
# survived, each client's figures if that client's load succeeded.
kb_run_slot() {
    local slot=$1 round=$2 addr=${ADDR[$1]} kind=${KIND[$1]} dir="$WORK/$1.r$2"
    local pid t0 t1 i deadline ok_ruok=0 c bad=0 start_ms
    kb_write_cfg "$dir" "$addr" "$kind"

    kb_4lw "$addr" ruok
    if [[ -n $REPLY4 ]]; then kb_fail "$slot" "something already answers on $addr:$PORT" "$dir"; return 1; fi

    kb_log "$slot: round $round: starting $(kb_server_name "$kind") on $addr:$PORT${SPIN[*]:+ (${SPIN[*]})}"
    t0=$EPOCHREALTIME
    kb_spawn "$slot" "$kind" "$dir" org.apache.zookeeper.server.ZooKeeperServerMain
    pid=${PIDS[$slot]}

    # Poll every 5 ms, bounded by START_TIMEOUT_MS of wall time.
    deadline=$(( ${t0/./} / 1000 + START_TIMEOUT_MS ))
    for ((i = 0; i < START_TIMEOUT_MS / 5; i++)); do
        if ((ok_ruok == 0)); then
            kb_4lw "$addr" ruok
            [[ $REPLY4 == imok ]] && ok_ruok=1
        fi
        if ((ok_ruok)); then
            kb_4lw "$addr" srvr
            [[ $REPLY4 == *Mode:* ]] && break
        fi
        kb_alive "$slot" || { kb_fail "$slot" "server exited during start-up" "$dir"; kb_stop "$slot"; return 1; }
        (( ${EPOCHREALTIME/./} / 1000 > deadline )) && break
        kb_sleep "$POLL_S"
    done
    t1=$EPOCHREALTIME
    if [[ $REPLY4 != *Mode:* ]]; then
        kb_fail "$slot" "not serving after $START_TIMEOUT_MS ms (ruok answered: $ok_ruok)" "$dir"
        kb_stop "$slot"
        return 1
    fi
    start_ms=$(( (${t1/./} - ${t0/./}) / 1000 ))

    kb_warmup "$slot" "$dir" "$addr:$PORT" || { kb_stop "$slot"; return 1; }
    for c in "${CLIENTS[@]}"; do
        kb_load "$slot" "$round" "$c" "$dir" "$addr:$PORT" "$pid" || bad=1
        if ! kb_alive "$slot"; then
            kb_fail "$slot" "server died during the load with ${CNAME[$c]}" "$dir"; kb_stop "$slot"; return 1
        fi
    done
    R[$slot:start_ms]+="$start_ms "
    R[$slot:rss_kb]+="$(kb_status_kb "$pid" VmRSS) "
    R[$slot:hwm_kb]+="$(kb_status_kb "$pid" VmHWM) "
    kb_stop "$slot"
    return "$bad"
}

kb_rounds

# ---- report -------------------------------------------------------------------------
kb_table() {          # client -> its per-phase table and CPU rows; targets if primary
    local c=$1 tgt=0
    [[ $c == "$PRIMARY" ]] && tgt=1
    echo
    if [[ $c == raw ]]; then
        echo "-- client zkload (raw wire protocol, one thread, epoll): measures the servers$( ((tgt)) && echo '; targets marked')"
    else
        echo "-- client zkbench (libzookeeper_mt): INFORMATIONAL$( ((tgt)) || echo ', no targets'):" \
             "the client costs 30-45 us CPU/op and is the ceiling on a small machine"
        ((tgt)) && echo "   (BENCH_CLIENT=zk: targets marked here, but this table mostly measures the client)"
    fi
    kb_phase_rows "$c" "$tgt"
    printf '%-30s %11s %11s %7s\n' "" "$A" ZooKeeper ratio
    kb_row "load wall time, 5 phases (s)" "$c:wall_s"
    kb_row "server CPU during load (s)" "$c:cpu_s"
    kb_row "server CPU per op (us)" "$c:cpu_us_op"
    kb_row "${CNAME[$c]} CPU during load (s)" "$c:client_cpu_s"
    kb_row "${CNAME[$c]} CPU per op (us)" "$c:client_us_op"
}

echo
echo "== $A vs Apache ZooKeeper ${ZK_VERSION:-3.8}; clients: $(for c in "${CLIENTS[@]}"; do printf '%s ' "${CNAME[$c]}"; done)"
kb_report_head server
for c in "${CLIENTS[@]}"; do kb_table "$c"; done

echo
echo "-- servers"
printf '%-30s %11s %11s %7s %-7s %s\n' "" "$A" ZooKeeper ratio target ""
kb_row "RSS after loads (VmRSS kB)" rss_kb "<=" 0.1
kb_row "peak RSS (VmHWM kB)" hwm_kb
kb_row "spawn to serving (ms)" start_ms "<=" 0.05
echo
echo "targets met: $pass of $total ($A/ZooKeeper with ${CNAME[$PRIMARY]}: ops/s >= 3," \
     "p99 <= 0.5; VmRSS <= 0.1, start <= 0.05; informational)"

rc=0
if ((FAILED)); then
    echo "run.sh: at least one run did not produce numbers" >&2
    rc=1
fi
if ((ENSEMBLE)); then
    # The ensemble part, as a child waited for in the background: INT/TERM reach our
    # trap at once, which TERMs it (its own trap then stops its servers).
    bash "$BENCH_DIR/ensemble.sh" &
    ZB_PID=$!
    wait "$ZB_PID" || rc=1
    ZB_PID=
fi
exit "$rc"
