#!/usr/bin/env bash
# bench/run.sh -- zkd against Apache ZooKeeper 3.8 (Debian), same load, same config.
#
# Called by `make bench` with ZKD_BIN and ZKBENCH_BIN set. For each server, one after
# the other: write a standalone config (fresh dataDir, fsync on, loopback address of
# its own, port 2181), spawn it, time spawn -> serving (`ruok` answers `imok` and `srvr`
# reports `Mode:`, polled every 5 ms), run a warm-up then the measured zkbench load,
# read VmRSS/VmHWM and the CPU time the server used during the measured load, stop it
# by PID (TERM, then KILL after a bound). Then print the comparison table.
#
# Env knobs:
#   BENCH_COUNT=100000      ops per phase      BENCH_SESSIONS=16   BENCH_OUTSTANDING=32
#   BENCH_DATA=100          znode data bytes   BENCH_WARMUP=20000  warm-up ops per phase (0: none)
#   BENCH_TIMEOUT=240       seconds bound for one zkbench run
#   BENCH_TMPDIR=$TMPDIR    where the temp dataDirs go (must be a real disk for fsync to count)
#   BENCH_KEEP=1            keep the temp dir (configs, logs, raw outputs)
#   BENCH_ZK_JVMFLAGS       JVM flags for ZooKeeper (default -Xmx1000m, as upstream zkEnv.sh)
#   BENCH_SELFTEST=1        run ZooKeeper in both slots (tests this pipeline without zkd)
#
# Exit status: 0 when every server that was run produced numbers (targets are only
# informational), 1 otherwise. Without an executable ZKD_BIN only the reference runs.
# Never touches a process it did not start; never binds a non-loopback address.

set -u -o pipefail
export LC_ALL=C

COUNT=${BENCH_COUNT:-100000}
SESSIONS=${BENCH_SESSIONS:-16}
OUTSTANDING=${BENCH_OUTSTANDING:-32}
DATA=${BENCH_DATA:-100}
WARMUP=${BENCH_WARMUP:-20000}
RUN_TIMEOUT=${BENCH_TIMEOUT:-240}
SELFTEST=${BENCH_SELFTEST:-0}
ZK_JVMFLAGS=${BENCH_ZK_JVMFLAGS:--Xmx1000m}

PORT=2181
declare -A ADDR=([zkd]=127.77.0.1 [zk]=127.77.0.2)   # loopback only
declare -A KIND=([zk]=zk)                           # slot -> which server runs in it
START_TIMEOUT_MS=${BENCH_START_TIMEOUT_MS:-60000}
STOP_TIMEOUT_MS=10000
POLL_S=0.005
PHASES=(create setData getData exists delete)
JAVA_DIR=/usr/share/java
ZK_JARS=(zookeeper.jar zookeeper-jute.jar slf4j-api.jar slf4j-log4j12.jar log4j-1.2.jar)
# zookeeper.jar's manifest Class-Path brings netty, metrics, snappy, jackson, jetty.

declare -A R          # R[slot:phase:key] = value from zkbench; R[slot:key] for server figures
declare -A PIDS       # slot -> pid of a server we started and have not reaped
ZB_PID=               # running zkbench (under timeout), if any
FAILED=0

kb_die() { echo "run.sh: $*" >&2; exit 1; }
kb_log() { echo "run.sh: $*" >&2; }

for v in COUNT SESSIONS OUTSTANDING DATA WARMUP RUN_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || kb_die "BENCH_$v must be a non-negative integer (got '${!v}')"
done

[[ -n ${ZKBENCH_BIN:-} && -x ${ZKBENCH_BIN} ]] || kb_die "ZKBENCH_BIN is not set or not executable"
JAVA=$(command -v java) || kb_die "java not found (apt-get install default-jre-headless)"
ZK_CP=
for j in "${ZK_JARS[@]}"; do
    [[ -r $JAVA_DIR/$j ]] || kb_die "$JAVA_DIR/$j missing (apt-get install zookeeper)"
    ZK_CP+=${ZK_CP:+:}$JAVA_DIR/$j
done
# Debian ships zookeeper-<version>.jar as a symlink to zookeeper.jar.
ZK_VERSION=
for j in "$JAVA_DIR"/zookeeper-[0-9]*.jar; do
    [[ -e $j ]] && { ZK_VERSION=${j##*/zookeeper-}; ZK_VERSION=${ZK_VERSION%.jar}; }
done

HAVE_ZKD=1
if [[ $SELFTEST == 1 ]]; then
    KIND[zkd]=zk
elif [[ -n ${ZKD_BIN:-} && -x ${ZKD_BIN} ]]; then
    KIND[zkd]=zkd
else
    HAVE_ZKD=0
    kb_log "ZKD_BIN ('${ZKD_BIN:-}') is missing or not executable: running the reference only"
fi

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/zkbench.XXXXXX") || kb_die "mktemp failed"
FS_TYPE=$(df --output=fstype "$WORK" 2>/dev/null | tail -n 1)
[[ -n $FS_TYPE ]] || FS_TYPE=$(stat -f -c %T "$WORK")
[[ $FS_TYPE == tmpfs || $FS_TYPE == ramfs ]] &&
    kb_log "warning: $WORK is on $FS_TYPE: fsync costs nothing there, set BENCH_TMPDIR to a disk"

# A file descriptor nobody writes to: `read -t` on it sleeps without forking.
exec {SLEEP_FD}<> <(:)
kb_sleep() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }

kb_alive() {          # pid -> true while it runs (a zombie counts as gone)
    local st
    [[ -r /proc/$1/stat ]] || return 1
    read -r st < "/proc/$1/stat" 2>/dev/null || return 1
    st=${st##*) }
    [[ ${st:0:1} != Z ]]
}

kb_stop() {           # slot -> TERM, wait up to STOP_TIMEOUT_MS, KILL, reap
    local slot=$1 pid=${PIDS[$1]:-} i
    [[ -n $pid ]] || return 0
    if kb_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < STOP_TIMEOUT_MS / 10; i++)); do
            kb_alive "$pid" || break
            kb_sleep 0.01
        done
        if kb_alive "$pid"; then
            kb_log "$slot: pid $pid ignored TERM for $((STOP_TIMEOUT_MS / 1000)) s, sending KILL"
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null
    unset "PIDS[$slot]"
}

# shellcheck disable=SC2317  # called from the EXIT trap
kb_cleanup() {
    local s
    if [[ -n $ZB_PID ]]; then kill -TERM "$ZB_PID" 2>/dev/null; wait "$ZB_PID" 2>/dev/null; fi
    for s in "${!PIDS[@]}"; do kb_stop "$s"; done
    if [[ ${BENCH_KEEP:-0} == 1 || $FAILED == 1 ]]; then
        kb_log "logs and configs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap kb_cleanup EXIT
trap 'kb_log "interrupted"; exit 130' INT TERM

# addr word -> REPLY4 = the server's whole answer ('' if none within 1 s)
kb_4lw() {
    REPLY4=
    { printf '%s' "$2" >&3 && read -r -t 1 -d '' REPLY4 <&3; } 2>/dev/null 3<>"/dev/tcp/$1/$PORT" || true
}

kb_write_cfg() {      # dir addr -> dir/zookeeper.properties
    mkdir -p "$1/data"
    cat > "$1/zookeeper.properties" <<EOF
tickTime=2000
dataDir=$1/data
clientPort=$PORT
clientPortAddress=$2
maxClientCnxns=0
4lw.commands.whitelist=*
admin.enableServer=false
forceSync=yes
EOF
    cat > "$1/log4j.properties" <<EOF
log4j.rootLogger=WARN, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$1/server.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
EOF
}

# addr count root out err -> exit status of zkbench. Runs in the background and
# waits, so that INT/TERM reach the trap at once instead of after the load.
kb_zkbench() {
    local rc
    timeout -k 5 "$RUN_TIMEOUT" "$ZKBENCH_BIN" -s "$1:$PORT" -n "$SESSIONS" -o "$OUTSTANDING" \
        -c "$2" -d "$DATA" -r "$3" > "$4" 2> "$5" < /dev/null &
    ZB_PID=$!
    wait "$ZB_PID"
    rc=$?
    ZB_PID=
    ((rc == 124 || rc == 137)) && echo "zkbench: killed after BENCH_TIMEOUT=$RUN_TIMEOUT s" >> "$5"
    return "$rc"
}

kb_cpu_ticks() {      # pid -> utime+stime in clock ticks
    local st f
    read -r st < "/proc/$1/stat" 2>/dev/null || { echo 0; return; }
    st=${st##*) }
    read -r -a f <<< "$st"
    echo $((f[11] + f[12]))
}

kb_fail() {           # slot message
    kb_log "$1: $2"
    R[$1:fail]=$2
    local f
    for f in "$WORK/$1/stdout.log" "$WORK/$1/server.log"; do
        [[ -s $f ]] && { echo "--- tail $f" >&2; tail -n 15 "$f" >&2; }
    done
    FAILED=1
}

# slot -> runs one server through start, warm-up, load, RSS, stop. Fills R[].
kb_run_slot() {
    local slot=$1 addr kind dir pid t0 t1 i deadline ok_ruok=0 cpu0 cpu1 rc
    addr=${ADDR[$slot]}
    kind=${KIND[$slot]}
    dir=$WORK/$slot
    kb_write_cfg "$dir" "$addr"

    kb_4lw "$addr" ruok
    if [[ -n $REPLY4 ]]; then kb_fail "$slot" "something already answers on $addr:$PORT"; return 1; fi

    kb_log "$slot: starting $([[ $kind == zk ]] && echo "ZooKeeper $ZK_VERSION" || echo "$ZKD_BIN") on $addr:$PORT"
    t0=$EPOCHREALTIME
    if [[ $kind == zk ]]; then
        # shellcheck disable=SC2086  # JVM flags are a word list
        "$JAVA" $ZK_JVMFLAGS -cp "$ZK_CP" -Dlog4j.configuration="file:$dir/log4j.properties" \
            -Dzookeeper.jmx.log4j.disable=true \
            org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zookeeper.properties" \
            > "$dir/stdout.log" 2>&1 < /dev/null &
    else
        "$ZKD_BIN" "$dir/zookeeper.properties" > "$dir/stdout.log" 2>&1 < /dev/null &
    fi
    pid=$!
    PIDS[$slot]=$pid

    # Poll every 5 ms; bounded by START_TIMEOUT_MS of wall time.
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
        kb_alive "$pid" || { kb_fail "$slot" "server exited during start-up"; kb_stop "$slot"; return 1; }
        (( ${EPOCHREALTIME/./} / 1000 > deadline )) && break
        kb_sleep "$POLL_S"
    done
    t1=$EPOCHREALTIME
    if [[ $REPLY4 != *Mode:* ]]; then
        kb_fail "$slot" "not serving after $START_TIMEOUT_MS ms (ruok ok=$ok_ruok)"
        kb_stop "$slot"
        return 1
    fi
    R[$slot:start_ms]=$(( (${t1/./} - ${t0/./}) / 1000 ))

    if ((WARMUP > 0)); then
        kb_zkbench "$addr" "$WARMUP" /zkbench-warmup "$dir/warmup.out" "$dir/warmup.err"
        rc=$?
        if ((rc != 0)); then
            cat "$dir/warmup.err" >&2
            kb_fail "$slot" "warm-up run failed (exit $rc)"; kb_stop "$slot"; return 1
        fi
    fi

    cpu0=$(kb_cpu_ticks "$pid")
    kb_log "$slot: load: $COUNT ops/phase, $SESSIONS sessions x $OUTSTANDING outstanding, $DATA B"
    kb_zkbench "$addr" "$COUNT" /zkbench "$dir/bench.out" "$dir/bench.err"
    rc=$?
    cpu1=$(kb_cpu_ticks "$pid")
    [[ -s $dir/bench.err ]] && sed "s/^/$slot: /" "$dir/bench.err" >&2
    if ! kb_alive "$pid"; then
        kb_fail "$slot" "server died during the load"; kb_stop "$slot"; return 1
    fi
    R[$slot:rss_kb]=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    R[$slot:hwm_kb]=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    R[$slot:cpu_s]=$(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }')
    kb_stop "$slot"

    local line kv ph n=0 ccpu=0
    while read -r line; do
        [[ $line == phase=* ]] || continue
        ph=${line#phase=}; ph=${ph%% *}
        for kv in $line; do R[$slot:$ph:${kv%%=*}]=${kv#*=}; done
        ccpu=$(awk -v a="$ccpu" -v b="${R[$slot:$ph:client_cpu_s]:-0}" 'BEGIN { printf "%.1f", a + b }')
        n=$((n + 1))
    done < "$dir/bench.out"
    R[$slot:client_cpu_s]=$ccpu
    if ((rc != 0 || n != ${#PHASES[@]})); then
        kb_fail "$slot" "zkbench exit $rc, $n of ${#PHASES[@]} phases reported"
        return 1
    fi
    R[$slot:ok]=1
    return 0
}

# ---- run ---------------------------------------------------------------------------
((HAVE_ZKD)) && kb_run_slot zkd
kb_run_slot zk

# ---- report ------------------------------------------------------------------------
kb_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.3f", a / b }'; }
kb_mark() {           # ratio op target -> PASS/MISS/-
    awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (r == "-") { print "-"; exit }
        ok = (op == ">=") ? (r + 0 >= t + 0) : (r + 0 <= t + 0); print ok ? "PASS" : "MISS" }'
}
kb_get() { local v=${R[$1]:-}; echo "${v:--}"; }

A=zkd; [[ $SELFTEST == 1 ]] && A="zkd*"
echo
echo "== zkbench: $A vs Apache ZooKeeper ${ZK_VERSION:-3.8}"
echo "   $COUNT ops/phase, $SESSIONS sessions x $OUTSTANDING outstanding, ${DATA} B data, warm-up $WARMUP ops/phase;" \
     "$(nproc) cores; dataDir on $FS_TYPE, fsync on; client and server share the machine"
[[ $SELFTEST == 1 ]] && echo "   SELFTEST: the zkd slot ran Apache ZooKeeper (${ADDR[zkd]}), not zkd"
((HAVE_ZKD)) || echo "   zkd not run (ZKD_BIN missing or not executable): reference figures only"
for s in zkd zk; do
    [[ -n ${R[$s:fail]:-} ]] && echo "   $s FAILED, no numbers: ${R[$s:fail]}"
done
for s in zkd zk; do
    [[ -n ${R[$s:ok]:-} ]] || continue
    n=$s; [[ $s == zk ]] && n=ZooKeeper
    echo "   raw $n:"; sed -n 's/^phase=/     phase=/p' "$WORK/$s/bench.out"
done
echo
printf '%-8s %11s %11s %7s %5s | %9s %9s %6s %5s | %9s %9s | %s\n' \
    phase "$A ops/s" "ZK ops/s" ratio ">=3x" "$A p99us" "ZK p99us" ratio "<=.5" \
    "$A p999" "ZK p999" "errors $A/ZK"
pass=0 total=0
for ph in "${PHASES[@]}"; do
    zo=$(kb_get "zkd:$ph:ops_per_sec") ko=$(kb_get "zk:$ph:ops_per_sec")
    zp=$(kb_get "zkd:$ph:p99_us") kp=$(kb_get "zk:$ph:p99_us")
    ro=$(kb_ratio "${R[zkd:$ph:ops_per_sec]:-}" "${R[zk:$ph:ops_per_sec]:-}")
    rp=$(kb_ratio "${R[zkd:$ph:p99_us]:-}" "${R[zk:$ph:p99_us]:-}")
    mo=$(kb_mark "$ro" ">=" 3) mp=$(kb_mark "$rp" "<=" 0.5)
    for m in "$mo" "$mp"; do total=$((total + 1)); [[ $m == PASS ]] && pass=$((pass + 1)); done
    printf '%-8s %11s %11s %7s %5s | %9s %9s %6s %5s | %9s %9s | %s/%s\n' \
        "$ph" "$zo" "$ko" "$ro" "$mo" "$zp" "$kp" "$rp" "$mp" \
        "$(kb_get "zkd:$ph:p999_us")" "$(kb_get "zk:$ph:p999_us")" \
        "$(kb_get "zkd:$ph:errors")" "$(kb_get "zk:$ph:errors")"
done
echo
printf '%-28s %11s %11s %7s %-8s %s\n' "" "$A" ZooKeeper ratio target ""
kb_row() {            # label key target_op target_value
    local r m="" t=""
    r=$(kb_ratio "${R[zkd:$2]:-}" "${R[zk:$2]:-}")
    if [[ -n ${3:-} ]]; then
        m=$(kb_mark "$r" "$3" "$4"); t="$3$4"
        total=$((total + 1)); [[ $m == PASS ]] && pass=$((pass + 1))
    fi
    printf '%-28s %11s %11s %7s %-8s %s\n' "$1" "$(kb_get "zkd:$2")" "$(kb_get "zk:$2")" "$r" "$t" "$m"
}
kb_row "RSS after load (VmRSS kB)" rss_kb "<=" 0.1
kb_row "peak RSS (VmHWM kB)" hwm_kb
kb_row "spawn to serving (ms)" start_ms "<=" 0.05
kb_row "server CPU during load (s)" cpu_s
kb_row "zkbench CPU during load (s)" client_cpu_s
echo
echo "targets met: $pass of $total (zkd/ZooKeeper: ops >= 3x, p99 <= 1/2, RSS <= 1/10, start <= 1/20; informational)"

if ((FAILED)); then
    echo "run.sh: at least one server did not produce numbers" >&2
    exit 1
fi
exit 0
