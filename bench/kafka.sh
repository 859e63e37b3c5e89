#!/usr/bin/env bash
# bench/kafka.sh - events/s of `wirebeat read` into a Kafka broker (Tansu, memory storage) against
# kcat producing the same messages (same bytes, same keys, acks=all, idempotent, same linger) to
# the same broker in the same run, and a plain rdkafka producer (examples/kafka_produce.rs).
#
# kcat: Debian's kcat links librdkafka 2.0.2, which Tansu rejects ("Read underflow"). This script
# builds kcat 1.7.1 from Debian's source package (kafkacat_1.7.1.orig.tar.gz, fetched with
# `apt-get source --download-only` through a private deb-src list, the system's apt config is not
# touched) against the librdkafka 2.12 that the rdkafka crate vendors (the static
# librdkafka.a of the release build, plus zstd-sys's libzstd.a), without JSON/Avro support, into
# target/bench/kcat. Set KCAT to use another kcat built against librdkafka >= 2.12.
# kcat sends no per-message headers (-H is one fixed header for all), wirebeat sends two.
#
#   bench/kafka.sh                         # release build, every capture of the shared corpus
#   BENCH_PROFILE=debug bench/kafka.sh     # no release build (numbers are much lower)
#
# Environment:
#   BENCH_PROFILE  release (default) or debug
#   BENCH_RUNS     timed runs per measurement, best one kept (default 3)
#   BENCH_INPUT    captures to read (default: ../shared/corpus/pcaps/*)
#   TANSU          tansu binary (default: tansu on PATH, else /root/.cargo/bin/tansu)
#   KCAT           kcat binary built against librdkafka >= 2.12 (default: built here, see above)
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

build_kcat() {
    local out="$repo/target/bench/kcat"
    [[ -x "$out" ]] && { echo "$out"; return; }
    log "building kcat 1.7.1 against the vendored librdkafka (once)"
    (cd "$repo" && cargo build --release --bin wirebeat >&2)
    local rk zstd src
    rk="$(ls -d "$repo"/target/release/build/rdkafka-sys-*/out/src 2>/dev/null | head -1)"
    zstd="$(ls "$repo"/target/release/build/zstd-sys-*/out/libzstd.a 2>/dev/null | head -1)"
    [[ -f "$rk/librdkafka.a" && -f "$zstd" ]] || die "vendored librdkafka.a / libzstd.a not found"
    src="$(mktemp -d /tmp/kcat-src.XXXXXX)"
    mkdir -p "$src/apt/lists/partial" "$src/apt/archives/partial"
    printf 'deb-src http://deb.debian.org/debian bookworm main\n' >"$src/apt/sources.list"
    local aptopt=(-o "Dir::Etc::sourcelist=$src/apt/sources.list" -o "Dir::Etc::sourceparts=-"
        -o "Dir::State::Lists=$src/apt/lists" -o "Dir::Cache::Archives=$src/apt/archives")
    apt-get "${aptopt[@]}" update -qq >&2 || die "apt-get update (deb-src) failed"
    (cd "$src" && apt-get "${aptopt[@]}" source --download-only kcat >&2) || true
    local tgz
    tgz="$(ls "$src"/kafkacat_*.orig.tar.gz 2>/dev/null | head -1)"
    [[ -f "$tgz" ]] || die "could not fetch kcat's source package"
    tar -C "$src" -xzf "$tgz"
    local k
    k="$(ls -d "$src"/kafkacat-*/ | head -1)"
    mkdir -p "$k/inc/librdkafka" "$(dirname "$out")"
    cp "$rk/rdkafka.h" "$k/inc/librdkafka/"
    printf '#define KCAT_VERSION "1.7.1-librdkafka-2.12"\n#define HAVE_CONTROLLERID 1\n#define HAVE_HEADERS 1\n#define ENABLE_KAFKACONSUMER 1\n#define ENABLE_JSON 0\n#define ENABLE_AVRO 0\n' >"$k/config.h"
    (cd "$k" && gcc -O2 -w -Iinc -I. -o "$out" kcat.c format.c tools.c input.c \
        "$rk/librdkafka.a" "$zstd" -lssl -lcrypto -lz -lpthread -lm -ldl -lrt) >&2 ||
        die "kcat build failed"
    rm -rf "$src"
    echo "$out"
}
kcat="${KCAT:-$(build_kcat)}"
"$kcat" -V 2>&1 | grep -q "librdkafka 2\.\(1[2-9]\|[2-9][0-9]\)" || die "$kcat is not linked to librdkafka >= 2.12"
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
# kcat input: "key<TAB>json" per line, the key being the Community ID as wirebeat sends it.
python3 - "$work/events.ndjson" "$work/keyed.tsv" <<'PY'
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as dst:
    for line in src:
        line = line.rstrip("\n")
        cid = json.loads(line).get("network", {}).get("community_id", "")
        dst.write(f"{cid}\t{line}\n")
PY
((n > 0)) || die "no events"
log "$n events from ${#inputs[@]} captures"

console=()
kafka=()
plain=()
kc=()
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
    { grep -Eq " written=$n of $n(;|\$)" "$work/wb.err" && ! grep -Eq " rejected=[1-9]" "$work/wb.err"; } ||
        die "wirebeat did not deliver every event: $(grep '^wirebeat summary delivery' "$work/wb.err")"
    kafka+=("$(echo "$t1 - $t0" | bc -l)")

    topic "raw-$i"
    out="$("$producer" "127.0.0.1:$port" "raw-$i" "$work/events.ndjson")" || die "kafka_produce: $out"
    plain+=("$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")")

    topic "kcat-$i"
    t0="$(now)"
    "$kcat" -P -b "127.0.0.1:$port" -t "kcat-$i" -K $'\t' -X acks=all -X enable.idempotence=true \
        -X linger.ms=5 -l "$work/keyed.tsv" 2>"$work/kcat.err" || die "kcat: $(cat "$work/kcat.err")"
    t1="$(now)"
    kc+=("$(echo "$t1 - $t0" | bc -l)")
    log "run $i: console ${console[-1]}s, wirebeat->kafka ${kafka[-1]}s, kcat ${kc[-1]}s, kafka_produce ${plain[-1]}s"
done
# kcat exits once every message is acknowledged (it waits on outstanding deliveries); check count.
got="$("$kcat" -C -b "127.0.0.1:$port" -t "kcat-1" -e -q -f 'x\n' 2>/dev/null | wc -l)"
[[ "$got" == "$n" ]] || die "kcat delivered $got of $n messages"


c="$(printf '%s\n' "${console[@]}" | best)"
k="$(printf '%s\n' "${kafka[@]}" | best)"
p="$(printf '%s\n' "${plain[@]}" | best)"
kk="$(printf '%s\n' "${kc[@]}" | best)"
rate() { printf '%.0f' "$(echo "$n / $1" | bc -l)"; }
echo "| run ($profile build, best of $runs) | events | seconds | events/s |"
echo "|---|---:|---:|---:|"
printf '| wirebeat read → /dev/null (decode + encode only) | %s | %.3f | %s |\n' "$n" "$c" "$(rate "$c")"
printf '| wirebeat read → Kafka (Tansu, acks=all, idempotent) | %s | %.3f | %s |\n' "$n" "$k" "$(rate "$k")"
printf '| kcat 1.7.1 (librdkafka 2.12), same keyed lines → Kafka (Tansu) | %s | %.3f | %s |\n' "$n" "$kk" "$(rate "$kk")"
printf '| kafka_produce (rdkafka, same lines) → Kafka (Tansu) | %s | %.3f | %s |\n' "$n" "$p" "$(rate "$p")"
echo
echo "Kafka part of wirebeat (read→Kafka minus read→/dev/null): $(printf '%.3f' "$(echo "$k - $c" | bc -l)") s;"
echo "machine: $(nproc) cores, $(uname -sr); tansu $("$tansu" --version 2>/dev/null | head -1); $(date -u +%F)"
