#!/usr/bin/env bash
# bench/run.sh - one benchmark table: wirebeat (1 and 2 workers, flows only and every protocol
# and detector on) against tshark -T ek and pmacctd (print plugin, 5-tuple aggregation), on the
# same captures: the mixed bench capture, 1,000,000 concurrent UDP flows and a random-source
# SYN flood (the last two made by bench/make-flows-pcap).
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
#   BENCH_FLOWS    concurrent UDP flows of the flow-table capture (default 1000000; 0 skips it)
#   BENCH_SYN      packets of the SYN flood capture (default 5000000; 0 skips it)
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
command -v pmacctd >/dev/null || need_pkgs+=(pmacct)
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

# timed_run NAME CMD... : runs CMD (stdout counted by wc -c, stderr to $work/NAME.err),
# sets LAST_SECS (wall, from date +%s.%N), LAST_CPU (user + system seconds, GNU time, children
# included), LAST_RSS_KIB (peak RSS, GNU time %M) and LAST_OUT (stdout bytes).
timed_run() {
    local name=$1; shift
    local t0 t1 rc=0
    sync
    t0=$(date +%s.%N)
    { /usr/bin/time -f '%M %U %S' -o "$work/$name.time" "$@" 2>"$work/$name.err" || rc=$?; } \
        | wc -c >"$work/$name.bytes"
    t1=$(date +%s.%N)
    if ((rc != 0)); then
        tail -n 20 "$work/$name.err" >&2
        die "$name exited with status $rc: $*"
    fi
    LAST_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    read -r LAST_RSS_KIB u s < <(tail -n 1 "$work/$name.time")
    LAST_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
    LAST_OUT=$(cat "$work/$name.bytes")
}

# best_of NAME CMD... : BENCH_RUNS runs, keeps the fastest in BEST_SECS / BEST_RSS_KIB
# and its stderr in $work/NAME.best.err.
best_of() {
    local name=$1; shift
    BEST_SECS=""; BEST_RSS_KIB=0; BEST_CPU=""; BEST_OUT=0
    local i
    for ((i = 1; i <= runs; i++)); do
        timed_run "$name" "$@"
        log "$name run $i: ${LAST_SECS} s, ${LAST_CPU} CPU-s, peak RSS ${LAST_RSS_KIB} KiB, ${LAST_OUT} bytes out"
        if [[ -z "$BEST_SECS" ]] || awk -v a="$LAST_SECS" -v b="$BEST_SECS" 'BEGIN {exit !(a < b)}'; then
            BEST_SECS=$LAST_SECS; BEST_CPU=$LAST_CPU; BEST_OUT=$LAST_OUT
            cp "$work/$name.err" "$work/$name.best.err"
        fi
        if ((LAST_RSS_KIB > BEST_RSS_KIB)); then BEST_RSS_KIB=$LAST_RSS_KIB; fi
    done
}

# check_read NAME PACKETS : the wirebeat summary lines must say read=PACKETS.
check_read() {
    local name=$1 want=$2 line read_n
    line=$(grep '^wirebeat summary ' "$work/$name.best.err" | tr '\n' ' ' || true)
    [[ -n "$line" ]] || { tail -n 20 "$work/$name.best.err" >&2; die "$name: no 'wirebeat summary' lines on stderr"; }
    read_n=$(sed -n 's/.* read=\([0-9]*\).*/\1/p' <<<"$line")
    log "$name: $line"
    [[ "$read_n" == "$want" ]] || die "$name: wirebeat read $read_n packets, capture has $want"
    SUMMARY_LINE=$line
}

pps() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", (s > 0 ? n / s : 0)}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", (b > 0 ? a / b : 0)}'; }
group() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# Flows only: every application protocol off (the list is the registry's, so a new protocol is
# switched off too), and no detector.
flows_only=()
for p in $(sed -n '/^registry! {/,/^}/s/^ *\([a-z0-9_]*\): .*/\1/p' "$repo/src/proto/mod.rs"); do
    flows_only+=(-E "wirebeat.protocols.$p.enabled=false")
done
((${#flows_only[@]} > 10)) || die "could not read the protocol list from src/proto/mod.rs"
flows_only+=(-E "wirebeat.detect.enabled=false")

# --- extra captures: 1 M concurrent flows, SYN flood ---------------------------------
flows_n="${BENCH_FLOWS:-1000000}"
syn_n="${BENCH_SYN:-5000000}"
make_extra() { # kind n path
    if [[ ! -f "$3" || "$3" -ot "$here/make-flows-pcap" ]]; then
        log "building $3 ($1, $2 packets, bench/make-flows-pcap)"
        python3 "$here/make-flows-pcap" "$1" "$2" "$3.tmp" && mv "$3.tmp" "$3"
    fi
}
flows_pcap=/tmp/bench-flows-$flows_n.pcap
syn_pcap=/tmp/bench-syn-$syn_n.pcap
if ((flows_n > 0)); then make_extra udp "$flows_n" "$flows_pcap"; fi
if ((syn_n > 0)); then make_extra syn "$syn_n" "$syn_pcap"; fi

declare -A secs rss cpu out summary npk
rows=()
# measure KEY LABEL CAPTURE PACKETS WORKERS CMD... : one table row
measure() {
    local key=$1 label=$2 cap=$3 n=$4 w=$5; shift 5
    best_of "$key" "$@"
    secs[$key]=$BEST_SECS; rss[$key]=$BEST_RSS_KIB; cpu[$key]=$BEST_CPU; out[$key]=$BEST_OUT
    npk[$key]=$n
    if [[ "$label" == wirebeat* ]]; then
        check_read "$key" "$n"
        summary[$key]=$SUMMARY_LINE
    fi
    rows+=("$key|$label|$cap|$w")
}

for w in 1 2; do
    measure "f$w" "wirebeat, flows only" bench "$packets" "$w" \
        "$bin" read --no-progress "${flows_only[@]}" -E "wirebeat.workers=$w" "$pcap"
    measure "a$w" "wirebeat, everything on" bench "$packets" "$w" \
        "$bin" read --no-progress -E "wirebeat.workers=$w" "$pcap"
done
measure tshark "tshark -n -T ek" "bench (first $(group "$tshark_n"))" "$tshark_n" 1 \
    tshark -n -r "$slice" -T ek
pm_conf="$work/pmacctd.conf"
cat >"$pm_conf" <<PM
daemonize: false
pcap_savefile: $pcap
aggregate: src_host, dst_host, src_port, dst_port, proto
plugins: print
print_output: csv
print_output_file: $work/pmacctd.csv
print_refresh_time: 86400
PM
measure pmacctd "pmacctd, print plugin, 5-tuple" bench "$packets" 1 pmacctd -f "$pm_conf"
out[pmacctd]=$(stat -c %s "$work/pmacctd.csv")
if ((flows_n > 0)); then
    for w in 1 2; do
        measure "m$w" "wirebeat, everything on" "$(group "$flows_n") UDP flows" "$flows_n" "$w" \
            "$bin" read --no-progress -E "wirebeat.workers=$w" "$flows_pcap"
    done
fi
if ((syn_n > 0)); then
    measure s2 "wirebeat, everything on" "SYN flood" "$syn_n" 2 \
        "$bin" read --no-progress -E wirebeat.workers=2 "$syn_pcap"
fi

# --- 5. report -----------------------------------------------------------------------
cpu_name=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
tshark_ver=$(tshark -v 2>/dev/null | head -n 1 | sed "s/\.$//")
pm_ver=$(pmacctd -V 2>/dev/null | sed -n 's/.*pmacctd \([^ ]*\).*/\1/p' | head -n 1)
wb_rev=$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
wb_dirty=$(cd "$repo" && git status --porcelain 2>/dev/null | grep -q . && echo "+dirty" || true)
evicted() { sed -n 's/.* flows_evicted=\([0-9]*\).*/\1/p' <<<"${summary[$1]:-}"; }
extra=""
if ((flows_n > 0)); then extra+="; $flows_pcap"; fi
if ((syn_n > 0)); then extra+="; $syn_pcap"; fi

echo "Machine: $(nproc) cores, ${cpu_name:-unknown CPU}; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Captures: bench = $pcap, $(group "$packets") packets, $(awk -v b="$(file_size "$pcap")" 'BEGIN {printf "%.0f", b / 1048576}') MiB (make-bench-pcap)$extra (bench/make-flows-pcap)"
echo "wirebeat $wb_rev$wb_dirty (release), $tshark_ver, pmacctd $pm_ver; best of $runs runs; stdout counted by wc -c"
echo
echo "| tool | capture | workers | packets | seconds | CPU-s | packets/s | packets/CPU-s | out B/packet | peak RSS MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in "${rows[@]}"; do
    IFS='|' read -r key label cap w <<<"$r"
    n=${npk[$key]}
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$cap" "$w" "$(group "$n")" \
        "${secs[$key]}" "${cpu[$key]}" "$(group "$(pps "$n" "${secs[$key]}")")" \
        "$(group "$(pps "$n" "${cpu[$key]}")")" \
        "$(awk -v b="${out[$key]}" -v n="$n" 'BEGIN {printf "%.0f", b / n}')" "$(mib "${rss[$key]}")"
done
pps_a1=$(pps "$packets" "${secs[a1]}"); pps_a2=$(pps "$packets" "${secs[a2]}")
pps_f1=$(pps "$packets" "${secs[f1]}"); pps_f2=$(pps "$packets" "${secs[f2]}")
pps_ts=$(pps "$tshark_n" "${secs[tshark]}")
pm_cpu=$(pps "$packets" "${cpu[pmacctd]}")
echo
echo "Ratios (everything on unless said):"
echo "- 2 workers / 1 worker: $(ratio "$pps_a2" "$pps_a1")x packets/s (flows only: $(ratio "$pps_f2" "$pps_f1")x)"
echo "- wirebeat (2 workers) / tshark -T ek: $(ratio "$pps_a2" "$pps_ts")x packets/s"
echo "- wirebeat packets per CPU-second / pmacctd's: $(ratio "$(pps "$packets" "${cpu[a1]}")" "$pm_cpu")x (1 worker; flows only $(ratio "$(pps "$packets" "${cpu[f1]}")" "$pm_cpu")x)"
echo "- output bytes per packet, tshark -T ek / wirebeat: $(ratio "$(awk -v b="${out[tshark]}" -v n="$tshark_n" 'BEGIN {print b / n}')" "$(awk -v b="${out[a2]}" -v n="$packets" 'BEGIN {print b / n}')")x"
if ((flows_n > 0)); then
    echo "- $(group "$flows_n") concurrent flows: peak RSS $(mib "${rss[m1]}") MiB with 1 worker ($(per "$((rss[m1] * 1024))" "$flows_n") bytes per flow), $(mib "${rss[m2]}") MiB with 2; $(group "$(pps "$flows_n" "${secs[m2]}")") packets/s with 2 workers, the bench capture's / this: $(ratio "$pps_a2" "$(pps "$flows_n" "${secs[m2]}")")x"
fi
if ((syn_n > 0)); then
    echo "- SYN flood, $(group "$syn_n") packets from random sources: peak RSS $(mib "${rss[s2]}") MiB, flows evicted $(group "$(evicted s2)")"
fi
echo
echo "Commands: \`target/release/wirebeat read --no-progress [flows only: -E wirebeat.protocols.<p>.enabled=false ... -E wirebeat.detect.enabled=false] -E wirebeat.workers=N CAPTURE\`; \`tshark -n -r $slice -T ek\`; \`pmacctd -f CONF\` (pcap_savefile, aggregate src_host, dst_host, src_port, dst_port, proto; print plugin to CSV)"
