#!/usr/bin/env bash
# bench/run.sh - throughput benchmark: wirebeat (1 and 2 workers) against tshark -T ek.
#
#   bench/run.sh                          # 2,000,000 packets -> /tmp/bench.pcap
#   BENCH_PACKETS=200000 bench/run.sh     # quick run (-> /tmp/bench-200000.pcap)
#
# Environment:
#   BENCH_PACKETS  packets in the benchmark capture (default 2000000)
#   BENCH_PCAP     capture path (default /tmp/bench.pcap for 2000000 packets,
#                  /tmp/bench-N.pcap otherwise); reused when its marker FILE.meta matches
#   BENCH_RUNS     timed runs per measurement, best one kept (default 2)
#   BENCH_TSHARK_PACKETS  packets of the capture given to tshark (default 100000)
#   BENCH_VERIFY=1 re-hash a reused capture against the sha256 in its marker
#
# Prints a Markdown table on stdout (progress on stderr).  Fails if wirebeat does not
# report every packet of the capture as read.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
maker="$repo/../shared/corpus/make-bench-pcap"

packets="${BENCH_PACKETS:-2000000}"
runs="${BENCH_RUNS:-2}"
tshark_n="${BENCH_TSHARK_PACKETS:-100000}"
if [[ -n "${BENCH_PCAP:-}" ]]; then
    pcap="$BENCH_PCAP"
elif [[ "$packets" == 2000000 ]]; then
    pcap=/tmp/bench.pcap
else
    pcap="/tmp/bench-$packets.pcap"
fi
meta="$pcap.meta"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] FAIL: %s\n' "$*" >&2; exit 1; }

[[ "$packets" =~ ^[1-9][0-9]*$ ]] || die "BENCH_PACKETS must be a positive integer, got '$packets'"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$runs'"
[[ "$tshark_n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_TSHARK_PACKETS must be a positive integer"
if (( tshark_n > packets )); then tshark_n=$packets; fi

# --- tools ---------------------------------------------------------------------------
need_pkgs=()
command -v python3 >/dev/null || need_pkgs+=(python3)
command -v editcap >/dev/null || need_pkgs+=(wireshark-common)
command -v capinfos >/dev/null || need_pkgs+=(wireshark-common)
command -v tshark >/dev/null || need_pkgs+=(tshark)
command -v tcprewrite >/dev/null || need_pkgs+=(tcpreplay)
[[ -x /usr/bin/time ]] || need_pkgs+=(time)
if ((${#need_pkgs[@]})); then
    log "installing: ${need_pkgs[*]}"
    sudo_=(); [[ $(id -u) -eq 0 ]] || sudo_=(sudo)
    "${sudo_[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get install -y -qq "${need_pkgs[@]}" >&2
fi
command -v cargo >/dev/null || die "cargo not found"
[[ -x "$maker" ]] || [[ -f "$maker" ]] || die "$maker not found"

# --- 1. benchmark capture ------------------------------------------------------------
file_size() { stat -c %s "$1"; }
file_mtime() { stat -c %Y "$1"; }

capture_ok() {
    [[ -f "$pcap" && -f "$meta" ]] || return 1
    local m_packets m_bytes m_mtime m_sha
    m_packets=$(sed -n 's/^packets=//p' "$meta")
    m_bytes=$(sed -n 's/^bytes=//p' "$meta")
    m_mtime=$(sed -n 's/^mtime=//p' "$meta")
    m_sha=$(sed -n 's/^sha256=//p' "$meta")
    [[ "$m_packets" == "$packets" ]] || { log "marker: $m_packets packets, want $packets"; return 1; }
    [[ "$m_bytes" == "$(file_size "$pcap")" ]] || { log "marker: size differs"; return 1; }
    [[ "$m_mtime" == "$(file_mtime "$pcap")" ]] || { log "marker: mtime differs"; return 1; }
    if [[ "${BENCH_VERIFY:-0}" == 1 ]]; then
        log "verifying sha256 of $pcap"
        [[ "$(sha256sum "$pcap" | cut -d' ' -f1)" == "$m_sha" ]] || { log "marker: sha256 differs"; return 1; }
    fi
    return 0
}

if capture_ok; then
    log "reusing $pcap ($packets packets, marker $meta)"
else
    log "building $pcap with $packets packets (make-bench-pcap)"
    rm -f "$meta"
    python3 "$maker" -n "$packets" -o "$pcap" >&2
    count=$(capinfos -M -c -T -r "$pcap" | awk -F'\t' 'NF>=2 {print $2; exit}')
    [[ "$count" == "$packets" ]] || die "$pcap has $count packets (capinfos), want $packets"
    {
        echo "packets=$packets"
        echo "bytes=$(file_size "$pcap")"
        echo "mtime=$(file_mtime "$pcap")"
        echo "sha256=$(sha256sum "$pcap" | cut -d' ' -f1)"
    } >"$meta"
fi

slice="${pcap%.pcap}-$tshark_n.pcap"
[[ "$slice" == "$pcap" ]] && slice="$pcap.tshark-$tshark_n.pcap"
if [[ ! -f "$slice" || "$slice" -ot "$pcap" || "$slice" -ot "$meta" ]]; then
    log "slicing first $tshark_n packets -> $slice"
    editcap -r "$pcap" "$slice" "1-$tshark_n"
fi
slice_count=$(capinfos -M -c -T -r "$slice" | awk -F'\t' 'NF>=2 {print $2; exit}')
[[ "$slice_count" == "$tshark_n" ]] || die "$slice has $slice_count packets, want $tshark_n"

# --- 2. wirebeat release build -------------------------------------------------------
log "cargo build --release --locked"
(cd "$repo" && cargo build --release --locked --quiet) >&2 || die "release build failed"
bin="$repo/target/release/wirebeat"
[[ -x "$bin" ]] || die "$bin missing after build"

# --- 3./4. timings -------------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# timed_run NAME CMD... : runs CMD (stdout to /dev/null, stderr to $work/NAME.err),
# sets LAST_SECS (wall, from date +%s.%N) and LAST_RSS_KIB (peak RSS, GNU time %M).
timed_run() {
    local name=$1; shift
    local t0 t1 rc=0
    sync
    t0=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.err" || rc=$?
    t1=$(date +%s.%N)
    if ((rc != 0)); then
        tail -n 20 "$work/$name.err" >&2
        die "$name exited with status $rc: $*"
    fi
    LAST_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    LAST_RSS_KIB=$(tail -n 1 "$work/$name.time")
}

# best_of NAME CMD... : BENCH_RUNS runs, keeps the fastest in BEST_SECS / BEST_RSS_KIB
# and its stderr in $work/NAME.best.err.
best_of() {
    local name=$1; shift
    BEST_SECS=""; BEST_RSS_KIB=0
    local i
    for ((i = 1; i <= runs; i++)); do
        timed_run "$name" "$@"
        log "$name run $i: ${LAST_SECS} s, peak RSS ${LAST_RSS_KIB} KiB"
        if [[ -z "$BEST_SECS" ]] || awk -v a="$LAST_SECS" -v b="$BEST_SECS" 'BEGIN {exit !(a < b)}'; then
            BEST_SECS=$LAST_SECS
            cp "$work/$name.err" "$work/$name.best.err"
        fi
        if ((LAST_RSS_KIB > BEST_RSS_KIB)); then BEST_RSS_KIB=$LAST_RSS_KIB; fi
    done
}

# check_read NAME : the wirebeat summary lines must say read=$packets.
check_read() {
    local name=$1 line read_n
    line=$(grep '^wirebeat summary ' "$work/$name.best.err" | tr '\n' ' ' || true)
    [[ -n "$line" ]] || { tail -n 20 "$work/$name.best.err" >&2; die "$name: no 'wirebeat summary' lines on stderr"; }
    read_n=$(sed -n 's/.* read=\([0-9]*\).*/\1/p' <<<"$line")
    log "$name: $line"
    [[ "$read_n" == "$packets" ]] || die "$name: wirebeat read $read_n packets, capture has $packets"
    SUMMARY_LINE=$line
}

# Flows only: every application protocol off.
flows_only=()
for p in dns http tls dhcpv4 icmp mysql pgsql redis memcache mongodb cassandra amqp thrift nfs sip; do flows_only+=(-E "wirebeat.protocols.$p.enabled=false"); done

declare -A secs rss summary
for w in 1 2; do
    best_of "wirebeat-w$w" "$bin" read -E "wirebeat.workers=$w" "$pcap"
    secs[w$w]=$BEST_SECS; rss[w$w]=$BEST_RSS_KIB
    check_read "wirebeat-w$w"
    summary[w$w]=$SUMMARY_LINE
    best_of "wirebeat-flows-w$w" "$bin" read "${flows_only[@]}" -E "wirebeat.workers=$w" "$pcap"
    secs[f$w]=$BEST_SECS; rss[f$w]=$BEST_RSS_KIB
    check_read "wirebeat-flows-w$w"
done

best_of tshark tshark -n -r "$slice" -T ek
secs[tshark]=$BEST_SECS; rss[tshark]=$BEST_RSS_KIB

# --- 5. report -----------------------------------------------------------------------
pps() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", (s > 0 ? n / s : 0)}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
group() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

pps_w1=$(pps "$packets" "${secs[w1]}")
pps_w2=$(pps "$packets" "${secs[w2]}")
pps_f1=$(pps "$packets" "${secs[f1]}")
pps_f2=$(pps "$packets" "${secs[f2]}")
pps_ts=$(pps "$tshark_n" "${secs[tshark]}")
ratio=$(awk -v a="$pps_w2" -v b="$pps_ts" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}')
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
tshark_ver=$(tshark -v 2>/dev/null | head -n 1 | sed "s/\.$//")
wb_rev=$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
wb_dirty=$(cd "$repo" && git status --porcelain 2>/dev/null | grep -q . && echo "+dirty" || true)

cat <<EOF
Machine: $(nproc) cores, ${cpu:-unknown CPU}; $(date -u '+%Y-%m-%d %H:%M UTC')
Capture: $pcap, $(group "$packets") packets, $(awk -v b="$(file_size "$pcap")" 'BEGIN {printf "%.0f", b / 1048576}') MiB (make-bench-pcap); tshark gets its first $(group "$tshark_n") packets
wirebeat $wb_rev$wb_dirty (release), $tshark_ver; best of $runs runs, output to /dev/null

| tool | workers | packets | seconds | packets/s | peak RSS MiB |
|---|---:|---:|---:|---:|---:|
| wirebeat read, flows only | 1 | $(group "$packets") | ${secs[f1]} | $(group "$pps_f1") | $(mib "${rss[f1]}") |
| wirebeat read, flows only | 2 | $(group "$packets") | ${secs[f2]} | $(group "$pps_f2") | $(mib "${rss[f2]}") |
| wirebeat read, all protocols | 1 | $(group "$packets") | ${secs[w1]} | $(group "$pps_w1") | $(mib "${rss[w1]}") |
| wirebeat read, all protocols | 2 | $(group "$packets") | ${secs[w2]} | $(group "$pps_w2") | $(mib "${rss[w2]}") |
| tshark -n -T ek | 1 | $(group "$tshark_n") | ${secs[tshark]} | $(group "$pps_ts") | $(mib "${rss[tshark]}") |

wirebeat (2 workers, all protocols) / tshark: **${ratio}x** packets/s

Commands: \`target/release/wirebeat read [-E wirebeat.protocols.<p>.enabled=false ...] -E wirebeat.workers=N $pcap > /dev/null\`; \`tshark -n -r $slice -T ek > /dev/null\`
EOF
