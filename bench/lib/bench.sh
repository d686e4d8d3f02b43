# bench/lib/bench.sh -- the shell side shared by bench/run.sh (standalone servers),
# bench/ensemble.sh (three-node ensembles) and bench/kafka.sh (the broker). Sourced,
# never run: the caller sets KB_NAME (the prefix of its messages), sources this file,
# then calls kb_init (kafka.sh: kb_pin_init and kb_workdir).
#
# What is here: the BENCH_* knobs and their checks; java, ZooKeeper's classpath and
# zkd; the temp dir and the EXIT/INT/TERM traps; process control by PID (spawn a zkd or
# a ZooKeeper JVM, liveness, TERM-then-KILL stop of one or several processes); 4-letter
# words; one client run (bounded by BENCH_TIMEOUT) and one measured load (the client's
# phase lines, server CPU from /proc/PID/stat); medians over rounds, ratios, PASS/MISS
# marks, the per-phase table rows and the report header. For kafka.sh: a free
# 127.X.Y.0/24, spawning any server command by PID, one bounded client run with its
# wall and CPU time, key=value line parsing and arithmetic that passes '-' through.
#
# Results live in R[]: R[slot:key] / R[slot:client:key] / R[slot:client:phase:key] =
# "v1 v2 ..." (one value per good round); a slot is "zkd" or "zk" (the two columns).
# Processes live in PIDS[]/PSTART[] under a key of the caller's choosing (the slot for a
# standalone server, "slot.N" for ensemble node N).
# shellcheck shell=bash disable=SC2034  # the variables are used by the sourcing scripts

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

PORT=2181             # client port of every server
STOP_TIMEOUT_MS=10000
POLL_S=0.005
PHASES=(create setData getData exists delete)
JAVA_DIR=/usr/share/java
# zookeeper.jar's manifest Class-Path adds netty, metrics, snappy, jackson, jetty, commons;
# slf4j-log4j12 + log4j 1.2 are the logging binding (WARN and up, to a file).
ZK_JARS=(zookeeper.jar zookeeper-jute.jar slf4j-api.jar slf4j-log4j12.jar log4j-1.2.jar)

declare -A R          # results, see above
declare -A KIND=([zk]=zk)                           # slot -> server that runs in it
declare -A PIDS       # key -> pid of a server we started and have not stopped
declare -A PSTART     # key -> its start time (/proc stat field 22): bash reaps children
                      # by itself, so a bare PID could be reused by the time we signal it
ZB_PID=               # the child being waited for (a client under timeout), if any
declare -A CNAME=([raw]=zkload [zk]=zkbench)        # client -> program name
# ZKLOAD_BIN defaults to zkload next to ZKBENCH_BIN (the Makefile builds both there).
[[ -z ${ZKLOAD_BIN:-} && -n ${ZKBENCH_BIN:-} && -x ${ZKBENCH_BIN%/*}/zkload ]] &&
    ZKLOAD_BIN=${ZKBENCH_BIN%/*}/zkload
declare -A CBIN=([raw]=${ZKLOAD_BIN:-} [zk]=${ZKBENCH_BIN:-})
FAILED=0
SPIN=() CPIN=()

kb_die() { echo "$KB_NAME: $*" >&2; exit 1; }
kb_log() { echo "$KB_NAME: $*" >&2; }

# clients... -> checks the knobs, finds java, ZooKeeper's jars and zkd (SLOTS: the slots
# to run, KIND[zkd]), makes the temp dir, installs the traps. CLIENTS: the clients this
# script runs (each must be executable); PRIMARY, the first, carries the targets.
kb_init() {
    local v c j
    CLIENTS=("$@")
    PRIMARY=${CLIENTS[0]}
    for v in COUNT SESSIONS OUTSTANDING DATA WARMUP ROUNDS TIMEOUT START_TIMEOUT_MS; do
        [[ ${!v} =~ ^[0-9]+$ ]] || kb_die "BENCH_$v must be a non-negative integer (got '${!v}')"
    done
    ((COUNT > 0 && SESSIONS > 0 && OUTSTANDING > 0 && ROUNDS > 0 && ROUNDS <= 20)) ||
        kb_die "BENCH_COUNT, _SESSIONS, _OUTSTANDING must be > 0 and BENCH_ROUNDS in 1..20"
    for c in "${CLIENTS[@]}"; do
        [[ -n ${CBIN[$c]} && -x ${CBIN[$c]} ]] ||
            kb_die "$([[ $c == raw ]] && echo ZKLOAD_BIN || echo ZKBENCH_BIN) is not set or not executable ($KB_NAME runs ${CNAME[$c]}; BENCH_CLIENT=$CLIENT)"
    done
    kb_pin_init
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
    A=zkd; [[ $SELFTEST == 1 ]] && A="zkd*"

    kb_workdir zkbench
    [[ $FS_TYPE == tmpfs || $FS_TYPE == ramfs ]] &&
        kb_log "warning: $WORK is on $FS_TYPE: fsync costs nothing there, set BENCH_TMPDIR to a disk"
}

kb_pin_init() {       # -> SPIN/CPIN, the taskset prefixes of servers and clients (BENCH_PIN)
    case $PIN in
        0) ;;
        1) command -v taskset > /dev/null || kb_die "BENCH_PIN=1 needs taskset (util-linux)"
           (($(nproc) >= 2)) || kb_die "BENCH_PIN=1 needs at least 2 cpus"
           SPIN=(taskset -c 0) CPIN=(taskset -c 1) ;;
        *) kb_die "BENCH_PIN must be 0 or 1 (got '$PIN')" ;;
    esac
}

# name -> WORK (a fresh temp dir BENCH_TMPDIR/name.XXXXXX) and FS_TYPE (its file
# system), NCPU, LOAD0, T_START, SLEEP_FD; installs the EXIT/INT/TERM traps
kb_workdir() {
    WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/$1.XXXXXX") || kb_die "mktemp failed"
    FS_TYPE=$(df --output=fstype "$WORK" 2>/dev/null | tail -n 1)
    [[ -n $FS_TYPE ]] || FS_TYPE=$(stat -f -c %T "$WORK")
    NCPU=$(nproc)
    read -r LOAD0 _ < /proc/loadavg
    T_START=$EPOCHREALTIME
    # A descriptor nobody ever writes to: `read -t` on it sleeps without forking.
    exec {SLEEP_FD}<> <(:)
    trap kb_cleanup EXIT
    trap 'kb_log "interrupted"; exit 130' INT TERM
}

kb_sleep() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }

kb_pstat() {          # pid -> PSTAT=(fields after "comm)"): [0] state, [19] start time
    local st
    PSTAT=()
    read -r st 2>/dev/null < "/proc/$1/stat" || return 1
    read -r -a PSTAT <<< "${st##*) }"
}

kb_alive() {          # key -> true while the process we started under it runs
    local pid=${PIDS[$1]:-}
    [[ -n $pid ]] && kb_pstat "$pid" || return 1
    [[ ${PSTAT[0]} != Z && ${PSTAT[19]} == "${PSTART[$1]:-}" ]]
}

kb_stop() {           # key... -> TERM them all, wait up to STOP_TIMEOUT_MS, KILL, reap
    local k i left
    for k in "$@"; do
        kb_alive "$k" && kill -TERM "${PIDS[$k]}" 2>/dev/null
    done
    for ((i = 0; i < STOP_TIMEOUT_MS / 10; i++)); do
        left=0
        for k in "$@"; do kb_alive "$k" && left=1; done
        ((left)) || break
        kb_sleep 0.01
    done
    for k in "$@"; do
        [[ -n ${PIDS[$k]:-} ]] || continue
        if kb_alive "$k"; then
            kb_log "$k: pid ${PIDS[$k]} ignored TERM for $((STOP_TIMEOUT_MS / 1000)) s, sending KILL"
            kill -KILL "${PIDS[$k]}" 2>/dev/null
        fi
        wait "${PIDS[$k]}" 2>/dev/null
        unset "PIDS[$k]" "PSTART[$k]"
    done
}

# shellcheck disable=SC2317  # called from the EXIT trap
kb_cleanup() {
    if [[ -n $ZB_PID ]]; then kill -TERM "$ZB_PID" 2>/dev/null; wait "$ZB_PID" 2>/dev/null; fi
    ((${#PIDS[@]})) && kb_stop "${!PIDS[@]}"
    if [[ ${BENCH_KEEP:-0} == 1 || $FAILED == 1 ]]; then
        kb_log "configs, logs and raw outputs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}

# addr word -> REPLY4 = the server's whole answer ('' if none within 1 s)
kb_4lw() {
    REPLY4=
    { printf '%s' "$2" >&3 && read -r -t 1 -d '' REPLY4 <&3; } 2>/dev/null 3<>"/dev/tcp/$1/$PORT" || true
}

# dir addr kind [line...] -> dir/zookeeper.properties (the common keys, then the extra
# lines) and, for ZooKeeper, dir/log4j.properties (WARN and up to dir/server.log)
kb_write_cfg() {
    local dir=$1 addr=$2 kind=$3
    shift 3
    mkdir -p "$dir/data"
    {
        cat <<EOF
tickTime=2000
dataDir=$dir/data
clientPort=$PORT
clientPortAddress=$addr
maxClientCnxns=0
4lw.commands.whitelist=*
admin.enableServer=false
forceSync=yes
EOF
        (($#)) && printf '%s\n' "$@"
    } > "$dir/zookeeper.properties"
    [[ $kind == zk ]] || return 0
    cat > "$dir/log4j.properties" <<EOF
log4j.rootLogger=WARN, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$dir/server.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
EOF
}

# key kind dir main-class -> spawns zkd or ZooKeeper (java main-class) on
# dir/zookeeper.properties, output to dir/stdout.log; PIDS[key], PSTART[key]
kb_spawn() {
    local key=$1 kind=$2 dir=$3 main=$4 pid
    if [[ $kind == zk ]]; then
        # shellcheck disable=SC2086  # JVM flags are a word list
        "${SPIN[@]}" "$JAVA" $ZK_JVMFLAGS -cp "$ZK_CP" -Dlog4j.configuration="file:$dir/log4j.properties" \
            -Dzookeeper.jmx.log4j.disable=true "$main" "$dir/zookeeper.properties" \
            > "$dir/stdout.log" 2>&1 < /dev/null &
    else
        "${SPIN[@]}" "$ZKD_BIN" "$dir/zookeeper.properties" > "$dir/stdout.log" 2>&1 < /dev/null &
    fi
    pid=$!               # taskset execs the server: same PID
    PIDS[$key]=$pid
    kb_pstat "$pid" && PSTART[$key]=${PSTAT[19]}
}

kb_server_name() {    # kind -> what is started, for the log
    [[ $1 == zk ]] && echo "ZooKeeper $ZK_VERSION" || echo "$ZKD_BIN"
}

# client servers count root out err -> exit status of the client (zkload or zkbench,
# same options and output); servers is HOST:PORT or a comma list. Runs in the
# background and is waited for, so that INT/TERM reach the trap at once rather than
# after the load.
kb_client() {
    local rc
    timeout -k 5 "$TIMEOUT" "${CPIN[@]}" "${CBIN[$1]}" -s "$2" -n "$SESSIONS" \
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

kb_status_kb() {      # pid field -> the field of /proc/PID/status in kB (VmRSS, VmHWM)
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

kb_fail() {           # slot message dir... -> logs it, tails the servers' logs in dir...
    local slot=$1 msg=$2 d f
    shift 2
    kb_log "$slot: $msg"
    R[$slot:fail]=$msg
    for d in "$@"; do
        for f in "$d/stdout.log" "$d/server.log"; do
            [[ -s $f ]] && { echo "--- tail $f" >&2; tail -n 15 "$f" >&2; }
        done
    done
    FAILED=1
}

# slot dir servers -> the warm-up run with the primary client; 1 (after kb_fail) if it
# failed. It runs the server code the loads run, so ZooKeeper's JIT is warm for them.
kb_warmup() {
    local slot=$1 dir=$2 rc
    ((WARMUP > 0)) || return 0
    kb_client "$PRIMARY" "$3" "$WARMUP" /zkbench-warmup "$dir/warmup.out" "$dir/warmup.err"
    rc=$?
    ((rc == 0)) && return 0
    sed "s/^/$slot: warm-up: /" "$dir/warmup.err" >&2
    kb_fail "$slot" "warm-up run failed (${CNAME[$PRIMARY]} exit $rc)" "$dir"
    return 1
}

# slot round client dir servers pid... -> one measured load with one client; on success
# appends the client's figures to R[] and returns 0. The server CPU is the difference
# of utime+stime (/proc/PID/stat) around the client run, summed over the pids (cpu_s,
# cpu_us_op); with several pids each one's is also kept, as cpu_s_1, cpu_s_2, ... in
# the order given.
kb_load() {
    local slot=$1 round=$2 c=$3 dir=$4 servers=$5 rc line kv ph n=0 ccpu=0 wall=0 i t=0
    local out="$4/load-$3.out" err="$4/load-$3.err" hz nops
    local -a pids=("${@:6}") cpu0=() cpu1=()
    local -A V=()
    kb_log "$slot: round $round: load with ${CNAME[$c]}: $COUNT ops/phase, $SESSIONS sessions x $OUTSTANDING outstanding, $DATA B"
    for i in "${!pids[@]}"; do cpu0[i]=$(kb_cpu_ticks "${pids[i]}"); done
    kb_client "$c" "$servers" "$COUNT" "/zkbench-$c" "$out" "$err"
    rc=$?
    for i in "${!pids[@]}"; do cpu1[i]=$(kb_cpu_ticks "${pids[i]}"); done
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
        kb_fail "$slot" "${CNAME[$c]} exit $rc, $n of ${#PHASES[@]} phases reported" "$dir"
        return 1
    fi
    hz=$(getconf CLK_TCK) nops=$((COUNT * ${#PHASES[@]}))
    for i in "${!pids[@]}"; do
        t=$((t + cpu1[i] - cpu0[i]))
        ((${#pids[@]} > 1)) &&
            V[cpu_s_$((i + 1))]=$(awk -v t=$((cpu1[i] - cpu0[i])) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
    done
    V[cpu_s]=$(awk -v t="$t" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
    V[cpu_us_op]=$(awk -v t="$t" -v hz="$hz" -v n="$nops" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    V[client_cpu_s]=$ccpu
    V[client_us_op]=$(awk -v t="$ccpu" -v n="$nops" 'BEGIN { printf "%.2f", t * 1e6 / n }')
    V[wall_s]=$wall
    for kv in "${!V[@]}"; do R[$slot:$c:$kv]+="${V[$kv]} "; done
    R[$slot:$c:raw]+=$(sed -n "s/^phase=/     r$round phase=/p" "$out")$'\n'
    return 0
}

# slot... -> the rounds: kb_run_slot SLOT ROUND for each, alternating who goes first,
# so neither server always gets the cold machine. kb_run_slot is the caller's.
kb_rounds() {
    local round s order
    for ((round = 1; round <= ROUNDS; round++)); do
        order=("${SLOTS[@]}")
        ((round % 2 == 0 && ${#SLOTS[@]} == 2)) && order=(zk zkd)
        for s in "${order[@]}"; do kb_run_slot "$s" "$round"; done
    done
    read -r LOAD1 _ < /proc/loadavg
    T_END=$EPOCHREALTIME
}

# ---- report ---------------------------------------------------------------------------
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

pass=0 total=0        # targets met / marked, counted by kb_row and kb_phase_rows

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

kb_phase_rows() {     # client targeted(0/1) -> the column header and one row per phase
    local c=$1 tgt=$2 ph zo ko zp kp ro rp mo mp m
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
}

# who -> the report's lines after its title: the load, the machine, warnings, failures
# and the clients' raw lines; who names what shares the cores with the client
kb_report_head() {
    local c s
    echo "   $COUNT ops/phase, $SESSIONS sessions x $OUTSTANDING outstanding, $DATA B data," \
         "warm-up $WARMUP ops/phase, $ROUNDS round(s)$( ((ROUNDS > 1)) && echo ', medians shown')"
    echo "   $NCPU cores shared by client and $1$( ((${#SPIN[@]})) && echo ", pinned: ${1%% *} cpu 0, client cpu 1");" \
         "dataDir on $FS_TYPE, fsync on; load average $LOAD0 before, $LOAD1 after;" \
         "run took $(( (${T_END/./} - ${T_START/./}) / 1000000 )) s"
    awk -v l="$LOAD0" -v n="$NCPU" 'BEGIN { exit !(l > n / 2) }' &&
        echo "   WARNING: the machine was busy before the run; expect noisy figures"
    [[ $SELFTEST == 1 ]] && echo "   SELFTEST: the zkd slot ran Apache ZooKeeper, not zkd"
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
}

# ---- the broker part (bench/kafka.sh) ---------------------------------------------------
# kafka.sh calls kb_pin_init and kb_workdir instead of kb_init (no java, no ZooKeeper
# jars, no zkload), then uses the process control above and these.

declare -A KV         # the key=value pairs of the last line given to kb_kv

kb_net24_busy() {     # X Y -> true if some TCP socket has a local address in 127.X.Y.0/24
    local hex t tables=()
    # /proc/net/tcp prints 127.X.Y.Z as the little-endian word "ZZYYXX7F"
    printf -v hex '%02X%02X7F' "$2" "$1"
    for t in /proc/net/tcp /proc/net/tcp6; do [[ -r $t ]] && tables+=("$t"); done
    # tcp6 (IPv4-mapped): 24 hex digits, then the same 8
    awk -v h="$hex" 'FNR > 1 { a = $2; sub(/:.*/, "", a)
                               if (length(a) == 32) a = substr(a, 25)
                               if (substr(a, 3) == h) { found = 1; exit } }
                     END { exit !found }' "${tables[@]}"
}

# key log cmd... -> spawns cmd (a server: SPIN applies) in the background, stdout and
# stderr to log; PIDS[key], PSTART[key]
kb_spawn_cmd() {
    local key=$1 log=$2 pid
    shift 2
    "${SPIN[@]}" "$@" > "$log" 2>&1 < /dev/null &
    pid=$!               # taskset execs the command: same PID
    PIDS[$key]=$pid
    kb_pstat "$pid" && PSTART[$key]=${PSTAT[19]}
}

kb_children_cpu() {   # -> CCPU: user+sys seconds of every child this shell has reaped so far
    local self kids    # (`times` must run in this shell: a subshell's children are its own)
    times > "$WORK/.times"
    { read -r self; read -r kids; } < "$WORK/.times"
    CCPU=$(awk -v s="$kids" 'BEGIN { n = split(s, a, " "); t = 0
        for (i = 1; i <= n; i++) { m = a[i]; x = a[i]; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", x)
                                   sub(/s$/, "", x); t += m * 60 + x }
        printf "%.3f", t }')
}

# out err cmd... -> runs cmd (a client: CPIN applies) bounded by BENCH_TIMEOUT, in the
# background and waited for, so that INT/TERM reach the trap at once. RUN_RC: its exit
# status; RUN_S: its wall time in seconds; RUN_CPU_S: the CPU time of it and its
# children (user+sys, from `times` around the wait).
kb_run_bg() {
    local out=$1 err=$2 c0 t0 t1
    shift 2
    kb_children_cpu; c0=$CCPU
    t0=$EPOCHREALTIME
    timeout -k 5 "$TIMEOUT" "${CPIN[@]}" "$@" > "$out" 2> "$err" < /dev/null &
    ZB_PID=$!
    wait "$ZB_PID"
    RUN_RC=$?
    t1=$EPOCHREALTIME
    ZB_PID=
    kb_children_cpu
    RUN_S=$(awk -v a="${t0/./}" -v b="${t1/./}" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')
    RUN_CPU_S=$(awk -v a="$c0" -v b="$CCPU" 'BEGIN { printf "%.3f", b - a }')
    ((RUN_RC == 124 || RUN_RC == 137)) && echo "${3##*/}: killed after BENCH_TIMEOUT=$TIMEOUT s" >> "$err"
    return 0
}

kb_kv() {             # "k=v k=v ..." -> KV[k]=v for each pair (KV is emptied first)
    local kv
    KV=()
    for kv in $1; do [[ $kv == ?*=* ]] && KV[${kv%%=*}]=${kv#*=}; done
    return 0
}

kb_calc() {           # awk-expr [name=value...] -> the expression's value, %.3f; '-' if any value is '-'
    local e=$1 a
    shift
    local r
    for a in "$@"; do [[ ${a#*=} == - || -z ${a#*=} ]] && { echo -; return; }; done
    r=$(awk "${@/#/-v}" "BEGIN { printf \"%.3f\", $e }" 2>/dev/null)
    [[ $r == *inf* || $r == *nan* ]] && r=          # x/0: an error or inf, by awk
    echo "${r:--}"
}
