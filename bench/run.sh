#!/usr/bin/env bash
# bench/run.sh -- zkd against Apache ZooKeeper 3.8 (Debian), same load, same config.
#
# Called by `make bench` with ZKD_BIN and ZKBENCH_BIN set. For each server, one at a
# time: write a standalone config (fresh dataDir, fsync on, a loopback address of its
# own, port 2181), spawn it, time spawn -> serving (`ruok` answers `imok`, then `srvr`
# reports `Mode:`; polled every 5 ms, bounded), run a warm-up and then the measured
# zkbench load, read VmRSS/VmHWM and the CPU time the server used during the measured
# load, stop it by PID (TERM, then KILL after a bound). With several rounds the two
# servers alternate who goes first and the table shows per-metric medians. Then the
# comparison table with the targets.
#
# Env knobs:
#   BENCH_COUNT=100000      ops per phase          BENCH_SESSIONS=16    BENCH_OUTSTANDING=32
#   BENCH_DATA=100          znode data bytes       BENCH_WARMUP=20000   warm-up ops/phase (0: none)
#   BENCH_ROUNDS=1          rounds per server; the table shows medians
#   BENCH_TIMEOUT=240       bound in seconds for one zkbench run
#   BENCH_TMPDIR=$TMPDIR    where the temp dataDirs go (a real disk, or fsync costs nothing)
#   BENCH_KEEP=1            keep the temp dir (configs, server logs, raw outputs)
#   BENCH_ZK_JVMFLAGS       JVM flags for ZooKeeper (default -Xmx1000m, as upstream zkEnv.sh)
#   BENCH_SELFTEST=1        run ZooKeeper in both slots (tests this pipeline without zkd)
#
# Exit status: 0 when every server that was run produced numbers in every round (the
# targets are informational), 1 otherwise. Without an executable ZKD_BIN only the
# reference runs. Only signals processes this script started, by PID; binds nothing
# but 127.77.0.1 and 127.77.0.2.

set -u -o pipefail
export LC_ALL=C

COUNT=${BENCH_COUNT:-100000}
SESSIONS=${BENCH_SESSIONS:-16}
OUTSTANDING=${BENCH_OUTSTANDING:-32}
DATA=${BENCH_DATA:-100}
WARMUP=${BENCH_WARMUP:-20000}
ROUNDS=${BENCH_ROUNDS:-1}
TIMEOUT=${BENCH_TIMEOUT:-240}
START_TIMEOUT_MS=${BENCH_START_TIMEOUT_MS:-60000}
SELFTEST=${BENCH_SELFTEST:-0}
ZK_JVMFLAGS=${BENCH_ZK_JVMFLAGS:--Xmx1000m}

PORT=2181
declare -A ADDR=([zkd]=127.77.0.1 [zk]=127.77.0.2)   # loopback only
declare -A KIND=([zk]=zk)                           # slot -> server that runs in it
STOP_TIMEOUT_MS=10000
POLL_S=0.005
PHASES=(create setData getData exists delete)
JAVA_DIR=/usr/share/java
# zookeeper.jar's manifest Class-Path adds netty, metrics, snappy, jackson, jetty, commons;
# slf4j-log4j12 + log4j 1.2 are the logging binding (WARN and up, to a file).
ZK_JARS=(zookeeper.jar zookeeper-jute.jar slf4j-api.jar slf4j-log4j12.jar log4j-1.2.jar)

declare -A R          # R[slot:key] / R[slot:phase:key] = "v1 v2 ..." one value per good round
declare -A PIDS       # slot -> pid of a server we started and have not stopped
declare -A PSTART     # slot -> its start time (/proc stat field 22): bash reaps children
                      # by itself, so a bare PID could be reused by the time we signal it
ZB_PID=               # running zkbench (under timeout), if any
FAILED=0

kb_die() { echo "run.sh: $*" >&2; exit 1; }
kb_log() { echo "run.sh: $*" >&2; }

for v in COUNT SESSIONS OUTSTANDING DATA WARMUP ROUNDS TIMEOUT START_TIMEOUT_MS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || kb_die "BENCH_$v must be a non-negative integer (got '${!v}')"
done
((COUNT > 0 && SESSIONS > 0 && OUTSTANDING > 0 && ROUNDS > 0 && ROUNDS <= 20)) ||
    kb_die "BENCH_COUNT, _SESSIONS, _OUTSTANDING must be > 0 and BENCH_ROUNDS in 1..20"

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

SLOTS=(zk)
if [[ $SELFTEST == 1 ]]; then
    KIND[zkd]=zk
    SLOTS=(zkd zk)
elif [[ -n ${ZKD_BIN:-} && -x ${ZKD_BIN} ]]; then
    KIND[zkd]=zkd
    SLOTS=(zkd zk)
else
    kb_log "ZKD_BIN ('${ZKD_BIN:-}') is missing or not executable: running the reference only"
fi

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/zkbench.XXXXXX") || kb_die "mktemp failed"
FS_TYPE=$(df --output=fstype "$WORK" 2>/dev/null | tail -n 1)
[[ -n $FS_TYPE ]] || FS_TYPE=$(stat -f -c %T "$WORK")
[[ $FS_TYPE == tmpfs || $FS_TYPE == ramfs ]] &&
    kb_log "warning: $WORK is on $FS_TYPE: fsync costs nothing there, set BENCH_TMPDIR to a disk"
NCPU=$(nproc)
read -r LOAD0 _ < /proc/loadavg

# A descriptor nobody ever writes to: `read -t` on it sleeps without forking.
exec {SLEEP_FD}<> <(:)
kb_sleep() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }

kb_pstat() {          # pid -> PSTAT=(fields after "comm)"): [0] state, [19] start time
    local st
    PSTAT=()
    read -r st 2>/dev/null < "/proc/$1/stat" || return 1
    read -r -a PSTAT <<< "${st##*) }"
}

kb_alive() {          # slot -> true while the process we started for it runs
    local pid=${PIDS[$1]:-}
    [[ -n $pid ]] && kb_pstat "$pid" || return 1
    [[ ${PSTAT[0]} != Z && ${PSTAT[19]} == "${PSTART[$1]:-}" ]]
}

kb_stop() {           # slot -> TERM, wait up to STOP_TIMEOUT_MS, KILL, reap
    local slot=$1 pid=${PIDS[$1]:-} i
    [[ -n $pid ]] || return 0
    if kb_alive "$slot"; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < STOP_TIMEOUT_MS / 10; i++)); do
            kb_alive "$slot" || break
            kb_sleep 0.01
        done
        if kb_alive "$slot"; then
            kb_log "$slot: pid $pid ignored TERM for $((STOP_TIMEOUT_MS / 1000)) s, sending KILL"
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null
    unset "PIDS[$slot]" "PSTART[$slot]"
}

# shellcheck disable=SC2317  # called from the EXIT trap
kb_cleanup() {
    local s
    if [[ -n $ZB_PID ]]; then kill -TERM "$ZB_PID" 2>/dev/null; wait "$ZB_PID" 2>/dev/null; fi
    for s in "${!PIDS[@]}"; do kb_stop "$s"; done
    if [[ ${BENCH_KEEP:-0} == 1 || $FAILED == 1 ]]; then
        kb_log "configs, logs and raw outputs kept in $WORK"
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

kb_write_cfg() {      # dir addr kind -> dir/zookeeper.properties (+ log4j.properties for zk)
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
    [[ $3 == zk ]] || return 0
    cat > "$1/log4j.properties" <<EOF
log4j.rootLogger=WARN, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$1/server.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
EOF
}

# addr count root out err -> exit status of zkbench. Runs in the background and is
# waited for, so that INT/TERM reach the trap at once rather than after the load.
kb_zkbench() {
    local rc
    timeout -k 5 "$TIMEOUT" "$ZKBENCH_BIN" -s "$1:$PORT" -n "$SESSIONS" -o "$OUTSTANDING" \
        -c "$2" -d "$DATA" -r "$3" > "$4" 2> "$5" < /dev/null &
    ZB_PID=$!
    wait "$ZB_PID"
    rc=$?
    ZB_PID=
    ((rc == 124 || rc == 137)) && echo "zkbench: killed after BENCH_TIMEOUT=$TIMEOUT s" >> "$5"
    return "$rc"
}

kb_cpu_ticks() {      # pid -> utime+stime in clock ticks
    kb_pstat "$1" || { echo 0; return; }
    echo $((PSTAT[11] + PSTAT[12]))
}

kb_fail() {           # slot dir message
    local f
    kb_log "$1: $3"
    R[$1:fail]=$3
    for f in "$2/stdout.log" "$2/server.log"; do
        [[ -s $f ]] && { echo "--- tail $f" >&2; tail -n 15 "$f" >&2; }
    done
    FAILED=1
}

# slot round -> one server through start, warm-up, load, RSS, stop. On success
# appends this round's figures to R[] and returns 0.
kb_run_slot() {
    local slot=$1 round=$2 addr=${ADDR[$1]} kind=${KIND[$1]} dir="$WORK/$1.r$2"
    local pid t0 t1 i deadline ok_ruok=0 cpu0 cpu1 rc line kv ph n=0 ccpu=0
    local -A V=()
    kb_write_cfg "$dir" "$addr" "$kind"

    kb_4lw "$addr" ruok
    if [[ -n $REPLY4 ]]; then kb_fail "$slot" "$dir" "something already answers on $addr:$PORT"; return 1; fi

    kb_log "$slot: round $round: starting $([[ $kind == zk ]] && echo "ZooKeeper $ZK_VERSION" || echo "$ZKD_BIN") on $addr:$PORT"
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
    kb_pstat "$pid" && PSTART[$slot]=${PSTAT[19]}

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
        kb_alive "$slot" || { kb_fail "$slot" "$dir" "server exited during start-up"; kb_stop "$slot"; return 1; }
        (( ${EPOCHREALTIME/./} / 1000 > deadline )) && break
        kb_sleep "$POLL_S"
    done
    t1=$EPOCHREALTIME
    if [[ $REPLY4 != *Mode:* ]]; then
        kb_fail "$slot" "$dir" "not serving after $START_TIMEOUT_MS ms (ruok answered: $ok_ruok)"
        kb_stop "$slot"
        return 1
    fi
    V[start_ms]=$(( (${t1/./} - ${t0/./}) / 1000 ))

    if ((WARMUP > 0)); then
        kb_zkbench "$addr" "$WARMUP" /zkbench-warmup "$dir/warmup.out" "$dir/warmup.err"
        rc=$?
        if ((rc != 0)); then
            sed "s/^/$slot: warm-up: /" "$dir/warmup.err" >&2
            kb_fail "$slot" "$dir" "warm-up run failed (zkbench exit $rc)"; kb_stop "$slot"; return 1
        fi
    fi

    kb_log "$slot: round $round: load: $COUNT ops/phase, $SESSIONS sessions x $OUTSTANDING outstanding, $DATA B"
    cpu0=$(kb_cpu_ticks "$pid")
    kb_zkbench "$addr" "$COUNT" /zkbench "$dir/bench.out" "$dir/bench.err"
    rc=$?
    cpu1=$(kb_cpu_ticks "$pid")
    [[ -s $dir/bench.err ]] && sed "s/^/$slot: /" "$dir/bench.err" >&2
    if ! kb_alive "$slot"; then
        kb_fail "$slot" "$dir" "server died during the load"; kb_stop "$slot"; return 1
    fi
    V[rss_kb]=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    V[hwm_kb]=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    V[cpu_s]=$(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }')
    kb_stop "$slot"

    while read -r line; do
        [[ $line == phase=* ]] || continue
        ph=${line#phase=}; ph=${ph%% *}
        for kv in $line; do V[$ph:${kv%%=*}]=${kv#*=}; done
        ccpu=$(awk -v a="$ccpu" -v b="${V[$ph:client_cpu_s]:-0}" 'BEGIN { printf "%.2f", a + b }')
        n=$((n + 1))
    done < "$dir/bench.out"
    V[client_cpu_s]=$ccpu
    if ((rc != 0 || n != ${#PHASES[@]})); then
        kb_fail "$slot" "$dir" "zkbench exit $rc, $n of ${#PHASES[@]} phases reported"
        return 1
    fi
    for kv in "${!V[@]}"; do R[$slot:$kv]+="${V[$kv]} "; done
    R[$slot:raw]+=$(sed -n "s/^phase=/     r$round phase=/p" "$dir/bench.out")$'\n'
    return 0
}

# ---- run: alternate who goes first, so neither server always gets the cold machine ----
for ((round = 1; round <= ROUNDS; round++)); do
    order=("${SLOTS[@]}")
    ((round % 2 == 0 && ${#SLOTS[@]} == 2)) && order=(zk zkd)
    for s in "${order[@]}"; do kb_run_slot "$s" "$round"; done
done
read -r LOAD1 _ < /proc/loadavg

# ---- report -------------------------------------------------------------------------
kb_med() {            # key -> median of the good rounds' values, or '-'
    local v=${R[$1]:-}
    [[ -n $v ]] || { echo -; return; }
    awk -v s="$v" 'BEGIN {
        n = split(s, a, " ")
        for (i = 2; i <= n; i++) { x = a[i]; j = i - 1
            while (j > 0 && a[j] + 0 > x + 0) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
        if (n % 2) { print a[(n + 1) / 2]; exit }
        m = (a[n / 2] + a[n / 2 + 1]) / 2
        if (m == int(m)) print m; else if (m >= 100) printf "%.0f\n", m; else printf "%.2f\n", m }'
}
kb_ratio() {          # a b -> a/b, or '-'
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.3f", a / b }'
}
kb_mark() {           # ratio op target -> PASS, MISS or -
    awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (r == "-") { print "-"; exit }
        ok = (op == ">=") ? (r + 0 >= t + 0) : (r + 0 <= t + 0); print ok ? "PASS" : "MISS" }'
}

A=zkd; [[ $SELFTEST == 1 ]] && A="zkd*"
echo
echo "== zkbench: $A vs Apache ZooKeeper ${ZK_VERSION:-3.8}"
echo "   $COUNT ops/phase, $SESSIONS sessions x $OUTSTANDING outstanding, $DATA B data," \
     "warm-up $WARMUP ops/phase, $ROUNDS round(s)$( ((ROUNDS > 1)) && echo ', medians shown')"
echo "   $NCPU cores shared by client and server; dataDir on $FS_TYPE, fsync on;" \
     "load average $LOAD0 before, $LOAD1 after"
awk -v l="$LOAD0" -v n="$NCPU" 'BEGIN { exit !(l > n / 2) }' &&
    echo "   WARNING: the machine was busy before the run; expect noisy figures"
[[ $SELFTEST == 1 ]] && echo "   SELFTEST: the zkd slot ran Apache ZooKeeper (${ADDR[zkd]}), not zkd"
[[ ${SLOTS[0]} == zk ]] && echo "   zkd not run (ZKD_BIN missing or not executable): reference figures only"
for s in "${SLOTS[@]}"; do
    [[ -n ${R[$s:fail]:-} ]] && echo "   $s FAILED in at least one round: ${R[$s:fail]}"
done
for s in "${SLOTS[@]}"; do
    [[ -n ${R[$s:raw]:-} ]] || continue
    echo "   raw $([[ $s == zk ]] && echo ZooKeeper || echo "$A"):"
    printf '%s' "${R[$s:raw]}"
done
echo
printf '%-8s %11s %11s %7s %5s | %9s %9s %6s %5s | %9s %9s | %s\n' \
    phase "$A ops/s" "ZK ops/s" ratio ">=3x" "$A p99us" "ZK p99us" ratio "<=.5" \
    "$A p999" "ZK p999" "errors $A/ZK"
pass=0 total=0
for ph in "${PHASES[@]}"; do
    zo=$(kb_med "zkd:$ph:ops_per_sec") ko=$(kb_med "zk:$ph:ops_per_sec")
    zp=$(kb_med "zkd:$ph:p99_us") kp=$(kb_med "zk:$ph:p99_us")
    ro=$(kb_ratio "$zo" "$ko") rp=$(kb_ratio "$zp" "$kp")
    mo=$(kb_mark "$ro" ">=" 3) mp=$(kb_mark "$rp" "<=" 0.5)
    for m in "$mo" "$mp"; do total=$((total + 1)); [[ $m == PASS ]] && pass=$((pass + 1)); done
    printf '%-8s %11s %11s %7s %5s | %9s %9s %6s %5s | %9s %9s | %s/%s\n' \
        "$ph" "$zo" "$ko" "$ro" "$mo" "$zp" "$kp" "$rp" "$mp" \
        "$(kb_med "zkd:$ph:p999_us")" "$(kb_med "zk:$ph:p999_us")" \
        "$(kb_med "zkd:$ph:errors")" "$(kb_med "zk:$ph:errors")"
done
echo
printf '%-28s %11s %11s %7s %-7s %s\n' "" "$A" ZooKeeper ratio target ""
kb_row() {            # label key [op target]
    local z k r m="" t=""
    z=$(kb_med "zkd:$2") k=$(kb_med "zk:$2")
    r=$(kb_ratio "$z" "$k")
    if [[ -n ${3:-} ]]; then
        m=$(kb_mark "$r" "$3" "$4") t="$3$4"
        total=$((total + 1)); [[ $m == PASS ]] && pass=$((pass + 1))
    fi
    printf '%-28s %11s %11s %7s %-7s %s\n' "$1" "$z" "$k" "$r" "$t" "$m"
}
kb_row "RSS after load (VmRSS kB)" rss_kb "<=" 0.1
kb_row "peak RSS (VmHWM kB)" hwm_kb
kb_row "spawn to serving (ms)" start_ms "<=" 0.05
kb_row "server CPU during load (s)" cpu_s
kb_row "zkbench CPU during load (s)" client_cpu_s
echo
echo "targets met: $pass of $total ($A/ZooKeeper: ops/s >= 3, p99 <= 0.5, VmRSS <= 0.1," \
     "start <= 0.05; informational)"

if ((FAILED)); then
    echo "run.sh: at least one run did not produce numbers" >&2
    exit 1
fi
exit 0
