#!/usr/bin/env bash
# bench/ensemble.sh -- a three-node zkd ensemble against a three-node Apache ZooKeeper
# 3.8 ensemble (Debian, QuorumPeerMain), same load, same addresses, one run.
#
# Run by bench/run.sh (`make bench`) after the standalone part, or directly with the
# same environment (ZKD_BIN, ZKLOAD_BIN, the BENCH_* knobs; `BENCH_ENSEMBLE=only make
# bench` does that). The load generator is zkload (raw wire protocol), whatever
# BENCH_CLIENT says: its sessions are spread round-robin over the three nodes
# (`-s n1,n2,n3`: session k on node k mod 3 + 1).
#
# The two ensembles run one after the other on the same addresses, 127.0.X.1-3 (X
# drawn at random among those with no TCP socket at all in /proc/net/tcp{,6}; never
# 127.0.0.x, which `make run` uses), node N on 127.0.X.N with client port 2181, quorum
# port 2888 and election port 3888. Per ensemble and round: write the three configs
# (tickTime=2000 initLimit=10 syncLimit=5 as in production, server.1-3 lines, each
# node its own fresh dataDir with myid, fsync on, the standalone part's other keys),
# spawn the three nodes at once, time spawn -> serving (one node's `srvr` says
# `Mode: leader` and both others' `Mode: follower`; polled every 5 ms, bounded by
# BENCH_START_TIMEOUT_MS), run the warm-up, then the measured load, reading each
# node's CPU time around it; check that the three nodes report the same zxid (bounded);
# read VmRSS/VmHWM of each node; stop the three by PID (TERM, KILL after a bound). With
# several rounds the two alternate who goes first and the table shows medians.
#
# Knobs: those of run.sh (BENCH_COUNT, _SESSIONS, _OUTSTANDING, _DATA, _WARMUP,
# _ROUNDS, _TIMEOUT, _START_TIMEOUT_MS, _PIN (all three nodes on cpu 0, the client on
# cpu 1), _TMPDIR, _KEEP, _ZK_JVMFLAGS (per node), _SELFTEST), except BENCH_CLIENT.
#
# Exit status: 0 when both ensembles produced numbers in every round (the targets are
# informational), 1 otherwise. Only signals processes this script started, by PID;
# binds nothing but 127.0.X.1-3. Shared helpers: bench/lib/bench.sh.

KB_NAME=ensemble.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib/bench.sh
. "$BENCH_DIR/lib/bench.sh"

kb_init raw

NODES=(1 2 3)
QUORUM_PORT=2888
ELECTION_PORT=3888
SYNC_WAIT_MS=10000    # bound for the three zxids to agree after the load
ZK_MAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain

kb_net_busy() {       # X -> true if some TCP socket has a local address in 127.0.X.0/24
    local hex t tables=()
    printf -v hex '%02X007F' "$1"
    for t in /proc/net/tcp /proc/net/tcp6; do [[ -r $t ]] && tables+=("$t"); done
    # tcp: "0100007F:0885"; tcp6 (IPv4-mapped): 24 hex digits, then the same 8
    awk -v h="$hex" 'FNR > 1 { a = $2; sub(/:.*/, "", a)
                               if (length(a) == 32) a = substr(a, 25)
                               if (substr(a, 3) == h) { found = 1; exit } }
                     END { exit !found }' "${tables[@]}"
}

NET=
for ((try = 0; try < 50; try++)); do
    x=$((RANDOM % 240 + 10))
    kb_net_busy "$x" || { NET=127.0.$x; break; }
done
[[ -n $NET ]] || kb_die "no free 127.0.X.0/24 found in 50 tries"
SERVERS=               # zkload's -s: "127.0.X.1:2181,127.0.X.2:2181,127.0.X.3:2181"
SERVER_LINES=()
for n in "${NODES[@]}"; do
    SERVERS+="${SERVERS:+,}$NET.$n:$PORT"
    SERVER_LINES+=("server.$n=$NET.$n:$QUORUM_PORT:$ELECTION_PORT")
done

kb_mode() {           # addr -> MODE = leader | follower | ... from srvr, '' if not serving
    MODE=
    kb_4lw "$1" srvr
    [[ $REPLY4 =~ Mode:\ ([a-z]+) ]] && MODE=${BASH_REMATCH[1]}
}

kb_zxids() {          # -> ZXIDS = the nodes' srvr Zxid, space-separated ('-' if none);
    local n z         #    true if they are all the same
    ZXIDS=
    for n in "${NODES[@]}"; do
        kb_4lw "$NET.$n" srvr
        z=-; [[ $REPLY4 =~ Zxid:\ (0x[0-9a-fA-F]+) ]] && z=${BASH_REMATCH[1]}
        ZXIDS+="${ZXIDS:+ }$z"
    done
    for z in $ZXIDS; do [[ $z != - && $z == "${ZXIDS%% *}" ]] || return 1; done
}

# slot round -> one ensemble through start, warm-up, the load, zxid check, RSS, stop.
# Returns 0 when the load produced numbers.
kb_run_slot() {
    local slot=$1 round=$2 kind=${KIND[$1]} dir="$WORK/$1.r$2"
    local n t0 t1 i deadline leader='' followers=() keys=() dirs=() pids=() start_ms
    local rss hwm max_rss=0 max_hwm=0 max_frss=0 bad=0
    for n in "${NODES[@]}"; do
        keys+=("$slot.$n") dirs+=("$dir/node$n")
        kb_write_cfg "$dir/node$n" "$NET.$n" "$kind" initLimit=10 syncLimit=5 "${SERVER_LINES[@]}"
        echo "$n" > "$dir/node$n/data/myid"
        kb_4lw "$NET.$n" ruok
        if [[ -n $REPLY4 ]]; then kb_fail "$slot" "something already answers on $NET.$n:$PORT"; return 1; fi
    done

    kb_log "$slot: round $round: starting 3 x $(kb_server_name "$kind") on $NET.1-3${SPIN[*]:+ (${SPIN[*]})}"
    t0=$EPOCHREALTIME
    for n in "${NODES[@]}"; do kb_spawn "$slot.$n" "$kind" "$dir/node$n" "$ZK_MAIN"; done

    # Poll every 5 ms, bounded by START_TIMEOUT_MS of wall time, until one leader and
    # two followers serve.
    deadline=$(( ${t0/./} / 1000 + START_TIMEOUT_MS ))
    for ((i = 0; i < START_TIMEOUT_MS / 5; i++)); do
        leader='' followers=()
        for n in "${NODES[@]}"; do
            kb_mode "$NET.$n"
            case $MODE in
                leader) [[ -z $leader ]] && leader=$n || leader=multiple ;;
                follower) followers+=("$n") ;;
            esac
        done
        [[ $leader == [0-9] && ${#followers[@]} == 2 ]] && break
        for n in "${NODES[@]}"; do
            kb_alive "$slot.$n" && continue
            kb_fail "$slot" "node $n exited during start-up" "${dirs[@]}"; kb_stop "${keys[@]}"; return 1
        done
        (( ${EPOCHREALTIME/./} / 1000 > deadline )) && break
        kb_sleep "$POLL_S"
    done
    t1=$EPOCHREALTIME
    if [[ $leader != [0-9] || ${#followers[@]} != 2 ]]; then
        kb_fail "$slot" "no leader and two followers after $START_TIMEOUT_MS ms (leader: ${leader:-none}, followers: ${followers[*]:-none})" "${dirs[@]}"
        kb_stop "${keys[@]}"
        return 1
    fi
    start_ms=$(( (${t1/./} - ${t0/./}) / 1000 ))
    kb_log "$slot: round $round: serving after $start_ms ms, leader node $leader"
    pids=("${PIDS[$slot.$leader]}")
    for n in "${followers[@]}"; do pids+=("${PIDS[$slot.$n]}"); done

    kb_warmup "$slot" "$dir" "$SERVERS" || { kb_stop "${keys[@]}"; return 1; }
    kb_load "$slot" "$round" raw "$dir" "$SERVERS" "${pids[@]}" || bad=1
    for n in "${NODES[@]}"; do
        kb_alive "$slot.$n" && continue
        kb_fail "$slot" "node $n died during the load" "${dirs[@]}"; kb_stop "${keys[@]}"; return 1
    done

    # The followers may still be applying the last commits: bounded wait for one zxid.
    deadline=$(( ${EPOCHREALTIME/./} / 1000 + SYNC_WAIT_MS ))
    until kb_zxids; do
        (( ${EPOCHREALTIME/./} / 1000 > deadline )) && break
        kb_sleep 0.05
    done
    if ! kb_zxids; then
        kb_log "$slot: round $round: WARNING: the nodes' zxids differ $((SYNC_WAIT_MS / 1000)) s after the load: $ZXIDS"
        R[$slot:zxid_note]+="r$round: $ZXIDS; "
    fi

    for n in "${NODES[@]}"; do
        rss=$(kb_status_kb "${PIDS[$slot.$n]}" VmRSS) hwm=$(kb_status_kb "${PIDS[$slot.$n]}" VmHWM)
        ((rss > max_rss)) && max_rss=$rss
        ((hwm > max_hwm)) && max_hwm=$hwm
        if ((n == leader)); then R[$slot:rss_lead_kb]+="$rss "; elif ((rss > max_frss)); then max_frss=$rss; fi
    done
    R[$slot:start_ms]+="$start_ms "
    R[$slot:rss_kb]+="$max_rss "
    R[$slot:hwm_kb]+="$max_hwm "
    R[$slot:rss_foll_kb]+="$max_frss "
    R[$slot:leaders]+="${R[$slot:leaders]:+, }r$round node $leader"
    kb_stop "${keys[@]}"
    return "$bad"
}

kb_rounds

# ---- report -------------------------------------------------------------------------
sess_per_node=        # session k on node k mod 3 + 1
for n in "${NODES[@]}"; do sess_per_node+="${sess_per_node:+/}$(( (SESSIONS - n + 3) / 3 ))"; done
echo
echo "== three-node ensembles: $A vs Apache ZooKeeper ${ZK_VERSION:-3.8} (QuorumPeerMain);" \
     "client zkload, sessions round-robin over the nodes"
kb_report_head "servers (3 nodes each)"
echo "   nodes $NET.1-3: client port $PORT, quorum $QUORUM_PORT, election $ELECTION_PORT;" \
     "tickTime=2000 initLimit=10 syncLimit=5; sessions per node 1/2/3: $sess_per_node"
for s in "${SLOTS[@]}"; do
    echo "   leader per round, $([[ $s == zk ]] && echo ZooKeeper || echo "$A"): ${R[$s:leaders]:--}"
    [[ -n ${R[$s:zxid_note]:-} ]] && echo "   WARNING $s: zxids differed after the load: ${R[$s:zxid_note]}"
done

echo
echo "-- ensemble, client zkload (sessions round-robin over the 3 nodes): targets marked"
kb_phase_rows raw 1
printf '%-30s %11s %11s %7s\n' "" "$A" ZooKeeper ratio
kb_row "load wall time, 5 phases (s)" raw:wall_s
kb_row "server CPU, 3 nodes (s)" raw:cpu_s
kb_row "server CPU per op, 3 nodes (us)" raw:cpu_us_op
kb_row "  leader CPU (s)" raw:cpu_s_1
kb_row "  follower CPU (s)" raw:cpu_s_2
kb_row "  other follower CPU (s)" raw:cpu_s_3
kb_row "zkload CPU during load (s)" raw:client_cpu_s
kb_row "zkload CPU per op (us)" raw:client_us_op

echo
echo "-- ensemble servers"
printf '%-30s %11s %11s %7s %-7s %s\n' "" "$A" ZooKeeper ratio target ""
kb_row "RSS/node after load, max (kB)" rss_kb "<=" 0.1
kb_row "  leader VmRSS (kB)" rss_lead_kb
kb_row "  follower VmRSS, max (kB)" rss_foll_kb
kb_row "peak RSS/node, max VmHWM (kB)" hwm_kb
kb_row "spawn to leader+2 serving (ms)" start_ms "<=" 0.05
echo
echo "ensemble targets met: $pass of $total ($A/ZooKeeper, 3 nodes each, zkload: ops/s >= 3," \
     "p99 <= 0.5; VmRSS per node <= 0.1, start <= 0.05; informational)"

if ((FAILED)); then
    echo "ensemble.sh: at least one run did not produce numbers" >&2
    exit 1
fi
exit 0
