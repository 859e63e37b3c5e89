#!/usr/bin/env bash
# bench/live.sh - live capture at rising rates: replays the first packets of the bench capture
# with tcpreplay into one end of a veth pair inside a network namespace this script creates,
# while `wirebeat run` (release build, every protocol and detector on, NDJSON to /dev/null)
# captures on the other end, once with libpcap (`--type pcap`) and once with wirebeat's
# AF_PACKET TPACKET_V3 rings (`--type af_packet`, one fanout socket per worker).
#
#   sudo bench/live.sh                      # 200,000 packets per replay, 2 workers
#   LIVE_PACKETS=100000 LIVE_RATES="50000 100000" sudo bench/live.sh
#
# Environment:
#   LIVE_PACKETS  packets replayed per run (default 200000; cut from the bench capture)
#   LIVE_RATES    tcpreplay --pps rates, rising (default "25000 50000 100000 200000 400000
#                 800000 top"; `top` is --topspeed)
#   LIVE_WORKERS  wirebeat.workers (default 2)
#   BENCH_PCAP    the bench capture (default /tmp/bench.pcap; built by bench/run.sh's rule
#                 with ../shared/corpus/make-bench-pcap when missing)
#
# Prints a Markdown table on stdout: per type and rate the rate tcpreplay reached, frames
# wirebeat read, frames the kernel dropped (per socket counters summed) and frames wirebeat
# dropped itself (worker channels full), then per type the highest rate with no kernel drop.
# Needs root (network namespace), ip, tcpreplay, editcap. All traffic stays in the namespace.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
packets="${LIVE_PACKETS:-200000}"
rates="${LIVE_RATES:-25000 50000 100000 200000 400000 800000 top}"
workers="${LIVE_WORKERS:-2}"
pcap="${BENCH_PCAP:-/tmp/bench.pcap}"

log() { printf '[live] %s\n' "$*" >&2; }
die() { printf '[live] FAIL: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (ip netns); run with sudo"
for t in ip tcpreplay editcap capinfos python3; do
    command -v "$t" >/dev/null || die "$t not found (apt-get install iproute2 tcpreplay wireshark-common)"
done
[[ "$packets" =~ ^[1-9][0-9]*$ ]] || die "LIVE_PACKETS must be a positive integer"

if [[ ! -f "$pcap" ]]; then
    maker="$repo/../shared/corpus/make-bench-pcap"
    [[ -f "$maker" ]] || die "$pcap missing and $maker not found"
    log "building $pcap (make-bench-pcap, 2,000,000 packets)"
    python3 "$maker" -n 2000000 -o "$pcap" >&2
fi
slice="/tmp/live-bench-$packets.pcap"
if [[ ! -f "$slice" || "$slice" -ot "$pcap" ]]; then
    log "slicing the first $packets packets of $pcap -> $slice"
    editcap -r "$pcap" "$slice" "1-$packets"
fi

log "cargo build --release --locked"
(cd "$repo" && cargo build --release --locked --quiet) >&2 || die "release build failed"
bin="$repo/target/release/wirebeat"

ns="wblive-$$"
work=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
nsx ip link add wbA mtu 9500 type veth peer name wbB mtu 9500
nsx ip link set wbA up
nsx ip link set wbB up

# summary VALUE NAME: a number from wirebeat's `wirebeat summary` lines.
summary() { grep '^wirebeat summary ' "$1" | tr ' ' '\n' | sed -n "s/^$2=\([0-9]*\).*/\1/p" | head -n 1; }

declare -A best
printf '| type | requested pps | replayed pps | sent | read | kernel drops | wirebeat drops |\n'
printf '|---|---:|---:|---:|---:|---:|---:|\n'
for type in pcap af_packet; do
    best[$type]=0
    for rate in $rates; do
        err="$work/$type-$rate.err"
        WIREBEAT_ALL_COUNTERS=1 nsx "$bin" run -i wbB --type "$type" -E "wirebeat.workers=$workers" \
            >/dev/null 2>"$err" &
        pid=$!
        for _ in $(seq 100); do grep -q capturing "$err" && break; sleep 0.1; done
        grep -q capturing "$err" || { cat "$err" >&2; die "wirebeat did not start ($type)"; }
        sleep 0.5
        if [[ "$rate" == top ]]; then speed=(--topspeed); else speed=(--pps="$rate"); fi
        rep=$(nsx tcpreplay -i wbA "${speed[@]}" "$slice" 2>&1 || true)
        sent=$(sed -n 's/^[[:space:]]*Successful packets:[[:space:]]*\([0-9]*\).*/\1/p' <<<"$rep")
        reached=$(sed -n 's/.*Rated:.* \([0-9.]*\) pps.*/\1/p' <<<"$rep" | head -n 1)
        sleep 1
        kill -TERM "$pid"
        wait "$pid" || die "wirebeat exited with an error ($type, $rate): $(tail -n 5 "$err")"
        read_n=$(summary "$err" read)
        kernel=$(summary "$err" kernel)
        full=$(summary "$err" channel_full)
        printf '| %s | %s | %.0f | %s | %s | %s | %s |\n' "$type" "$rate" "${reached:-0}" \
            "${sent:-0}" "${read_n:-?}" "${kernel:-?}" "${full:-?}"
        if [[ "${kernel:-1}" == 0 ]] && awk -v a="${reached:-0}" -v b="${best[$type]}" 'BEGIN {exit !(a > b)}'; then
            best[$type]=${reached:-0}
        fi
    done
done
printf '\n| type | highest replayed rate with zero kernel drops (packets/s) |\n|---|---:|\n'
for type in pcap af_packet; do printf '| %s | %.0f |\n' "$type" "${best[$type]}"; done
