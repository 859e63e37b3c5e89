#!/usr/bin/env bash
# bench/kafka.sh - events/s of `wirebeat read` into a Kafka broker (Tansu, memory storage) against
# a plain rdkafka producer (examples/kafka_produce.rs) sending the same pre-serialized events
# (same key, headers and producer settings) to the same broker.
#
# kcat is not the baseline: Debian's kcat links librdkafka 2.0.2, which Tansu rejects, and
# building kcat against the vendored librdkafka 2.12 is not set up here.
#
#   bench/kafka.sh                         # release build, every capture of the shared corpus
#   BENCH_PROFILE=debug bench/kafka.sh     # no release build (numbers are much lower)
#
# Environment:
#   BENCH_PROFILE  release (default) or debug
#   BENCH_RUNS     timed runs per measurement, best one kept (default 3)
#   BENCH_INPUT    captures to read (default: ../shared/corpus/pcaps/*)
#   TANSU          tansu binary (default: tansu on PATH, else /root/.cargo/bin/tansu)
#
# Prints a Markdown table on stdout (progress on stderr). Fails if any event is not delivered.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
profile="${BENCH_PROFILE:-release}"
runs="${BENCH_RUNS:-3}"
log() { printf '[kafka-bench] %s\n' "$*" >&2; }
die() { printf '[kafka-bench] FAIL: %s\n' "$*" >&2; exit 1; }

tansu="${TANSU:-$(command -v tansu || echo /root/.cargo/bin/tansu)}"
[[ -x "$tansu" ]] || die "tansu not found (set TANSU)"
# shellcheck disable=SC2206
inputs=(${BENCH_INPUT:-$repo/../shared/corpus/pcaps/*})
((${#inputs[@]})) || die "no input captures"

case "$profile" in
    release) flags=(--release); dir=release ;;
    debug) flags=(); dir=debug ;;
    *) die "BENCH_PROFILE must be release or debug" ;;
esac
log "building ($profile)"
(cd "$repo" && cargo build "${flags[@]}" --bin wirebeat --example kafka_produce >&2)
wirebeat="$repo/target/$dir/wirebeat"
producer="$repo/target/$dir/examples/kafka_produce"
export WIREBEAT_AGENT_ID=00000000-0000-5000-8000-000000000000

work="$(mktemp -d /tmp/kafka-bench.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="tcp://127.0.0.1:$port"
log "starting tansu on 127.0.0.1:$port"
"$tansu" broker --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
tansu_pid=$!
cleanup() { kill "$tansu_pid" 2>/dev/null || true; wait "$tansu_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
topic() { "$tansu" topic create --broker "$url" --partitions 3 "$1" >/dev/null; }

now() { date +%s.%N; }
best() { sort -g | head -1; }

log "serializing the events once (console output)"
"$wirebeat" read --no-progress "${inputs[@]}" >"$work/events.ndjson" 2>/dev/null
n="$(wc -l <"$work/events.ndjson")"
((n > 0)) || die "no events"
log "$n events from ${#inputs[@]} captures"

console=()
kafka=()
plain=()
for i in $(seq "$runs"); do
    t0="$(now)"
    "$wirebeat" read --no-progress "${inputs[@]}" >/dev/null 2>&1
    t1="$(now)"
    console+=("$(echo "$t1 - $t0" | bc -l)")

    topic "wb-$i"
    t0="$(now)"
    "$wirebeat" read --no-progress -E "output.kafka.hosts=[\"127.0.0.1:$port\"]" \
        -E "output.kafka.topic=wb-$i" "${inputs[@]}" >/dev/null 2>"$work/wb.err"
    t1="$(now)"
    grep -q "events written=$n of $n (rejected 0)" "$work/wb.err" ||
        die "wirebeat did not deliver every event: $(grep -o 'events written=[^;]*' "$work/wb.err")"
    kafka+=("$(echo "$t1 - $t0" | bc -l)")

    topic "raw-$i"
    out="$("$producer" "127.0.0.1:$port" "raw-$i" "$work/events.ndjson")" || die "kafka_produce: $out"
    plain+=("$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")")
    log "run $i: console ${console[-1]}s, wirebeat->kafka ${kafka[-1]}s, kafka_produce ${plain[-1]}s"
done

c="$(printf '%s\n' "${console[@]}" | best)"
k="$(printf '%s\n' "${kafka[@]}" | best)"
p="$(printf '%s\n' "${plain[@]}" | best)"
rate() { printf '%.0f' "$(echo "$n / $1" | bc -l)"; }
echo "| run ($profile build, best of $runs) | events | seconds | events/s |"
echo "|---|---:|---:|---:|"
printf '| wirebeat read → /dev/null (decode + encode only) | %s | %.3f | %s |\n' "$n" "$c" "$(rate "$c")"
printf '| wirebeat read → Kafka (Tansu, acks=all, idempotent) | %s | %.3f | %s |\n' "$n" "$k" "$(rate "$k")"
printf '| kafka_produce (rdkafka, same lines) → Kafka (Tansu) | %s | %.3f | %s |\n' "$n" "$p" "$(rate "$p")"
echo
echo "Kafka part of wirebeat (read→Kafka minus read→/dev/null): $(printf '%.3f' "$(echo "$k - $c" | bc -l)") s;"
echo "machine: $(nproc) cores, $(uname -sr); tansu $("$tansu" --version 2>/dev/null | head -1); $(date -u +%F)"
