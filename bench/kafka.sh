#!/usr/bin/env bash
# bench/kafka.sh -- the broker part of `make bench`: one kafkad on a zkd standalone,
# produce and consume loads, the loopback TCP bandwidth as the reference, memory and
# start time, with targets.
#
# Called by `make bench` after the ZooKeeper parts, with ZKD_BIN, KAFKAD_BIN, KPERF_BIN
# and TCPBW_BIN set (KPERF_BIN and TCPBW_BIN default to kperf/tcpbw next to ZKLOAD_BIN),
# or directly with the same variables. BENCH_KAFKA=0 skips it (exit 0).
#
# Per round: a fresh temp dir; zkd standalone on 127.X.Y.1:2181 (X, Y random in 100..250
# among the /24s in which no TCP socket has a local address; never 127.0.0.x, which
# `make run` uses), waited for with `ruok`; then kafkad on 127.X.Y.1:9092 (fresh
# log.dirs, num.partitions=1, every other key at its default: log.segment.bytes 1 GiB,
# socket buffers 100 KiB, no flush by message count), timed from spawn to the first
# Metadata answer listing a broker (`kperf probe`, started just before kafkad and
# retried every ms, bounded by BENCH_START_TIMEOUT_MS); VmRSS one second later (idle); topics created with
# CreateTopics (`kperf create-topic`, which waits for the leaders); then, one after
# the other, each bracketed by the broker's utime+stime (/proc/PID/stat):
#   1. kperf produce RECORDS x SIZE (1,000,000 x 100 B) to a 1-partition topic, kperf
#      consume of the same; the same with a 6-partition topic (--partitions-spread:
#      every request carries a batch for each partition); kcat (librdkafka) produce of
#      the same number of lines (batch.num.messages=10000, linger.ms=5, no compression)
#      and kcat consume (-C -e -o beginning, lines counted), on topics of their own:
#      the reference of a stock client, informational;
#   2. kperf produce/consume LARGE_RECORDS x LARGE_SIZE (100,000 x 10 KiB), 1 and 6
#      partitions;
#   3. tcpbw: LARGE_RECORDS x LARGE_SIZE bytes over one loopback TCP connection, in
#      1 MiB writes: large-record produce MB/s over this is the "share of loopback";
#   4. VmRSS and VmHWM of kafkad after the loads; stop kafkad, then zkd (TERM, KILL after
#      a bound), by PID.
#   5. replication (BENCH_KAFKA_REPL=1): a fresh zkd on 127.X.Y.1 and three kafkad, broker
#      id i on 127.X.Y.i:9092 (min.insync.replicas=2 and auto.create.topics.enable=false
#      as broker defaults, the rest as above), each waited for with `kperf probe`; two
#      1-partition topics created through whichever broker is the controller (CreateTopics
#      elsewhere answers NOT_CONTROLLER): repl-1 with replication factor 1 and repl-3 with
#      3; then kperf produce RECORDS x SIZE to repl-1 with acks=1, the same to repl-3 with
#      acks=-1 (every record on the ISR, at least 2 replicas, before its acknowledgement),
#      and kperf consume of repl-3; the three brokers' CPU summed around each; stop the
#      brokers, then zkd.
# kperf uses acks=1, 1 MiB of records per request, 8 requests in flight, one connection;
# every consume must read exactly what was produced. With several rounds the table shows
# per-figure medians.
#
# Targets: kperf produce of 100 B records to one partition >= 1.5M records/s; large-record
# produce (1 and 6 partitions) >= 0.5 x loopback TCP MB/s; VmRSS idle <= 30 MB (30720 kB);
# spawn to first Metadata <= 60 ms; replicated produce (RF 3, acks=-1) >= 0.6 x the RF 1
# acks=1 records/s of the same three-broker run (the ratio of each round, median).
# `kafka targets met: N of 6` (of 5 with BENCH_KAFKA_REPL=0).
#
# Knobs: BENCH_KAFKA_RECORDS (1000000), BENCH_KAFKA_SIZE (100), BENCH_KAFKA_LARGE_RECORDS
# (100000), BENCH_KAFKA_LARGE_SIZE (10240), BENCH_KAFKA_PARTITIONS (6: the multi-partition
# topics), BENCH_KAFKA_KCAT (1; 0: no kcat rows), BENCH_KAFKA_REPL (1; 0: no three-broker
# run), BENCH_KAFKA_PROPS (extra
# server.properties lines, space-separated key=value), KCAT (kcat binary, default from
# PATH), and the common BENCH_ROUNDS, BENCH_PIN (kafkad and zkd on cpu 0, clients on cpu
# 1), BENCH_TIMEOUT (per client run), BENCH_START_TIMEOUT_MS, BENCH_TMPDIR, BENCH_KEEP.
#
# Exit status: 0 when every round produced numbers (the targets are informational), 1
# otherwise (then the temp dir is kept and the logs' tails printed). Only signals
# processes it started, by PID; binds nothing but 127.X.Y.1..3. Shared helpers:
# bench/lib/bench.sh.

KB_NAME=kafka.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib/bench.sh
. "$BENCH_DIR/lib/bench.sh"

case ${BENCH_KAFKA:-1} in
    0) kb_log "BENCH_KAFKA=0: the broker part is skipped"; exit 0 ;;
    1 | only) ;;
    *) kb_die "BENCH_KAFKA must be 0, 1 or only (got '${BENCH_KAFKA}')" ;;
esac

RECORDS=${BENCH_KAFKA_RECORDS:-1000000}
SIZE=${BENCH_KAFKA_SIZE:-100}
LRECORDS=${BENCH_KAFKA_LARGE_RECORDS:-100000}
LSIZE=${BENCH_KAFKA_LARGE_SIZE:-10240}
NPARTS=${BENCH_KAFKA_PARTITIONS:-6}
USE_KCAT=${BENCH_KAFKA_KCAT:-1}
REPL=${BENCH_KAFKA_REPL:-1}
PROPS=${BENCH_KAFKA_PROPS:-}
KAFKA_PORT=9092
RSS_TARGET_KB=30720   # 30 MB
START_TARGET_MS=60
RATE_TARGET=1500000   # records/s, 100 B records, one partition
BW_TARGET=0.5         # large-record produce MB/s over loopback TCP MB/s
REPL_TARGET=0.6       # RF 3 acks=-1 records/s over RF 1 acks=1 records/s

for v in RECORDS SIZE LRECORDS LSIZE NPARTS ROUNDS TIMEOUT START_TIMEOUT_MS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || kb_die "the knob for $v must be a non-negative integer (got '${!v}')"
done
[[ $REPL == 0 || $REPL == 1 ]] || kb_die "BENCH_KAFKA_REPL must be 0 or 1 (got '$REPL')"
((RECORDS > 0 && LRECORDS > 0 && SIZE > 0 && LSIZE > 0 && NPARTS > 1 && ROUNDS > 0 && ROUNDS <= 20)) ||
    kb_die "BENCH_KAFKA_RECORDS, _SIZE, _LARGE_RECORDS, _LARGE_SIZE must be > 0, _PARTITIONS > 1, BENCH_ROUNDS in 1..20"
[[ -z ${KPERF_BIN:-} && -n ${ZKLOAD_BIN:-} ]] && KPERF_BIN=${ZKLOAD_BIN%/*}/kperf
[[ -z ${TCPBW_BIN:-} && -n ${KPERF_BIN:-} ]] && TCPBW_BIN=${KPERF_BIN%/*}/tcpbw
for v in ZKD_BIN KAFKAD_BIN KPERF_BIN TCPBW_BIN; do
    [[ -n ${!v:-} && -x ${!v} ]] || kb_die "$v is not set or not executable ('${!v:-}')"
done
KCAT=${KCAT:-$(command -v kcat || command -v kafkacat || true)}
if [[ $USE_KCAT == 1 && ! -x $KCAT ]]; then
    kb_log "kcat not found (apt-get install kcat): no kcat rows"
    USE_KCAT=0
fi

kb_pin_init
kb_workdir kafkabench

NET=
for ((try = 0; try < 50; try++)); do
    x=$((RANDOM % 151 + 100)) y=$((RANDOM % 151 + 100))
    kb_net24_busy "$x" "$y" || { NET=127.$x.$y; break; }
done
[[ -n $NET ]] || kb_die "no free 127.X.Y.0/24 found in 50 tries"
ADDR=$NET.1
BOOT=$ADDR:$KAFKA_PORT

# The loads: name, client, what, partitions, record size, records. The name is the key
# of the figures in R[] (R[kafkad:NAME:key]).
LOADS=(p1 c1 pN cN)
((USE_KCAT)) && LOADS+=(kp1 kc1 kpN kcN)
LOADS+=(lp1 lc1 lpN lcN)
declare -A L_LABEL=(
    [p1]="kperf produce $SIZE B" [c1]="kperf consume $SIZE B"
    [pN]="kperf produce $SIZE B" [cN]="kperf consume $SIZE B"
    [kp1]="kcat produce $SIZE B" [kc1]="kcat consume $SIZE B"
    [kpN]="kcat produce $SIZE B" [kcN]="kcat consume $SIZE B"
    [lp1]="kperf produce $LSIZE B" [lc1]="kperf consume $LSIZE B"
    [lpN]="kperf produce $LSIZE B" [lcN]="kperf consume $LSIZE B"
    [r1]="kperf RF1 acks=1 $SIZE B" [r3]="kperf RF3 acks=-1 $SIZE B"
    [rc3]="kperf consume RF3 $SIZE B")
declare -A L_TOPIC=([p1]=small-1 [c1]=small-1 [pN]=small-N [cN]=small-N
    [kp1]=kcat-1 [kc1]=kcat-1 [kpN]=kcat-N [kcN]=kcat-N
    [lp1]=large-1 [lc1]=large-1 [lpN]=large-N [lcN]=large-N
    [r1]=repl-1 [r3]=repl-3 [rc3]=repl-3)
TOPICS=(small-1 small-N large-1 large-N)
((USE_KCAT)) && TOPICS+=(kcat-1 kcat-N)

kb_parts() {          # load or topic -> its partition count
    [[ $1 == *1 ]] && echo 1 || echo "$NPARTS"
}

# dir [id host:port [line...]] -> dir/server.properties for kafkad (fresh log dir):
# broker.id (default 0), the listener (default $BOOT), the common keys, the extra lines,
# then BENCH_KAFKA_PROPS
kb_write_broker_cfg() {
    local dir=$1 id=${2:-0} hp=${3:-$BOOT} kv
    shift $(($# < 3 ? $# : 3))
    mkdir -p "$dir/logs"
    {
        cat <<EOF
broker.id=$id
listeners=PLAINTEXT://$hp
advertised.listeners=PLAINTEXT://$hp
log.dirs=$dir/logs
zookeeper.connect=$ADDR:$PORT
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
        (($#)) && printf '%s\n' "$@"
        for kv in $PROPS; do echo "$kv"; done
    } > "$dir/server.properties"
}

kb_brokers_ticks() {  # -> utime+stime of the brokers in KPIDS[], summed, in clock ticks
    local p t=0
    for p in "${KPIDS[@]}"; do t=$((t + $(kb_cpu_ticks "$p"))); done
    echo "$t"
}

# name dir cmd... -> one measured client run: the CPU of the brokers (KPIDS[]) around it,
# the client's wall and CPU time, its stdout in dir/name.out. Returns the client's exit
# status.
kb_kload() {
    local name=$1 dir=$2 b0 b1 hz
    shift 2
    kb_log "round $ROUND: ${L_LABEL[$name]:-$name}${L_TOPIC[$name]:+, topic ${L_TOPIC[$name]}}"
    b0=$(kb_brokers_ticks)
    kb_run_bg "$dir/$name.out" "$dir/$name.err" "$@"
    b1=$(kb_brokers_ticks)
    hz=$(getconf CLK_TCK)
    BCPU=$(awk -v t=$((b1 - b0)) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
    [[ -s $dir/$name.err ]] && sed "s/^/$name: /" "$dir/$name.err" >&2
    return "$RUN_RC"
}

kb_keep() {           # name key value -> appends value to R[kafkad:name:key]
    R[kafkad:$1:$2]+="$3 "
}

# name dir -> after a kperf run: its stats line into R[] (records/s, MB/s, p99,
# client CPU, broker CPU); false if the run failed or read the wrong count
kb_kperf_result() {
    local name=$1 dir=$2 want=$3 line
    line=$(grep -m1 '^stats ' "$dir/$name.out")
    kb_kv "$line"
    if [[ -z ${KV[records]:-} || ${KV[records]} != "$want" ]]; then
        kb_fail kafkad "$name: kperf exit $RUN_RC, records ${KV[records]:-none} (want $want)" "$dir/zk" "$dir/kafka"
        return 1
    fi
    kb_keep "$name" rps "${KV[records_per_sec]}"
    kb_keep "$name" mbps "${KV[mb_per_sec]}"
    [[ -n ${KV[p99_ms]:-} ]] && kb_keep "$name" p99 "${KV[p99_ms]}"
    kb_keep "$name" ccpu "$RUN_CPU_S"
    kb_keep "$name" bcpu "$BCPU"
    kb_keep "$name" bus "$(kb_calc 't * 1e6 / n' t="$BCPU" n="$want")"
    R[kafkad:raw]+="     r$ROUND $name: $line"$'\n'
    return 0
}

# name dir records size -> after a kcat run (figures from its wall time)
kb_kcat_result() {
    local name=$1 dir=$2 n=$3 size=$4 got=$5
    if ((RUN_RC != 0)) || [[ $got != "$n" ]] || grep -q -i 'fail\|error' "$dir/$name.err"; then
        kb_fail kafkad "$name: kcat exit $RUN_RC, $got of $n records" "$dir/zk" "$dir/kafka"
        return 1
    fi
    kb_keep "$name" rps "$(kb_calc 'n / s' n="$n" s="$RUN_S")"
    kb_keep "$name" mbps "$(kb_calc 'n * z / s / 1048576' n="$n" z="$size" s="$RUN_S")"
    kb_keep "$name" ccpu "$RUN_CPU_S"
    kb_keep "$name" bcpu "$BCPU"
    kb_keep "$name" bus "$(kb_calc 't * 1e6 / n' t="$BCPU" n="$n")"
    R[kafkad:raw]+="     r$ROUND $name: kcat $n records in $RUN_S s, kcat CPU $RUN_CPU_S s"$'\n'
    return 0
}

# dir -> zkd on $ADDR:$PORT (dir/zookeeper.properties), waited for with ruok (bounded by
# START_TIMEOUT_MS); false, with zkd stopped and the failure recorded, if it does not answer
kb_start_zkd() {
    local dir=$1 i
    kb_log "round $ROUND: starting $ZKD_BIN on $ADDR:$PORT${SPIN[*]:+ (${SPIN[*]})}"
    kb_spawn zkd zkd "$dir" -
    for ((i = 0; i < START_TIMEOUT_MS / 5; i++)); do
        kb_4lw "$ADDR" ruok
        [[ $REPLY4 == imok ]] && break
        kb_alive zkd || break
        kb_sleep "$POLL_S"
    done
    if [[ $REPLY4 != imok ]]; then
        kb_fail kafkad "zkd did not answer ruok within $START_TIMEOUT_MS ms" "$dir"
        kb_stop zkd
        return 1
    fi
}

# round -> one broker through start, the loads, RSS, stop. Returns 0 when every load
# produced numbers.
kb_run_round() {
    ROUND=$1
    local dir="$WORK/r$1" t0 at line t name parts n size bad=0 i lines spread
    kb_write_cfg "$dir/zk" "$ADDR" zkd
    mkdir -p "$dir/kafka"
    kb_write_broker_cfg "$dir/kafka"
    kb_4lw "$ADDR" ruok
    if [[ -n $REPLY4 ]] || (: <> "/dev/tcp/$ADDR/$KAFKA_PORT") 2> /dev/null; then
        kb_fail kafkad "something already answers on $ADDR:$PORT or :$KAFKA_PORT"
        return 1
    fi

    kb_start_zkd "$dir/zk" || return 1

    kb_log "round $ROUND: starting $KAFKAD_BIN on $BOOT"
    # The probe starts first (it retries a refused connection every ms), so the time
    # counts no process start-up of ours; it ends at the first Metadata answer.
    timeout -k 5 "$TIMEOUT" "${CPIN[@]}" "$KPERF_BIN" probe --bootstrap-server "$BOOT" \
        --timeout-ms "$START_TIMEOUT_MS" > "$dir/probe.out" 2> "$dir/probe.err" < /dev/null &
    ZB_PID=$!
    t0=$EPOCHREALTIME
    kb_spawn_cmd kafkad "$dir/kafka/stdout.log" "$KAFKAD_BIN" "$dir/kafka/server.properties"
    KPID=${PIDS[kafkad]}
    KPIDS=("$KPID")
    wait "$ZB_PID"
    ZB_PID=
    line=$(grep -m1 '^stats ' "$dir/probe.out")
    kb_kv "$line"
    at=${KV[at_us]:-}
    if [[ -z $at ]] || ! kb_alive kafkad; then
        cat "$dir/probe.err" >&2
        kb_fail kafkad "kafkad did not answer Metadata within $START_TIMEOUT_MS ms" "$dir/zk" "$dir/kafka"
        kb_stop kafkad
        kb_stop zkd
        return 1
    fi
    kb_keep start ms "$(kb_calc '(a - t) / 1000' a="$at" t="${t0/./}" | awk '{ printf "%.1f", $1 }')"
    kb_sleep 1
    kb_keep rss idle "$(kb_status_kb "$KPID" VmRSS)"
    R[kafkad:raw]+="     r$ROUND start: spawn to Metadata $(kb_last start ms) ms, VmRSS idle $(kb_last rss idle) kB; $line"$'\n'

    for t in "${TOPICS[@]}"; do
        parts=$(kb_parts "$t")
        kb_run_bg "$dir/create-$t.out" "$dir/create-$t.err" "$KPERF_BIN" create-topic \
            --bootstrap-server "$BOOT" --topic "$t" --partitions "$parts"
        if ((RUN_RC != 0)); then
            cat "$dir/create-$t.err" >&2
            kb_fail kafkad "creating topic $t failed" "$dir/zk" "$dir/kafka"
            kb_stop kafkad
            kb_stop zkd
            return 1
        fi
    done

    for name in "${LOADS[@]}"; do
        t=${L_TOPIC[$name]} parts=$(kb_parts "$name") spread=()
        ((parts > 1)) && spread=(--partitions-spread)
        n=$RECORDS size=$SIZE
        [[ $name == l* ]] && n=$LRECORDS size=$LSIZE
        case $name in
            p? | lp?)
                kb_kload "$name" "$dir" "$KPERF_BIN" produce --bootstrap-server "$BOOT" --topic "$t" \
                    --num-records "$n" --record-size "$size" --acks 1 "${spread[@]}"
                kb_kperf_result "$name" "$dir" "$n" || bad=1 ;;
            c? | lc?)
                kb_kload "$name" "$dir" "$KPERF_BIN" consume --bootstrap-server "$BOOT" --topic "$t" \
                    --messages "$n"
                kb_kperf_result "$name" "$dir" "$n" || bad=1 ;;
            kp?)
                [[ -s $WORK/lines ]] || yes "$(head -c "$SIZE" < /dev/zero | tr '\0' K)" | head -n "$n" > "$WORK/lines"
                kb_kload "$name" "$dir" "$KCAT" -P -b "$BOOT" -t "$t" -X batch.num.messages=10000 \
                    -X linger.ms=5 -z none -l "$WORK/lines"
                kb_kcat_result "$name" "$dir" "$n" "$size" "$n" || bad=1 ;;
            kc?)
                # shellcheck disable=SC2016  # expanded by the inner bash
                kb_kload "$name" "$dir" bash -o pipefail -c \
                    '"$0" -C -b "$1" -t "$2" -e -o beginning -q | wc -l' "$KCAT" "$BOOT" "$t"
                lines=$(tr -d ' \n' < "$dir/$name.out")
                kb_kcat_result "$name" "$dir" "$n" "$size" "${lines:-0}" || bad=1 ;;
        esac
        if ! kb_alive kafkad; then
            kb_fail kafkad "kafkad died during $name" "$dir/zk" "$dir/kafka"
            kb_stop kafkad
            kb_stop zkd
            return 1
        fi
    done

    kb_log "round $ROUND: loopback TCP, $((LRECORDS * LSIZE)) bytes"
    kb_run_bg "$dir/tcpbw.out" "$dir/tcpbw.err" "$TCPBW_BIN" -a "$ADDR" -b $((LRECORDS * LSIZE))
    line=$(grep -m1 '^stats ' "$dir/tcpbw.out")
    kb_kv "$line"
    if [[ -n ${KV[mb_per_sec]:-} ]]; then
        kb_keep tcp mbps "${KV[mb_per_sec]}"
        R[kafkad:raw]+="     r$ROUND tcpbw: $line"$'\n'
        for name in lp1 lpN; do
            [[ $bad == 0 ]] || continue
            kb_keep "$name" bw "$(kb_calc 'a / b' a="$(kb_last "$name" mbps)" b="${KV[mb_per_sec]}")"
        done
    else
        cat "$dir/tcpbw.err" >&2
        kb_fail kafkad "tcpbw failed (exit $RUN_RC)"
        bad=1
    fi

    kb_keep rss after "$(kb_status_kb "$KPID" VmRSS)"
    kb_keep rss hwm "$(kb_status_kb "$KPID" VmHWM)"
    R[kafkad:raw]+="     r$ROUND after the loads: VmRSS $(kb_last rss after) kB, VmHWM $(kb_last rss hwm) kB"$'\n'
    kb_stop kafkad
    kb_stop zkd
    return "$bad"
}

# topic rf dir -> a 1-partition topic with replication factor rf through CreateTopics,
# asked of broker 1, 2, 3 in turn until one accepts it (only the controller does; and
# until every broker registered, the controller refuses rf 3), bounded by
# START_TIMEOUT_MS. False (the last error on stderr) if none did.
kb_create_repl_topic() {
    local t=$1 rf=$2 dir=$3 i t0=${EPOCHREALTIME/./}
    while :; do
        for i in 1 2 3; do
            kb_run_bg "$dir/create-$t.out" "$dir/create-$t.err" "$KPERF_BIN" create-topic \
                --bootstrap-server "$NET.$i:$KAFKA_PORT" --topic "$t" --partitions 1 \
                --replication-factor "$rf" --timeout-ms 10000
            ((RUN_RC == 0)) && return 0
        done
        if (((${EPOCHREALTIME/./} - t0) / 1000 > START_TIMEOUT_MS)); then
            cat "$dir/create-$t.err" >&2
            return 1
        fi
        kb_sleep 0.1
    done
}

# round -> three brokers on a fresh zkd, a topic with replication factor 1 and one with 3,
# the produce of each (acks=1, acks=-1) and the consume of the second (see the top of this
# file). Returns 0 when every load produced numbers.
kb_run_repl() {
    ROUND=$1
    local dir="$WORK/r$1/repl" i boot="" name t bad=0 acks
    local keys=(kafkad1 kafkad2 kafkad3)
    kb_write_cfg "$dir/zk" "$ADDR" zkd
    kb_4lw "$ADDR" ruok
    if [[ -n $REPLY4 ]]; then
        kb_fail kafkad "something already answers on $ADDR:$PORT"
        return 1
    fi
    for i in 1 2 3; do
        kb_write_broker_cfg "$dir/kafka$i" "$i" "$NET.$i:$KAFKA_PORT" min.insync.replicas=2 \
            auto.create.topics.enable=false
        boot+=${boot:+,}$NET.$i:$KAFKA_PORT
        if (: <> "/dev/tcp/$NET.$i/$KAFKA_PORT") 2> /dev/null; then
            kb_fail kafkad "something already answers on $NET.$i:$KAFKA_PORT"
            return 1
        fi
    done
    kb_start_zkd "$dir/zk" || return 1
    kb_log "round $ROUND: starting three $KAFKAD_BIN on $NET.1..3:$KAFKA_PORT"
    KPIDS=()
    for i in 1 2 3; do
        kb_spawn_cmd "kafkad$i" "$dir/kafka$i/stdout.log" "$KAFKAD_BIN" "$dir/kafka$i/server.properties"
        KPIDS+=("${PIDS[kafkad$i]}")
    done
    for i in 1 2 3; do
        kb_run_bg "$dir/probe$i.out" "$dir/probe$i.err" "$KPERF_BIN" probe \
            --bootstrap-server "$NET.$i:$KAFKA_PORT" --timeout-ms "$START_TIMEOUT_MS"
        if ! grep -q '^stats ' "$dir/probe$i.out" || ! kb_alive "kafkad$i"; then
            cat "$dir/probe$i.err" >&2
            kb_fail kafkad "kafkad $i did not answer Metadata within $START_TIMEOUT_MS ms" \
                "$dir/zk" "$dir/kafka$i"
            bad=1
        fi
    done
    if ((bad == 0)); then
        for t in repl-1:1 repl-3:3; do
            kb_create_repl_topic "${t%:*}" "${t#*:}" "$dir" && continue
            kb_fail kafkad "creating topic ${t%:*} (replication factor ${t#*:}) failed" \
                "$dir/zk" "$dir/kafka1" "$dir/kafka2" "$dir/kafka3"
            bad=1
            break
        done
    fi
    for name in r1 r3 rc3; do
        ((bad == 0)) || break
        t=${L_TOPIC[$name]}
        case $name in
            r?)
                acks=1
                [[ $name == r3 ]] && acks=-1
                kb_kload "$name" "$dir" "$KPERF_BIN" produce --bootstrap-server "$boot" --topic "$t" \
                    --num-records "$RECORDS" --record-size "$SIZE" --acks "$acks" ;;
            rc3)
                kb_kload "$name" "$dir" "$KPERF_BIN" consume --bootstrap-server "$boot" --topic "$t" \
                    --messages "$RECORDS" ;;
        esac
        kb_kperf_result "$name" "$dir" "$RECORDS" || bad=1
        for i in 1 2 3; do
            kb_alive "kafkad$i" && continue
            kb_fail kafkad "kafkad $i died during $name" "$dir/zk" "$dir/kafka$i"
            bad=1
        done
    done
    if ((bad == 0)); then
        kb_keep r3 ratio "$(kb_calc 'a / b' a="$(kb_last r3 rps)" b="$(kb_last r1 rps)")"
        R[kafkad:raw]+="     r$ROUND replication: RF3 acks=-1 / RF1 acks=1 records/s $(kb_last r3 ratio)"$'\n'
    fi
    kb_stop "${keys[@]}"
    kb_stop zkd
    return "$bad"
}

kb_last() {           # name key -> the value this round appended to R[kafkad:name:key]
    local v=${R[kafkad:$1:$2]:-}
    v=${v% }
    echo "${v##* }"
}

for ((r = 1; r <= ROUNDS; r++)); do
    kb_run_round "$r"
    ((REPL)) && kb_run_repl "$r"
done
read -r LOAD1 _ < /proc/loadavg
T_END=$EPOCHREALTIME

# ---- report -------------------------------------------------------------------------
kb_kmed() { kb_med "kafkad:$1"; }

# label parts name [target-text op threshold] -> one load row; a target row marks
# PASS/MISS on its ratio: records/s over the threshold (p1), or the share of loopback
# TCP (lp1, lpN: the median of the rounds' MB/s over tcpbw MB/s)
kb_krow() {
    local label=$1 parts=$2 name=$3 ttext=${4:-} op=${5:-} thr=${6:-} ratio='' mark=''
    if [[ -n $ttext ]]; then
        case $name in
            p1) ratio=$(kb_calc 'a / b' a="$(kb_kmed p1:rps)" b="$thr") thr=1 ;;
            r3) ratio=$(kb_kmed r3:ratio) ;;
            *) ratio=$(kb_kmed "$name:bw") ;;
        esac
        mark=$(kb_mark "$ratio" "$op" "$thr")
        total=$((total + 1)); [[ $mark == PASS ]] && pass=$((pass + 1))
    fi
    printf '%-24s %5s %11s %9s %8s %8s %8s %8s  %-18s %6s %s\n' "$label" "$parts" \
        "$(kb_fmt %.0f "$(kb_kmed "$name:rps")")" "$(kb_fmt %.2f "$(kb_kmed "$name:mbps")")" \
        "$(kb_fmt %.1f "$(kb_kmed "$name:p99")")" "$(kb_fmt %.2f "$(kb_kmed "$name:bcpu")")" \
        "$(kb_fmt %.2f "$(kb_kmed "$name:bus")")" "$(kb_fmt %.2f "$(kb_kmed "$name:ccpu")")" \
        "$ttext" "$ratio" "$mark"
}

kb_fmt() {            # format value -> the value printf-formatted, '-' as is
    [[ $2 == - ]] && { echo -; return; }
    # shellcheck disable=SC2059  # the format is the argument
    printf "$1" "$2"
}

# label key target-kb-or-ms -> one broker row: value, target, value/target, mark
kb_brow() {
    local v r m='' t=${3:-}
    v=$(kb_kmed "$2")
    if [[ -n $t ]]; then
        r=$(kb_calc 'a / b' a="$v" b="$t")
        m=$(kb_mark "$r" "<=" 1)
        total=$((total + 1)); [[ $m == PASS ]] && pass=$((pass + 1))
    fi
    printf '%-32s %11s %11s %7s %s\n' "$1" "$v" "${t:+<= $t}" "${r:-}" "$m"
}

echo
echo "== kafkad: one broker on a zkd standalone, $BOOT; clients kperf (wire protocol," \
     "one thread)$( ((USE_KCAT)) && echo ", kcat (librdkafka, reference)"), tcpbw"
echo "   $RECORDS x $SIZE B and $LRECORDS x $LSIZE B records; kperf: acks=1, 1 MiB of records" \
     "per request, 8 in flight, $NPARTS-partition topics with --partitions-spread;" \
     "$ROUNDS round(s)$( ((ROUNDS > 1)) && echo ', medians shown')"
((REPL)) && echo "   then three kafkad on $NET.1..3:$KAFKA_PORT (one zkd): $RECORDS x $SIZE B to a" \
     "1-partition topic with replication factor 1 (acks=1), then to one with 3 (acks=-1," \
     "min.insync.replicas=2)"
echo "   $NCPU cores shared by the clients, kafkad and zkd$( ((${#SPIN[@]})) &&
     echo ", pinned: servers cpu 0, clients cpu 1"); log.dirs on $FS_TYPE;" \
     "load average $LOAD0 before, $LOAD1 after; run took $(( (${T_END/./} - ${T_START/./}) / 1000000 )) s"
awk -v l="$LOAD0" -v n="$NCPU" 'BEGIN { exit !(l > n / 2) }' &&
    echo "   WARNING: the machine was busy before the run; expect noisy figures"
[[ -n $PROPS ]] && echo "   extra server.properties: $PROPS"
[[ -n ${R[kafkad:fail]:-} ]] && echo "   FAILED in at least one round: ${R[kafkad:fail]}"
echo "   raw:"
printf '%s' "${R[kafkad:raw]:-}"

echo
echo "-- loads, one at a time: kafkad s / client s = CPU time during the load, us/rec = kafkad CPU per"
echo "   record; MB = 2^20 B of record values; kperf consume rates exclude its set-up, kcat's include it"
printf '%-24s %5s %11s %9s %8s %8s %8s %8s  %-18s %6s %s\n' load parts "records/s" "MB/s" "p99 ms" \
    "kafkad s" "us/rec" "client s" target ratio ""
kb_krow "${L_LABEL[p1]}" 1 p1 ">= 1.5M records/s" ">=" "$RATE_TARGET"
kb_krow "${L_LABEL[c1]}" 1 c1
kb_krow "${L_LABEL[pN]}" "$NPARTS" pN
kb_krow "${L_LABEL[cN]}" "$NPARTS" cN
if ((USE_KCAT)); then
    kb_krow "${L_LABEL[kp1]}" 1 kp1
    kb_krow "${L_LABEL[kc1]}" 1 kc1
    kb_krow "${L_LABEL[kpN]}" "$NPARTS" kpN
    kb_krow "${L_LABEL[kcN]}" "$NPARTS" kcN
fi
kb_krow "${L_LABEL[lp1]}" 1 lp1 ">= 0.5 x loopback" ">=" "$BW_TARGET"
kb_krow "${L_LABEL[lc1]}" 1 lc1
kb_krow "${L_LABEL[lpN]}" "$NPARTS" lpN ">= 0.5 x loopback" ">=" "$BW_TARGET"
kb_krow "${L_LABEL[lcN]}" "$NPARTS" lcN
printf '%-24s %5s %11s %9s\n' "loopback TCP (tcpbw)" 1 - "$(kb_fmt %.2f "$(kb_kmed tcp:mbps)")"
if ((REPL)); then
    echo "   three brokers (kafkad s: the three summed), min.insync.replicas=2, 1 partition:"
    kb_krow "${L_LABEL[r1]}" 1 r1
    kb_krow "${L_LABEL[r3]}" 1 r3 ">= 0.6 x RF1 rate" ">=" "$REPL_TARGET"
    kb_krow "${L_LABEL[rc3]}" 1 rc3
fi

echo
echo "-- kafkad"
printf '%-32s %11s %11s %7s %s\n' "" kafkad target ratio ""
kb_brow "VmRSS idle, 1 s after start (kB)" rss:idle "$RSS_TARGET_KB"
kb_brow "VmRSS after the loads (kB)" rss:after
kb_brow "peak RSS (VmHWM kB)" rss:hwm
kb_brow "spawn to first Metadata (ms)" start:ms "$START_TARGET_MS"
echo
echo "kafka targets met: $pass of $total (produce $SIZE B to 1 partition >= 1.5M records/s;" \
     "$LSIZE B records >= 0.5 x loopback TCP, 1 and $NPARTS partitions; VmRSS idle <= 30 MB;" \
     "start <= 60 ms$( ((REPL)) && echo "; RF3 acks=-1 >= 0.6 x RF1 acks=1 records/s"); informational)"

if ((FAILED)); then
    echo "kafka.sh: at least one run did not produce numbers" >&2
    exit 1
fi
exit 0
