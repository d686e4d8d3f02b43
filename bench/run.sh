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
CLIENT=${BENCH_CLIENT:-both}
PIN=${BENCH_PIN:-0}
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
ZB_PID=               # running client (under timeout), if any
declare -A CNAME=([raw]=zkload [zk]=zkbench)        # client -> program name
# ZKLOAD_BIN defaults to zkload next to ZKBENCH_BIN (the Makefile builds both there).
[[ -z ${ZKLOAD_BIN:-} && -n ${ZKBENCH_BIN:-} && -x ${ZKBENCH_BIN%/*}/zkload ]] &&
    ZKLOAD_BIN=${ZKBENCH_BIN%/*}/zkload
declare -A CBIN=([raw]=${ZKLOAD_BIN:-} [zk]=${ZKBENCH_BIN:-})
FAILED=0

kb_die() { echo "run.sh: $*" >&2; exit 1; }
kb_log() { echo "run.sh: $*" >&2; }

for v in COUNT SESSIONS OUTSTANDING DATA WARMUP ROUNDS TIMEOUT START_TIMEOUT_MS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || kb_die "BENCH_$v must be a non-negative integer (got '${!v}')"
done
((COUNT > 0 && SESSIONS > 0 && OUTSTANDING > 0 && ROUNDS > 0 && ROUNDS <= 20)) ||
    kb_die "BENCH_COUNT, _SESSIONS, _OUTSTANDING must be > 0 and BENCH_ROUNDS in 1..20"

case $CLIENT in
    raw) CLIENTS=(raw) ;;
    zk) CLIENTS=(zk) ;;
    both) CLIENTS=(raw zk) ;;
    *) kb_die "BENCH_CLIENT must be raw, zk or both (got '$CLIENT')" ;;
esac
for c in "${CLIENTS[@]}"; do
    [[ -n ${CBIN[$c]} && -x ${CBIN[$c]} ]] ||
        kb_die "$([[ $c == raw ]] && echo ZKLOAD_BIN || echo ZKBENCH_BIN) is not set or not executable (BENCH_CLIENT=$CLIENT)"
done
PRIMARY=${CLIENTS[0]}  # the client whose table carries the targets: raw when it runs
SPIN=() CPIN=()
case $PIN in
    0) ;;
    1) command -v taskset > /dev/null || kb_die "BENCH_PIN=1 needs taskset (util-linux)"
       (($(nproc) >= 2)) || kb_die "BENCH_PIN=1 needs at least 2 cpus"
       SPIN=(taskset -c 0) CPIN=(taskset -c 1) ;;
    *) kb_die "BENCH_PIN must be 0 or 1 (got '$PIN')" ;;
esac
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
T_START=$EPOCHREALTIME

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

# client addr count root out err -> exit status of the client (zkload or zkbench, same
# options and output). Runs in the background and is waited for, so that INT/TERM
# reach the trap at once rather than after the load.
kb_client() {
    local rc
    timeout -k 5 "$TIMEOUT" "${CPIN[@]}" "${CBIN[$1]}" -s "$2:$PORT" -n "$SESSIONS" \
        -o "$OUTSTANDING" -c "$3" -d "$DATA" -r "$4" > "$5" 2> "$6" < /dev/null &
    ZB_PID=$!
    wait "$ZB_PID"
    rc=$?
    ZB_PID=
    ((rc == 124 || rc == 137)) && echo "${CNAME[$1]}: killed after BENCH_TIMEOUT=$TIMEOUT s" >> "$6"
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

# slot round client pid dir -> one measured load with one client; on success appends
# the client's figures to R[] and returns 0. The server CPU is the difference of
# utime+stime (/proc/PID/stat) around the client run.
kb_load() {
    local slot=$1 round=$2 c=$3 pid=$4 dir=$5 cpu0 cpu1 rc line kv ph n=0 ccpu=0 wall=0
    local out="$5/load-$3.out" err="$5/load-$3.err" hz nops
    local -A V=()
    kb_log "$slot: round $round: load with ${CNAME[$c]}: $COUNT ops/phase, $SESSIONS sessions x $OUTSTANDING outstanding, $DATA B"
    cpu0=$(kb_cpu_ticks "$pid")
    kb_client "$c" "${ADDR[$slot]}" "$COUNT" "/zkbench-$c" "$out" "$err"
    rc=$?
    cpu1=$(kb_cpu_ticks "$pid")
    [[ -s $err ]] && sed "s/^/$slot: /" "$err" >&2
    while read -r line; do
        [[ $line == phase=* ]] || continue
        ph=${line#phase=}; ph=${ph%% *}
        for kv in $line; do V[$ph:${kv%%=*}]=${kv#*=}; done
        ccpu=$(awk -v a="$ccpu" -v b="${V[$ph:client_cpu_s]:-0}" 'BEGIN { printf "%.3f", a + b }')
        wall=$(awk -v a="$wall" -v b="${V[$ph:secs]:-0}" 'BEGIN { printf "%.3f", a + b }')
        n=$((n + 1))
    done < "$out"
    if ((rc != 0 || n != ${#PHASES[@]})); then
        kb_fail "$slot" "$dir" "${CNAME[$c]} exit $rc, $n of ${#PHASES[@]} phases reported"
        return 1
    fi
    hz=$(getconf CLK_TCK) nops=$((COUNT * ${#PHASES[@]}))
    V[cpu_s]=$(awk -v t=$((cpu1 - cpu0)) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
    V[cpu_us_op]=$(awk -v t=$((cpu1 - cpu0)) -v hz="$hz" -v n="$nops" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    V[client_cpu_s]=$ccpu
    V[client_us_op]=$(awk -v t="$ccpu" -v n="$nops" 'BEGIN { printf "%.2f", t * 1e6 / n }')
    V[wall_s]=$wall
    for kv in "${!V[@]}"; do R[$slot:$c:$kv]+="${V[$kv]} "; done
    R[$slot:$c:raw]+=$(sed -n "s/^phase=/     r$round phase=/p" "$out")$'\n'
    return 0
}

# slot round -> one server through start, warm-up, the loads, RSS, stop. Returns 0
# when every load produced numbers; start time and RSS are kept if the server
# survived, each client's figures if that client's load succeeded.
kb_run_slot() {
    local slot=$1 round=$2 addr=${ADDR[$1]} kind=${KIND[$1]} dir="$WORK/$1.r$2"
    local pid t0 t1 i deadline ok_ruok=0 rc c bad=0 start_ms
    kb_write_cfg "$dir" "$addr" "$kind"

    kb_4lw "$addr" ruok
    if [[ -n $REPLY4 ]]; then kb_fail "$slot" "$dir" "something already answers on $addr:$PORT"; return 1; fi

    kb_log "$slot: round $round: starting $([[ $kind == zk ]] && echo "ZooKeeper $ZK_VERSION" || echo "$ZKD_BIN") on $addr:$PORT${SPIN[*]:+ (${SPIN[*]})}"
    t0=$EPOCHREALTIME
    if [[ $kind == zk ]]; then
        # shellcheck disable=SC2086  # JVM flags are a word list
        "${SPIN[@]}" "$JAVA" $ZK_JVMFLAGS -cp "$ZK_CP" -Dlog4j.configuration="file:$dir/log4j.properties" \
            -Dzookeeper.jmx.log4j.disable=true \
            org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zookeeper.properties" \
            > "$dir/stdout.log" 2>&1 < /dev/null &
    else
        "${SPIN[@]}" "$ZKD_BIN" "$dir/zookeeper.properties" > "$dir/stdout.log" 2>&1 < /dev/null &
    fi
    pid=$!               # taskset execs the server: same PID
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
    start_ms=$(( (${t1/./} - ${t0/./}) / 1000 ))

    # One warm-up, with the first client: it runs the server code the loads run, so
    # ZooKeeper's JIT is warm for both.
    if ((WARMUP > 0)); then
        kb_client "$PRIMARY" "$addr" "$WARMUP" /zkbench-warmup "$dir/warmup.out" "$dir/warmup.err"
        rc=$?
        if ((rc != 0)); then
            sed "s/^/$slot: warm-up: /" "$dir/warmup.err" >&2
            kb_fail "$slot" "$dir" "warm-up run failed (${CNAME[$PRIMARY]} exit $rc)"; kb_stop "$slot"; return 1
        fi
    fi

    for c in "${CLIENTS[@]}"; do
        kb_load "$slot" "$round" "$c" "$pid" "$dir" || bad=1
        if ! kb_alive "$slot"; then
            kb_fail "$slot" "$dir" "server died during the load with ${CNAME[$c]}"; kb_stop "$slot"; return 1
        fi
    done
    R[$slot:start_ms]+="$start_ms "
    R[$slot:rss_kb]+="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status") "
    R[$slot:hwm_kb]+="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status") "
    kb_stop "$slot"
    return "$bad"
}

# ---- run: alternate who goes first, so neither server always gets the cold machine ----
for ((round = 1; round <= ROUNDS; round++)); do
    order=("${SLOTS[@]}")
    ((round % 2 == 0 && ${#SLOTS[@]} == 2)) && order=(zk zkd)
    for s in "${order[@]}"; do kb_run_slot "$s" "$round"; done
done
read -r LOAD1 _ < /proc/loadavg
T_END=$EPOCHREALTIME

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
pass=0 total=0

kb_row() {            # label key [op target]: one row of zkd vs ZooKeeper
    local z k r m="" t=""
    z=$(kb_med "zkd:$2") k=$(kb_med "zk:$2")
    r=$(kb_ratio "$z" "$k")
    if [[ -n ${3:-} ]]; then
        m=$(kb_mark "$r" "$3" "$4") t="$3$4"
        total=$((total + 1)); [[ $m == PASS ]] && pass=$((pass + 1))
    fi
    printf '%-30s %11s %11s %7s %-7s %s\n' "$1" "$z" "$k" "$r" "$t" "$m"
}

kb_table() {          # client -> its per-phase table and CPU rows; targets if primary
    local c=$1 ph zo ko zp kp ro rp mo mp m s
    local tgt=0; [[ $c == "$PRIMARY" ]] && tgt=1
    echo
    if [[ $c == raw ]]; then
        echo "-- client zkload (raw wire protocol, one thread, epoll): measures the servers$( ((tgt)) && echo '; targets marked')"
    else
        echo "-- client zkbench (libzookeeper_mt): INFORMATIONAL$( ((tgt)) || echo ', no targets'):" \
             "the client costs 30-45 us CPU/op and is the ceiling on a small machine"
        ((tgt)) && echo "   (BENCH_CLIENT=zk: targets marked here, but this table mostly measures the client)"
    fi
    printf '%-8s %11s %11s %7s %5s | %9s %9s %6s %5s | %9s %9s | %s\n' \
        phase "$A ops/s" "ZK ops/s" ratio ">=3x" "$A p99us" "ZK p99us" ratio "<=.5" \
        "$A p999" "ZK p999" "errors $A/ZK"
    for ph in "${PHASES[@]}"; do
        zo=$(kb_med "zkd:$c:$ph:ops_per_sec") ko=$(kb_med "zk:$c:$ph:ops_per_sec")
        zp=$(kb_med "zkd:$c:$ph:p99_us") kp=$(kb_med "zk:$c:$ph:p99_us")
        ro=$(kb_ratio "$zo" "$ko") rp=$(kb_ratio "$zp" "$kp")
        mo=- mp=-
        if ((tgt)); then
            mo=$(kb_mark "$ro" ">=" 3) mp=$(kb_mark "$rp" "<=" 0.5)
            for m in "$mo" "$mp"; do total=$((total + 1)); [[ $m == PASS ]] && pass=$((pass + 1)); done
        fi
        printf '%-8s %11s %11s %7s %5s | %9s %9s %6s %5s | %9s %9s | %s/%s\n' \
            "$ph" "$zo" "$ko" "$ro" "$mo" "$zp" "$kp" "$rp" "$mp" \
            "$(kb_med "zkd:$c:$ph:p999_us")" "$(kb_med "zk:$c:$ph:p999_us")" \
            "$(kb_med "zkd:$c:$ph:errors")" "$(kb_med "zk:$c:$ph:errors")"
    done
    printf '%-30s %11s %11s %7s\n' "" "$A" ZooKeeper ratio
    kb_row "load wall time, 5 phases (s)" "$c:wall_s"
    kb_row "server CPU during load (s)" "$c:cpu_s"
    kb_row "server CPU per op (us)" "$c:cpu_us_op"
    kb_row "${CNAME[$c]} CPU during load (s)" "$c:client_cpu_s"
    kb_row "${CNAME[$c]} CPU per op (us)" "$c:client_us_op"
}

echo
echo "== $A vs Apache ZooKeeper ${ZK_VERSION:-3.8}; clients: $(for c in "${CLIENTS[@]}"; do printf '%s ' "${CNAME[$c]}"; done)"
echo "   $COUNT ops/phase, $SESSIONS sessions x $OUTSTANDING outstanding, $DATA B data," \
     "warm-up $WARMUP ops/phase, $ROUNDS round(s)$( ((ROUNDS > 1)) && echo ', medians shown')"
echo "   $NCPU cores shared by client and server$( ((${#SPIN[@]})) && echo ', pinned: server cpu 0, client cpu 1');" \
     "dataDir on $FS_TYPE, fsync on; load average $LOAD0 before, $LOAD1 after;" \
     "run took $(( (${T_END/./} - ${T_START/./}) / 1000000 )) s"
awk -v l="$LOAD0" -v n="$NCPU" 'BEGIN { exit !(l > n / 2) }' &&
    echo "   WARNING: the machine was busy before the run; expect noisy figures"
[[ $SELFTEST == 1 ]] && echo "   SELFTEST: the zkd slot ran Apache ZooKeeper (${ADDR[zkd]}), not zkd"
[[ ${SLOTS[0]} == zk ]] && echo "   zkd not run (ZKD_BIN missing or not executable): reference figures only"
for s in "${SLOTS[@]}"; do
    [[ -n ${R[$s:fail]:-} ]] && echo "   $s FAILED in at least one round: ${R[$s:fail]}"
done
for c in "${CLIENTS[@]}"; do
    for s in "${SLOTS[@]}"; do
        [[ -n ${R[$s:$c:raw]:-} ]] || continue
        echo "   raw ${CNAME[$c]} on $([[ $s == zk ]] && echo ZooKeeper || echo "$A"):"
        printf '%s' "${R[$s:$c:raw]}"
    done
done

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

if ((FAILED)); then
    echo "run.sh: at least one run did not produce numbers" >&2
    exit 1
fi
exit 0
