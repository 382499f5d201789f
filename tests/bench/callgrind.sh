#!/usr/bin/env bash
# Instructions per query on each serving path of loki-resolver, counted by
# callgrind: stable on a noisy shared machine, where time is not.
#
#   tests/bench/callgrind.sh BUILD_DIR [QUERIES]
#
# Starts NSD (tests/bench/upstream) on 127.0.0.1:5400 and loki-resolver under
# valgrind --tool=callgrind on 127.0.0.1:5401 (threads = 1), warms it up,
# then for each path zeroes the counters, sends QUERIES (default 20000)
# queries with dnsperf, dumps the counters and prints user-space
# instructions per query. Each path is measured twice: "paced" at a fixed
# low rate (every wake-up of the loop finds one query, the worst case for
# per-wake-up costs) and "burst" with 100 queries kept outstanding (the
# server finds a queue and reads it in batches, as under real load) (the whole process: libuv, libc and our
# code; the kernel's share is not counted). Everything stays on loopback.
# KEEP=DIR keeps the dumps (callgrind_annotate DIR/callgrind.blocked).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:?usage: callgrind.sh BUILD_DIR [QUERIES]}
N=${2:-20000}
ADDR=127.0.0.1
UP_PORT=5400
PORT=5401
RATE=4000 # well below what the resolver under valgrind sustains
for t in valgrind callgrind_control dnsperf nsd dig; do
	command -v "$t" >/dev/null || {
		echo "callgrind.sh: missing $t (apt-get install valgrind dnsperf nsd bind9-dnsutils)" >&2
		exit 1
	}
done
BIN=$BUILD/resolver/loki-resolver
[ -x "$BIN" ] || {
	echo "callgrind.sh: no $BIN" >&2
	exit 1
}

RUN=$(mktemp -d /tmp/loki-callgrind.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$RUN"
}
trap cleanup EXIT

sed -e "s|@ADDR@|$ADDR|g" -e "s|@PORT@|$UP_PORT|g" -e "s|@RUNDIR@|$RUN|g" \
	-e "s|@ZONEDIR@|$HERE/upstream/zones|g" "$HERE/upstream/nsd.conf.in" >"$RUN/nsd.conf"
nsd -d -c "$RUN/nsd.conf" >"$RUN/nsd.out" 2>&1 &
PIDS+=($!)

env -i PATH="$PATH" LOKI_NETWORK_EGRESS_POLICY=ai-only LOKI_ALLOWED_HOSTS='*.bench.test' \
	LOKI_LOG_QUERIES=none LOKI_THREADS=1 \
	valgrind --tool=callgrind --callgrind-out-file="$RUN/cg.%p" --dump-instr=no \
	"$BIN" --listen "$ADDR:$PORT" --upstream "$ADDR:$UP_PORT" >"$RUN/loki.out" 2>&1 &
VG=$!
PIDS+=("$VG")

answer() { dig +tries=1 +time=2 -p "$1" @"$ADDR" "$2" A +short 2>/dev/null | head -1; }
for i in $(seq 150); do
	[ "$(answer "$UP_PORT" api.anthropic.com)" = 203.0.113.10 ] &&
		[ "$(answer "$PORT" api.anthropic.com)" = 203.0.113.10 ] && break
	[ "$i" = 150 ] && {
		cat "$RUN/nsd.out" "$RUN/loki.out" >&2
		echo "callgrind.sh: servers did not come up" >&2
		exit 1
	}
	sleep 0.2
done

gen() { # SEED COUNT SUFFIX -> "<12 random [a-z0-9]>SUFFIX A" lines
	awk -v seed="$1" -v n="$2" -v suf="$3" 'BEGIN { srand(seed); c = "abcdefghijklmnopqrstuvwxyz0123456789"
		for (i = 0; i < n; i++) { s = ""; for (j = 0; j < 12; j++) s = s substr(c, int(rand() * 36) + 1, 1); print s suf " A" } }'
}
printf '%s\n' "api.anthropic.com A" "api.anthropic.com AAAA" "api.openai.com A" \
	"api.openai.com AAAA" "generativelanguage.googleapis.com A" \
	"generativelanguage.googleapis.com AAAA" >"$RUN/hot.txt"
gen 7 "$N" .com >"$RUN/blocked.txt"
gen 8 "$N" .cg.bench.test >"$RUN/miss.txt"

load() { # FILE [dnsperf args]
	local f=$1
	shift
	if [ "$MODE" = paced ]; then set -- -Q "$RATE" "$@"; else set -- -q 100 "$@"; fi
	dnsperf -s "$ADDR" -p "$PORT" -d "$f" -n 1 -c 1 -t 5 "$@" >"$RUN/dnsperf.out" 2>&1
	awk '/Queries completed:/ { print $3 }' "$RUN/dnsperf.out"
}
# Warm-up: the hot names into the cache, code and data paged in.
dnsperf -s "$ADDR" -p "$PORT" -d "$RUN/hot.txt" -n 200 -Q "$RATE" >/dev/null 2>&1
gen 9 2000 .com | dnsperf -s "$ADDR" -p "$PORT" -n 1 -Q "$RATE" >/dev/null 2>&1

measure() { # LABEL FILE [dnsperf args]
	local label=$MODE-$1 f=$2 completed ir dump
	shift 2
	rm -f "$RUN"/cg.*.[0-9]*
	callgrind_control --zero "$VG" >/dev/null 2>&1
	completed=$(load "$f" "$@")
	callgrind_control --dump="$label" "$VG" >/dev/null 2>&1
	sleep 0.5
	# The newest dump; callgrind names them cg.PID.N: no odd characters.
	# shellcheck disable=SC2012
	dump=$(ls -t "$RUN"/cg.*.[0-9]* | head -1)
	ir=$(awk '/^summary:|^totals:/ { print $2; exit }' "$dump")
	# KEEP=DIR keeps each dump for callgrind_annotate.
	if [ -n "${KEEP:-}" ]; then cp "$dump" "$KEEP/callgrind.$label"; fi
	awk -v l="$label" -v ir="$ir" -v n="$completed" \
		'BEGIN { printf "%-26s %8d queries %12d instructions %8.0f per query\n", l, n, ir, ir / n }'
}

echo "# loki-resolver $("$BIN" --version 2>/dev/null | head -1), user-space instructions per query (callgrind)"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "api.anthropic.com A" }' >"$RUN/hotA.txt"
gen 10 "$N" .cg2.bench.test >"$RUN/miss2.txt"
for MODE in paced burst; do
	measure blocked "$RUN/blocked.txt"
	measure cache-hit "$RUN/hotA.txt"
	measure cache-hit-tcp "$RUN/hotA.txt" -m tcp
	if [ "$MODE" = paced ]; then measure miss "$RUN/miss.txt"; else measure miss "$RUN/miss2.txt"; fi
done
