#!/usr/bin/env bash
# tests/bench/run.sh - loki-resolver against its peers, on loopback.
#
# Starts an NSD upstream, then one server at a time (the echo floor,
# loki-resolver, Unbound, dnsmasq, Knot Resolver; then loki-resolver again
# with 2 threads, with large allowlists and with filled caches), checks that
# each one filters and drives it with dnsperf through the scenarios at
# saturation; then runs the main servers side by side and probes their
# latency at a fixed rate, loki-resolver together with each peer in turn,
# and prints a markdown report (and, with --csv, one row per run).
# Everything happens in a private network namespace that has nothing but lo, every load is bounded in
# time and in count, and only the processes this script started are stopped,
# by PID. See README.md beside this file for what each figure means.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
ORIG_ARGS=("$@")

usage() {
	cat <<'EOF'
usage: tests/bench/run.sh [options]
  --build DIR        build tree holding resolver/loki-resolver (default: the
                     source tree root); tests/bench/echo is used from there
                     when built, else echo.c is compiled into the scratch dir
  --quick            short runs: --reps 1 --duration 2 --probe-rounds 2
                     --probe-secs 1
  --peers LIST       comma separated, from echo,loki,unbound,dnsmasq,kresd
                     (default: all of them)
  --scenarios LIST   comma separated, from blocked,allowed-hot,miss,mixed,tcp-hot
                     (default: all of them)
  --no-threads       skip the LOKI_THREADS=2 runs
  --no-growth        skip the allowlist-size and cache-fill runs
  --reps N           saturation runs per cell; fastest QPS and lowest CPU
                     per query are reported (default 3)
  --duration S       dnsperf -l of a saturation run (default 3)
  --outstanding N    dnsperf -q (default 200)
  --clients N        dnsperf -c (default 8)
  --probe-qps N      rate of the fixed-load latency probe (default 5000)
  --probe-secs S     length of one latency probe (default 3)
  --probe-rounds N   latency rounds; in each, loki is probed together with
                     every peer once per scenario (default 6)
  --seed N           seed of the random query names (default 42)
  --out FILE         also write the markdown report to FILE
  --csv FILE         write one CSV row per run to FILE
  --keep             keep the scratch directory (configs, logs, query files)
  --no-netns         run in the host network namespace (loopback only anyway)
  -h, --help         this text
EOF
}

# ------------------------------------------------------------------ options
BUILD=$TOP
PEERS=echo,loki,unbound,dnsmasq,kresd
SCENARIOS=blocked,allowed-hot,miss,mixed,tcp-hot
DO_THREADS=1
DO_GROWTH=1
REPS=3
DURATION=3
OUTSTANDING=200
CLIENTS=8
QTIMEOUT=1
PROBE_QPS=5000
PROBE_SECS=3
PROBE_ROUNDS=6
SEED=42
OUT_FILE=
CSV_FILE=
KEEP=0
USE_NETNS=1
SERVER_CPU=0
CLIENT_CPU=1

while [ $# -gt 0 ]; do
	case $1 in
	--quick | --keep | --no-netns | --no-threads | --no-growth | -h | --help) ;;
	*) [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; } ;;
	esac
	case $1 in
	--build) BUILD=$2; shift 2 ;;
	--peers) PEERS=$2; shift 2 ;;
	--scenarios) SCENARIOS=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--outstanding) OUTSTANDING=$2; shift 2 ;;
	--clients) CLIENTS=$2; shift 2 ;;
	--probe-qps) PROBE_QPS=$2; shift 2 ;;
	--probe-secs) PROBE_SECS=$2; shift 2 ;;
	--probe-rounds) PROBE_ROUNDS=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--out) OUT_FILE=$2; shift 2 ;;
	--csv) CSV_FILE=$2; shift 2 ;;
	--quick) REPS=1; DURATION=2; PROBE_ROUNDS=2; PROBE_SECS=1; shift ;;
	--no-threads) DO_THREADS=0; shift ;;
	--no-growth) DO_GROWTH=0; shift ;;
	--keep) KEEP=1; shift ;;
	--no-netns) USE_NETNS=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done
for v in REPS DURATION OUTSTANDING CLIENTS PROBE_QPS PROBE_SECS PROBE_ROUNDS SEED; do
	[[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a number" >&2; exit 2; }
done
if [ "$REPS" -lt 1 ] || [ "$DURATION" -lt 1 ] || [ "$PROBE_QPS" -lt 1 ] || [ "$PROBE_SECS" -lt 1 ] ||
	[ "$PROBE_ROUNDS" -lt 1 ]; then
	echo "run.sh: --reps, --duration, --probe-qps, --probe-secs and --probe-rounds must be >= 1" >&2
	exit 2
fi
# relative paths are taken from where run.sh was started
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
case $OUT_FILE in /* | "") ;; *) OUT_FILE=$PWD/$OUT_FILE ;; esac
case $CSV_FILE in /* | "") ;; *) CSV_FILE=$PWD/$CSV_FILE ;; esac

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ------------------------------------------------------- network namespace
# Re-run inside a new network namespace whose only device is lo: no packet of
# any server (or of a misconfigured one) can leave the machine.
if [ "${LOKI_BENCH_NETNS:-}" = 1 ]; then
	ip link set lo up 2>/dev/null || die "cannot bring lo up in the network namespace"
	ISOLATION="private network namespace (unshare -n), loopback only"
elif [ "$USE_NETNS" = 1 ]; then
	[ "$(id -u)" = 0 ] || die "needs root for the private network namespace (or --no-netns)"
	{ command -v unshare >/dev/null && command -v ip >/dev/null; } || die "needs unshare and ip (util-linux, iproute2)"
	LOKI_BENCH_NETNS=1 exec unshare -n -- "$BASH" "${BASH_SOURCE[0]}" "${ORIG_ARGS[@]}"
else
	ISOLATION="host network namespace (--no-netns); every server listens and forwards on 127.0.0.1 only"
fi

# No LOKI_* setting of the caller may leak into the runs.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^LOKI_' || true)

# ------------------------------------------------------------------ checks
for t in dnsperf dig nsd taskset timeout awk sort ps; do
	command -v "$t" >/dev/null || die "missing $t (apt-get install -y dnsperf bind9-dnsutils nsd util-linux procps)"
done
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (server and load generator on different cores)"
LOKI=$BUILD/resolver/loki-resolver
CLK_TCK=$(getconf CLK_TCK)
ADDR=127.0.0.1
UP_PORT=5300
# NSD shares the load generator's core: in the miss scenario the pair is the
# client side; the server's core stays the server's alone.
UP_CPU=$CLIENT_CPU
if [ "$(nproc)" -ge 3 ]; then SPREAD_CPUS="$SERVER_CPU,2"; else SPREAD_CPUS="$SERVER_CPU,$CLIENT_CPU"; fi

canon_scen() { # LIST -> the known ones, in run order (miss last: it churns the cache)
	local s out=
	for s in blocked allowed-hot mixed tcp-hot hit-spread miss; do
		[[ ",$1," == *",$s,"* ]] && out+=${out:+,}$s
	done
	echo "$out"
}
for s in ${SCENARIOS//,/ }; do
	case $s in blocked | allowed-hot | miss | mixed | tcp-hot) ;; *) die "unknown scenario $s" ;; esac
done
SCENARIOS=$(canon_scen "$SCENARIOS")
for p in ${PEERS//,/ }; do
	case $p in echo | loki | unbound | dnsmasq | kresd) ;; *) die "unknown peer $p" ;; esac
	case $p in
	unbound | dnsmasq) command -v "$p" >/dev/null || die "$p is not installed (apt-get install -y $p)" ;;
	kresd) command -v kresd >/dev/null || die "kresd is not installed (apt-get install -y knot-resolver)" ;;
	esac
done
if [[ ",$PEERS," == *,loki,* ]] || [ "$DO_THREADS" = 1 ] || [ "$DO_GROWTH" = 1 ]; then
	[ -x "$LOKI" ] || die "no $LOKI (build it, or pass --build DIR)"
fi

RUN=$(mktemp -d "${TMPDIR:-/tmp}/loki-bench.XXXXXX")
mkdir -p "$RUN/q" "$RUN/log"
T_START=$(date +%s)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

# --------------------------------------------------------- process control
STARTED=() # PIDs started by this script, stopped by PID on the way out

descendants() { # PID -> its descendants' PIDs
	local k
	for k in $(ps -o pid= --ppid "$1" 2>/dev/null || true); do
		echo "$k"
		descendants "$k"
	done
}
stop_pid() { # PID: TERM, up to 5 s, then KILL; also its leftover children
	local pid=$1 kids k i
	kids=$(descendants "$pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && { log "pid $pid ignores TERM: KILL"; kill -KILL "$pid" 2>/dev/null || true; }
	fi
	wait "$pid" 2>/dev/null || true
	for k in $kids; do
		if kill -0 "$k" 2>/dev/null; then kill -TERM "$k" 2>/dev/null || true; fi
	done
	local keep=() p
	for p in "${STARTED[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
	STARTED=("${keep[@]}")
}
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${STARTED[@]}"; do stop_pid "$p"; done
	if [ "$KEEP" = 1 ]; then log "scratch directory kept: $RUN"; else rm -rf "$RUN"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- helpers
calc() { awk "BEGIN { $1 }"; }
dq() { # PORT NAME TYPE [+tcp] -> "RCODE addr addr ..." (TIMEOUT if no answer)
	local out st
	out=$(dig +tries=1 +time=2 ${4:+"$4"} +noall +comments +answer -p "$1" @"$ADDR" "$2" "$3" 2>/dev/null) || true
	st=$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$out" | head -n1)
	echo "${st:-TIMEOUT} $(awk '!/^;/ && NF >= 5 { printf "%s ", $5 }' <<<"$out")"
}
proc_ticks() { # PID -> CPU ticks (user+system, all threads) of it, its live
	# descendants and its reaped children (cutime+cstime: dnsmasq forks per TCP connection)
	local p t=0 v
	for p in "$1" $(descendants "$1"); do
		v=$(awk -v main="$([ "$p" = "$1" ] && echo 1 || echo 0)" '{ sub(/^.*\) /, "");
			print $12 + $13 + (main ? $14 + $15 : 0) }' "/proc/$p/stat" 2>/dev/null) || v=0
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
udp_drops() { # UDP datagrams the kernel dropped for want of socket buffer space (this namespace)
	awk '/^Udp:/ { if (!k) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") k = i } else { print $k; exit } }' /proc/net/snmp
}
core_ticks() { # CPU -> "busy total" ticks from /proc/stat
	awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
fmt_int() { awk -v x="${1:-}" 'BEGIN { if (x == "" || x == "nan") { printf "n/a"; exit }
	x = int(x + 0.5); s = ""; while (x >= 1000) { s = sprintf(",%03d", x % 1000) s; x = int(x / 1000) }
	printf "%d%s", x, s }'; }
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || a == "nan" || b == "nan" || b + 0 == 0) printf "–"; else printf "%.2f×", a / b }'; }

# ----------------------------------------------------------- query files
# dnsperf query files ("NAME TYPE" lines), all generated from --seed so every
# run sends the same names.
gen() { # SEED COUNT SUFFIX -> "<12 random [a-z0-9]>SUFFIX A" lines
	awk -v seed="$1" -v n="$2" -v suf="$3" 'BEGIN { srand(seed); c = "abcdefghijklmnopqrstuvwxyz0123456789"
		for (i = 0; i < n; i++) { s = ""; for (j = 0; j < 12; j++) s = s substr(c, int(rand() * 36) + 1, 1); print s suf " A" } }'
}
HOT=$RUN/q/hot.txt
printf '%s\n' "api.anthropic.com A" "api.anthropic.com AAAA" "api.openai.com A" "api.openai.com AAAA" \
	"generativelanguage.googleapis.com A" "generativelanguage.googleapis.com AAAA" >"$HOT"
mix() { # every 10th line becomes an allowed (hot) name: 90 % blocked, 10 % allowed
	awk -v hot="$HOT" 'BEGIN { while ((getline l < hot) > 0) h[n++] = l } { print (NR % 10 ? $0 : h[(NR / 10) % n]) }'
}
MAX_QPS=400000 # above anything one dnsperf core reaches: the count bound of a run
log "generating query files in $RUN/q"
NLOOP=1000000
PROBE_N=$((PROBE_QPS * PROBE_SECS * 3 / 2 + 100))
MISS_N=$((DURATION * 250000))
gen "$SEED" "$NLOOP" .com >"$RUN/q/blocked.txt"
gen $((SEED + 1)) "$NLOOP" .com | mix >"$RUN/q/mixed.txt"
gen $((SEED + 5)) 50000 .com | mix >"$RUN/q/warmup.txt"
for rep in $(seq "$REPS"); do # fresh miss names for every run
	gen $((SEED + 100 + rep)) "$MISS_N" ".r$rep.bench.test" >"$RUN/q/miss-r$rep.txt"
done
for r in $(seq "$PROBE_ROUNDS"); do # and fresh probe names for every latency round
	gen $((SEED + 1000 + r)) "$PROBE_N" .com >"$RUN/q/blocked-probe-r$r.txt"
	gen $((SEED + 2000 + r)) "$PROBE_N" .com | mix >"$RUN/q/mixed-probe-r$r.txt"
	gen $((SEED + 3000 + r)) "$PROBE_N" ".p$r.probe.bench.test" >"$RUN/q/miss-probe-r$r.txt"
done

# ------------------------------------------------------------ echo floor
bench_bin() { # NAME -> the path of tests/bench/NAME: the build's, else compiled from NAME.c
	local b=$BUILD/tests/bench/$1
	if [ ! -x "$b" ] || [ "$b" -ot "$HERE/$1.c" ]; then
		b=$RUN/bin/$1
		mkdir -p "$RUN/bin"
		${CC:-cc} -O2 -Wall -o "$b" "$HERE/$1.c" || die "cannot compile $1.c"
	fi
	echo "$b"
}
ECHO_BIN=$(bench_bin echo)
STALLS_BIN=$(bench_bin stalls)
stalls() { # KEY: 5 s of tests/bench/stalls on the server CPU -> R[stalls|KEY]
	R[stalls|$1]=$(taskset -c "$SERVER_CPU" "$STALLS_BIN" 5 | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%s gaps over 50 µs, %s over 200 µs, %s over 1 ms, the longest %s ms, %s ms lost in all, in %s s\n",
			v["gaps_50us"], v["gaps_200us"], v["gaps_1ms"], v["max_ms"], v["lost_ms"], v["seconds"] }') || R[stalls|$1]='(failed)'
	log "stalls of CPU $SERVER_CPU ($1): ${R[stalls|$1]}"
}

# --------------------------------------------------------------- upstream
render() { # TEMPLATE OUTPUT PORT DIR
	sed -e "s|@ADDR@|$ADDR|g" -e "s|@PORT@|$3|g" -e "s|@UPADDR@|$ADDR|g" -e "s|@UPPORT@|$UP_PORT|g" \
		-e "s|@PEERDIR@|$4|g" -e "s|@RUNDIR@|$RUN|g" -e "s|@ZONEDIR@|$HERE/upstream/zones|g" "$1" >"$2"
}
render "$HERE/upstream/nsd.conf.in" "$RUN/nsd.conf" "$UP_PORT" "$RUN"
log "NSD upstream on $ADDR:$UP_PORT (cpu $UP_CPU)"
taskset -c "$UP_CPU" nsd -d -c "$RUN/nsd.conf" >"$RUN/log/nsd.out" 2>&1 &
NSD_PID=$!
STARTED+=("$NSD_PID")
for i in $(seq 100); do
	[ "$(dq "$UP_PORT" api.anthropic.com A)" = "NOERROR 203.0.113.10 " ] && break
	kill -0 "$NSD_PID" 2>/dev/null || { cat "$RUN/log/nsd.out" >&2; die "NSD died"; }
	[ "$i" = 100 ] && die "NSD does not answer on $ADDR:$UP_PORT"
	sleep 0.1
done

# ------------------------------------------------------------------ units
# A unit is one server configuration; every run of it starts a fresh process.
UNITS=()
declare -A U_KIND U_PORT U_ENV U_CPUS U_SCEN U_FILL U_DESC U_CHECK
add_unit() { # NAME KIND PORT CPUS SCENARIOS DESCRIPTION [ENV lines] [CACHE FILL]
	UNITS+=("$1")
	U_KIND[$1]=$2 U_PORT[$1]=$3 U_CPUS[$1]=$4 U_SCEN[$1]=$5 U_DESC[$1]=$6 U_ENV[$1]=${7:-} U_FILL[$1]=${8:-0}
}
LOKI_ENV=$'LOKI_NETWORK_EGRESS_POLICY=ai-only\nLOKI_ALLOWED_HOSTS=*.bench.test\nLOKI_LOG_QUERIES=none'
declare -A PORT_OF=([echo]=5310 [loki]=5311 [unbound]=5312 [dnsmasq]=5313 [kresd]=5314)
MAIN=()
for p in echo loki unbound dnsmasq kresd; do
	[[ ",$PEERS," == *",$p,"* ]] || continue
	sc=$SCENARIOS
	[ "$p" = echo ] && sc=$(canon_scen "${SCENARIOS/tcp-hot/}") # UDP only
	case $p in
	echo) d="recvmmsg/sendmmsg UDP echo, NXDOMAIN for everything (tests/bench/echo.c)" ;;
	loki) d="loki-resolver, LOKI_THREADS=1" ;;
	unbound) d="Unbound $(unbound -V 2>/dev/null | awk 'NR == 1 { print $2 }') (Debian $(pkgver unbound)), num-threads 1" ;;
	dnsmasq) d="dnsmasq $(dnsmasq --version | awk 'NR == 1 { print $3 }') (Debian $(pkgver dnsmasq-base))" ;;
	kresd) d="Knot Resolver $(kresd --version 2>/dev/null | awk '{ print $NF }') (Debian $(pkgver knot-resolver)), 1 process" ;;
	esac
	env=
	[ "$p" = loki ] && env=$LOKI_ENV$'\nLOKI_THREADS=1'
	add_unit "$p" "$p" "${PORT_OF[$p]}" "$SERVER_CPU" "$sc" "$d" "$env"
	MAIN+=("$p")
done
UDP_SCEN=$(canon_scen "${SCENARIOS/tcp-hot/}")
if [ "$DO_THREADS" = 1 ] && [ -n "$UDP_SCEN" ]; then
	add_unit loki-t2 loki 5330 "$SERVER_CPU" "$UDP_SCEN" "loki-resolver, LOKI_THREADS=2, both threads on CPU $SERVER_CPU" \
		"$LOKI_ENV"$'\nLOKI_THREADS=2'
	add_unit loki-t2-spread loki 5331 "$SPREAD_CPUS" "$UDP_SCEN" "loki-resolver, LOKI_THREADS=2 on CPUs $SPREAD_CPUS" \
		"$LOKI_ENV"$'\nLOKI_THREADS=2'
fi
ALLOW_SIZES=(1000 100000)
CACHE_FILLS=(100 10000 100000)
if [ "$DO_GROWTH" = 1 ]; then
	# allowlist growth: 3 names (the built-in ones: the "loki" unit), 1,000, 100,000
	[[ ",$PEERS," == *,loki,* ]] || add_unit loki loki 5311 "$SERVER_CPU" blocked,allowed-hot \
		"loki-resolver, LOKI_THREADS=1" "$LOKI_ENV"$'\nLOKI_THREADS=1'
	port=5340
	for n in "${ALLOW_SIZES[@]}"; do
		f=$RUN/q/allow-$n.rpz
		awk -v n="$n" 'BEGIN { print "$ORIGIN allow.rpz."; print "$TTL 300"
			print "@ SOA localhost. root.localhost. 1 3600 600 86400 30"; print "@ NS localhost."
			for (i = 1; i <= n; i++) print "host" i ".example.com CNAME rpz-passthru." }' >"$f"
		add_unit "loki-allow$n" loki "$port" "$SERVER_CPU" blocked,allowed-hot \
			"loki-resolver, LOKI_THREADS=1, LOKI_ZONE with $n extra names" "$LOKI_ENV"$'\nLOKI_THREADS=1\n'"LOKI_ZONE=$f"
		port=$((port + 1))
	done
	# cache growth: allowed-hot and hit-spread after filling the cache
	for n in "${CACHE_FILLS[@]}"; do
		gen $((SEED + 200 + n)) "$n" ".fill.bench.test" >"$RUN/q/fill-$n.txt"
		add_unit "loki-cache$n" loki "$port" "$SERVER_CPU" allowed-hot,hit-spread \
			"loki-resolver, LOKI_THREADS=1, LOKI_CACHE_SIZE=200000, cache filled with $n answers" \
			"$LOKI_ENV"$'\nLOKI_THREADS=1\nLOKI_CACHE_SIZE=200000' "$n"
		port=$((port + 1))
	done
fi
[ ${#UNITS[@]} -gt 0 ] || die "nothing to run"

start_unit() { # UNIT -> PID (global), 0 when it does not come up
	local u=$1 port=${U_PORT[$1]} dir=$RUN/$1 envs=() l
	rm -rf "$dir"
	mkdir -p "$dir"
	while IFS= read -r l; do [ -n "$l" ] && envs+=("$l"); done <<<"${U_ENV[$u]}"
	# taskset and env exec the server, so $! is the server's own PID
	local logf=$RUN/log/$u.out cpus=${U_CPUS[$u]}
	case ${U_KIND[$u]} in
	echo) taskset -c "$cpus" "$ECHO_BIN" -a "$ADDR" -p "$port" >>"$logf" 2>&1 & ;;
	loki) env "${envs[@]}" taskset -c "$cpus" "$LOKI" --listen "$ADDR:$port" --upstream "$ADDR:$UP_PORT" >>"$logf" 2>&1 & ;;
	unbound)
		render "$HERE/peers/unbound.conf.in" "$dir/unbound.conf" "$port" "$dir"
		taskset -c "$cpus" unbound -d -c "$dir/unbound.conf" >>"$logf" 2>&1 & ;;
	dnsmasq)
		render "$HERE/peers/dnsmasq.conf.in" "$dir/dnsmasq.conf" "$port" "$dir"
		taskset -c "$cpus" dnsmasq -k -C "$dir/dnsmasq.conf" >>"$logf" 2>&1 & ;;
	kresd)
		render "$HERE/peers/kresd.conf.in" "$dir/kresd.conf" "$port" "$dir"
		taskset -c "$cpus" kresd -n -c "$dir/kresd.conf" "$dir" </dev/null >>"$logf" 2>&1 & ;;
	esac
	PID=$!
	STARTED+=("$PID")
	for l in $(seq 200); do # 20 s at most (a 100,000-name zone takes a moment)
		kill -0 "$PID" 2>/dev/null || break
		[ "$(dq "$port" api.anthropic.com A | cut -d' ' -f1)" != TIMEOUT ] && return 0
		sleep 0.1
	done
	log "$u did not come up; its log:"
	tail -n 20 "$RUN/log/$u.out" >&2 || true
	stop_pid "$PID"
	PID=0
}

# ------------------------------------------------------------ correctness
# NAME TYPE EXPECT: NX = must be NXDOMAIN, ANY = must not be NXDOMAIN,
# else an address that must be in the answer. "+tcp" asks over TCP.
CHECKS=(
	"api.anthropic.com A 203.0.113.10" "api.anthropic.com AAAA 2001:db8::10"
	"api.openai.com A 203.0.113.20" "api.openai.com AAAA 2001:db8::20"
	"generativelanguage.googleapis.com A 203.0.113.30" "generativelanguage.googleapis.com AAAA 2001:db8::30"
	"check-7q2x.bench.test A 198.51.100.1" "api.openai.com A 203.0.113.20 +tcp"
	"check-nx-81kz.com A NX" "example.org AAAA NX" "anthropic.com A NX" "openai.com A NX"
	"api.anthropic.com.evil.example A NX" "xbench.test A NX" "bench.test.example.com A NX"
)
check_unit() {
	local u=$1 c name type exp tcp res pass=0 total=0 fails='' extra=()
	[[ $u == loki-allow* ]] && extra=("host1.example.com A ANY" "host0.example.com A NX")
	for c in "${CHECKS[@]}" "${extra[@]}"; do
		read -r name type exp tcp <<<"$c"
		res=$(dq "${U_PORT[$u]}" "$name" "$type" "${tcp:-}")
		total=$((total + 1))
		case $exp in
		NX) [ "${res%% *}" = NXDOMAIN ] ;;
		ANY) [ "${res%% *}" != NXDOMAIN ] && [ "${res%% *}" != TIMEOUT ] ;;
		*) [ "${res%% *}" = NOERROR ] && [[ " $res " == *" $exp "* ]] ;;
		esac && pass=$((pass + 1)) || fails+="$name/$type${tcp:+/tcp} → ${res% }; "
	done
	U_CHECK[$u]="$pass/$total${fails:+ (${fails%; })}"
	log "  $u: correctness $pass/$total${fails:+, failed: ${fails%; }}"
}

# --------------------------------------------------------------- measuring
declare -A R CMD_SEEN # R[unit|scenario|rep|field]
CMDS=()

qfile() { # UNIT SCENARIO REP -> "FILE EXTRA-ARGS..." for dnsperf
	local f opts=''
	case $2 in
	blocked) f=$RUN/q/blocked.txt ;;
	mixed) f=$RUN/q/mixed.txt ;;
	allowed-hot) f=$HOT ;;
	tcp-hot) f=$HOT opts="-m tcp" ;;
	hit-spread) f=$RUN/q/fill-${U_FILL[$1]}.txt ;;
	miss) f=$RUN/q/miss-r$3.txt ;;
	esac
	echo "$f $opts"
}
parse_dnsperf() { # FILE -> key=value lines
	awk '/Queries sent:/ { print "sent=" $3 } /Queries completed:/ { print "completed=" $3 }
		/Queries lost:/ { print "lost=" $3 } /Queries per second:/ { print "qps=" $4 }
		/Average Latency \(s\):/ { print "lat_avg=" $4 }
		/Response codes:/ { sub(/.*Response codes: */, ""); gsub(/ \([0-9.]+%\)/, ""); gsub(/,/, ""); print "rcodes=" $0 }' "$1"
}

saturate() { # UNIT SCENARIO REP
	local u=$1 s=$2 rep=$3 f extra n out=$RUN/log/$1.$2.r$3
	read -r f extra <<<"$(qfile "$u" "$s" "$rep")"
	if [ "$s" = miss ]; then n=1; else n=$(((DURATION * MAX_QPS + $(wc -l <"$f") - 1) / $(wc -l <"$f"))); fi
	# $extra: "-m tcp" or nothing, split into words on purpose.
	# shellcheck disable=SC2206
	local args=(-s "$ADDR" -p "${U_PORT[$u]}" -d "$f" -l "$DURATION" -n "$n" -q "$OUTSTANDING" -c "$CLIENTS" -t "$QTIMEOUT" $extra)
	local p0 p1 s0 s1 c0 c1 d0 d1
	p0=$(proc_ticks "$PID") s0=$(core_ticks "$SERVER_CPU") c0=$(core_ticks "$CLIENT_CPU") d0=$(udp_drops)
	timeout $((DURATION + 30)) taskset -c "$CLIENT_CPU" dnsperf "${args[@]}" >"$out" 2>&1 ||
		log "  dnsperf exit status $? ($u/$s, see $out)"
	sleep 0.2 # let dnsmasq reap its TCP children: their time moves to cutime
	p1=$(proc_ticks "$PID") s1=$(core_ticks "$SERVER_CPU") c1=$(core_ticks "$CLIENT_CPU") d1=$(udp_drops)
	R[$u|$s|$rep|drops]=$((${d1:-0} - ${d0:-0}))
	local k v
	while IFS='=' read -r k v; do R[$u|$s|$rep|$k]=$v; done < <(parse_dnsperf "$out")
	local done=${R[$u|$s|$rep|completed]:-0}
	R[$u|$s|$rep|us]=$(calc "if ($done > 0) printf \"%.2f\", ($p1 - $p0) * 1e6 / $CLK_TCK / $done; else print \"nan\"")
	R[$u|$s|$rep|srv]=$(awk -v a="$s0" -v b="$s1" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }')
	# busy time on the server's core that was not the server's: softirq and other processes (noise)
	R[$u|$s|$rep|oth]=$(awk -v a="$s0" -v b="$s1" -v p=$((p1 - p0)) 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; o = y[1] - x[1] - p; printf "%.0f", (d > 0 && o > 0 ? 100 * o / d : 0) }')
	R[$u|$s|$rep|cli]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }')
	if [ -z "${CMD_SEEN[$s]:-}" ] && [[ " ${MAIN[*]} " == *" $u "* ]]; then
		CMD_SEEN[$s]=1
		CMDS+=("$s: taskset -c $CLIENT_CPU dnsperf ${args[*]//$RUN\/q\//}")
	fi
	log "  $u/$s run $rep: ${R[$u|$s|$rep|qps]:-?} q/s, ${R[$u|$s|$rep|us]} µs/q, lost ${R[$u|$s|$rep|lost]:-?} (UDP drops ${R[$u|$s|$rep|drops]}), cores ${R[$u|$s|$rep|srv]}% (not server ${R[$u|$s|$rep|oth]}%)/${R[$u|$s|$rep|cli]}% [${R[$u|$s|$rep|rcodes]:-}]"
}

pct() { # [FILE] (sorted seconds, one per line) -> "N P50-MS P99-MS"
	awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "0 nan nan"; exit }
		i = int(0.5 * NR + 0.999999); j = int(0.99 * NR + 0.999999)
		printf "%d %.3f %.3f\n", NR, v[i] * 1000, v[j] * 1000 }' "$@"
}

# A latency probe: fixed-rate load with per-query latencies (dnsperf -v).
# probe_start launches it in the background, probe_end waits for it and
# files its latencies under TAG (sorted seconds in $RUN/lat/UNIT.SCENARIO.TAG).
declare -A PROBE_PID
probe_start() { # UNIT SCENARIO ROUND TAG
	local u=$1 s=$2 r=$3 tag=$4 f extra out=$RUN/log/$1.$2.probe.$4 n
	read -r f extra <<<"$(qfile "$u" "$s" 0)"
	case $s in
	blocked | mixed | miss) f=$RUN/q/$s-probe-r$r.txt n=1 ;;
	*) n=$(((PROBE_QPS * PROBE_SECS * 2 + $(wc -l <"$f") - 1) / $(wc -l <"$f"))) ;;
	esac
	# shellcheck disable=SC2206 # as in saturate
	local args=(-s "$ADDR" -p "${U_PORT[$u]}" -d "$f" -l "$PROBE_SECS" -n "$n" -Q "$PROBE_QPS" -q "$OUTSTANDING" -c "$CLIENTS" -t "$QTIMEOUT" -v $extra)
	timeout $((PROBE_SECS + 30)) taskset -c "$CLIENT_CPU" dnsperf "${args[@]}" >"$out" 2>&1 &
	PROBE_PID[$u|$tag]=$!
	if [ -z "${CMD_SEEN[probe]:-}" ]; then
		CMD_SEEN[probe]=1
		CMDS+=("latency probe ($s): taskset -c $CLIENT_CPU dnsperf ${args[*]//$RUN\/q\//}")
	fi
}
probe_end() { # UNIT SCENARIO TAG
	local u=$1 s=$2 tag=$3 out=$RUN/log/$1.$2.probe.$3 k="$1|$2|probe-$3"
	wait "${PROBE_PID[$u|$tag]}" || log "  dnsperf (probe) exit status $? ($u/$s)"
	# The answers of the first and last tenth are left out: the two
	# dnsperf processes of a shared probe share a core, and one starting
	# (reading its query file) or finishing (writing its report) holds the
	# other up for a few ms, which showed as a stall at the start or end of
	# every probe of whichever was started first or second.
	awk '/^> [A-Z]+ / && $NF ~ /^[0-9.]+$/ { v[++n] = $NF }
		END { for (i = int(n / 10) + 1; i <= n - int(n / 10); i++) print v[i] }' "$out" | sort -g >"$RUN/lat/$u.$s.$tag"
	read -r "R[$k|n]" "R[$k|p50]" "R[$k|p99]" <<<"$(pct "$RUN/lat/$u.$s.$tag")"
	R[$k|lost]=$(awk '/Queries lost:/ { print $3 }' "$out")
	log "  $u/$s probe ($tag): p50 ${R[$k|p50]} ms, p99 ${R[$k|p99]} ms, lost ${R[$k|lost]:-?}"
}
pool() { # UNIT SCENARIO GLOB KEY: R[UNIT|SCENARIO|KEY|n,p50,p99,lost] over the files TAG-matching GLOB
	local u=$1 s=$2 g=$3 key=$4 f t lost=0 files=()
	for f in "$RUN/lat/$u.$s".$g; do
		[ -e "$f" ] || continue
		files+=("$f")
		t=${f#"$RUN/lat/$u.$s."}
		lost=$((lost + ${R[$u|$s|probe-$t|lost]:-0}))
	done
	[ ${#files[@]} -gt 0 ] || return 0
	read -r "R[$u|$s|$key|n]" "R[$u|$s|$key|p50]" "R[$u|$s|$key|p99]" <<<"$(sort -g -m "${files[@]}" | pct)"
	R[$u|$s|$key|lost]=$lost
}

warm_unit() { # UNIT LABEL: the hot names into the cache, then 1 s of mixed load at a bounded rate
	local u=$1 i qn qt
	for i in 1 2; do while read -r qn qt; do dq "${U_PORT[$u]}" "$qn" "$qt" >/dev/null; done <"$HOT"; done
	timeout 20 taskset -c "$CLIENT_CPU" dnsperf -s "$ADDR" -p "${U_PORT[$u]}" -d "$RUN/q/warmup.txt" -n 1 -l 1 \
		-Q 30000 -q "$OUTSTANDING" -c "$CLIENTS" -t 1 >"$RUN/log/$u.warmup.$2" 2>&1 || true
}

prefill() { # UNIT REP: the unit's cache gets U_FILL distinct answers
	local u=$1 n=${U_FILL[$1]} out=$RUN/log/$1.fill.r$2
	timeout 150 taskset -c "$CLIENT_CPU" dnsperf -s "$ADDR" -p "${U_PORT[$u]}" -d "$RUN/q/fill-$n.txt" -n 1 -l 120 \
		-q "$OUTSTANDING" -c "$CLIENTS" -t 2 >"$out" 2>&1 || log "  dnsperf (fill) exit status $? ($u)"
	R[$u|fill|$2]=$(awk '/Response codes:/ { for (i = 1; i <= NF; i++) if ($i == "NOERROR") print $(i + 1) }' "$out")
	log "  $u: cache filled with ${R[$u|fill|$2]:-0} of $n answers"
}

# -------------------------------------------------------------------- run
# Rep by rep (rep 1 of every unit, then rep 2, ...), so that a slow moment of
# the machine spreads over all units; a fresh server process for every rep.
T0=$(date +%s)
declare -A DEAD
for rep in $(seq "$REPS"); do
	for u in "${UNITS[@]}"; do
		[ -n "${DEAD[$u]:-}" ] && continue
		log "$u (run $rep/$REPS) on $ADDR:${U_PORT[$u]}, cpu ${U_CPUS[$u]}"
		start_unit "$u"
		if [ "$PID" = 0 ]; then DEAD[$u]="did not start (run $rep)"; U_CHECK[$u]=${U_CHECK[$u]:-"did not start"}; continue; fi
		[ "$rep" = 1 ] && check_unit "$u"
		warm_unit "$u" "r$rep"
		[ "${U_FILL[$u]}" -gt 0 ] && prefill "$u" "$rep"
		for s in ${U_SCEN[$u]//,/ }; do
			saturate "$u" "$s" "$rep"
			kill -0 "$PID" 2>/dev/null || { DEAD[$u]="died during $s (run $rep)"; log "$u died during $s"; break; }
		done
		stop_pid "$PID"
	done
done

# Latency: every main server runs at once (a fresh process each, all on the
# server CPU), and loki-resolver is probed at the same moments as each peer
# in turn: two dnsperf processes, one per server, start together. A shared
# machine stalls a core now and then (here: dozens of gaps over 50 us and a
# few over 1 ms in every 5 s, on an idle core); such a stall delays whatever
# the core serves at that moment, so probing one server after another
# measured mostly when each was probed (one server's p99 moved 10x from one
# probe to the next), while servers probed together see the same stalls.
# Each round covers every scenario and every peer, the peers' order rotating.
# Without loki among the servers, each one is probed alone.
stalls before
declare -A LPID
LAT_UNITS=()
mkdir -p "$RUN/lat"
for u in "${MAIN[@]}"; do
	[ -n "${DEAD[$u]:-}" ] && continue
	log "$u (latency) on $ADDR:${U_PORT[$u]}, cpu ${U_CPUS[$u]}"
	start_unit "$u"
	if [ "$PID" = 0 ]; then DEAD[$u]="did not start (latency)"; continue; fi
	LPID[$u]=$PID
	LAT_UNITS+=("$u")
	warm_unit "$u" latency
done
PARTNERS=()
for u in "${LAT_UNITS[@]}"; do [ "$u" = loki ] || PARTNERS+=("$u"); done
[ -n "${LPID[loki]:-}" ] || PARTNERS=("${LAT_UNITS[@]}")
NL=${#PARTNERS[@]}
partner_runs() { # SCENARIO: true if a partner has it
	local p
	for p in "${PARTNERS[@]}"; do [[ ",${U_SCEN[$p]}," == *",$1,"* ]] && return 0; done
	return 1
}
for r in $(seq "$PROBE_ROUNDS"); do
	log "latency round $r/$PROBE_ROUNDS"
	for s in ${SCENARIOS//,/ }; do
		for k in $(seq 0 $((NL - 1))); do
			u=${PARTNERS[$(((k + r - 1) % NL))]}
			# with_loki: loki is probed too (PARTNERS never holds loki then)
			with_loki=0
			[ -n "${LPID[loki]:-}" ] && [[ ",${U_SCEN[loki]}," == *",$s,"* ]] && kill -0 "${LPID[loki]}" 2>/dev/null && with_loki=1
			[[ ",${U_SCEN[$u]}," == *",$s,"* ]] || u=''
			[ -n "$u" ] && ! kill -0 "${LPID[$u]}" 2>/dev/null && { DEAD[$u]=${DEAD[$u]:-"died during the latency probes"}; u=''; }
			if [ -n "$u" ]; then
				# who starts first alternates from round to round
				[ "$with_loki" = 1 ] && [ $((r % 2)) = 1 ] && probe_start loki "$s" "$r" "r$r-$u"
				probe_start "$u" "$s" "$r" "r$r"
				[ "$with_loki" = 1 ] && [ $((r % 2)) = 0 ] && probe_start loki "$s" "$r" "r$r-$u"
				probe_end "$u" "$s" "r$r"
				[ "$with_loki" = 1 ] && probe_end loki "$s" "r$r-$u"
			elif [ "$with_loki" = 1 ] && [ "$k" = 0 ] && ! partner_runs "$s"; then
				# a scenario only loki runs (tcp-hot without TCP peers): alone
				probe_start loki "$s" "$r" "r$r"
				probe_end loki "$s" "r$r"
			fi
		done
	done
done
for u in "${LAT_UNITS[@]}"; do stop_pid "${LPID[$u]}"; done
stalls after
stop_pid "$NSD_PID"
ELAPSED=$(($(date +%s) - T0))

# best of the reps: highest QPS, lowest CPU per query (noise only adds cost)
for u in "${UNITS[@]}"; do
	for s in ${U_SCEN[$u]//,/ }; do
		bq='' bu='' lq='' lu='' ls=0 lr='' ld=0
		for rep in $(seq "$REPS"); do
			q=${R[$u|$s|$rep|qps]:-}
			[ -n "$q" ] || continue
			us=${R[$u|$s|$rep|us]}
			lq+="${lq:+, }$(fmt_int "$q")" lu+="${lu:+, }$us" ls=$((ls + ${R[$u|$s|$rep|lost]:-0})) ld=$((ld + ${R[$u|$s|$rep|drops]:-0}))
			lr=${R[$u|$s|$rep|rcodes]:-}
			{ [ -z "$bq" ] || calc "exit !($q > $bq)"; } && bq=$q
			[ "$us" != nan ] && { [ -z "$bu" ] || calc "exit !($us < $bu)"; } && bu=$us
		done
		# latency: the pool of every round's per-query latencies; for loki
		# also the pool of the probes it shared with each peer
		pool "$u" "$s" 'r*' probe
		if [ "$u" = loki ]; then
			for p in "${PARTNERS[@]}"; do pool loki "$s" "r*-$p" "with-$p"; done
		fi
		[ -n "$bq" ] || continue
		R[$u|$s|qps]=$bq R[$u|$s|us]=${bu:-nan} R[$u|$s|allq]=$lq R[$u|$s|allu]=$lu R[$u|$s|lost]=$ls R[$u|$s|drops]=$ld R[$u|$s|rcodes]=$lr
	done
done

# ------------------------------------------------------------------ report
LOKI_VER=$("$LOKI" --version 2>/dev/null | head -n1 || echo '?')
GIT_VER=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo 'not a git tree')
have() { [ -n "${R[$1|$2|qps]:-}" ]; }
cell_vs() { # VALUE UNIT-METRIC-KEY SCENARIO: "(×unbound / ×echo)"
	echo "($(ratio "$1" "${R[unbound|$3|$2]:-}") / $(ratio "$1" "${R[echo|$3|$2]:-}"))"
}
report() {
	local u s row hdr="| scenario |" sep="|---|"
	for u in "${MAIN[@]}"; do hdr+=" $u |"; sep+="---:|"; done
	echo "# loki-resolver benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); wall time $(($(date +%s) - T_START)) s (measuring $ELAPSED s)"
	# shellcheck source=/dev/null
	echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"); load average at start $LOADAVG"
	echo "- command: tests/bench/run.sh ${ORIG_ARGS[*]}"
	echo "- isolation: $ISOLATION"
	echo "- pinning (taskset): server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU, NSD on CPU $UP_CPU"
	echo "- load: dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }') (Debian $(pkgver dnsperf)), -q $OUTSTANDING outstanding, -c $CLIENTS sockets, -t $QTIMEOUT s; $REPS run(s) of $DURATION s per cell, a fresh server process each run"
	echo "- upstream: NSD $(nsd -v 2>&1 | awk 'NR == 1 { print $3 }') (Debian $(pkgver nsd)) on $ADDR:$UP_PORT: api.anthropic.com, api.openai.com, generativelanguage.googleapis.com (A 203.0.113.x, AAAA 2001:db8::x), *.bench.test A 198.51.100.1"
	echo "- loki-resolver: $LOKI ($LOKI_VER, source $GIT_VER), LOKI_NETWORK_EGRESS_POLICY=ai-only LOKI_ALLOWED_HOSTS='*.bench.test' LOKI_LOG_QUERIES=none"
	echo "- servers:"
	for u in "${UNITS[@]}"; do echo "  - **$u** (port ${U_PORT[$u]}, CPU ${U_CPUS[$u]}): ${U_DESC[$u]}${DEAD[$u]:+ — **${DEAD[$u]}**}"; done
	echo
	echo "Scenarios: **blocked** = random \`<12 chars>.com A\`, not allowlisted; **allowed-hot** = the 3 API names, A and AAAA, cache hits; **miss** = random \`<12 chars>.rN.bench.test A\`, each asked once (forwarded to NSD); **mixed** = 90 % blocked + 10 % allowed-hot; **tcp-hot** = allowed-hot over TCP (dnsperf -m tcp, $CLIENTS connections); **hit-spread** (growth only) = the names the cache was filled with, in a loop."
	echo
	echo "## CPU time per answered query (µs)"
	echo
	echo "User + system time of the server process (all threads, children included), from /proc/PID/stat before and after each saturation run, divided by the queries dnsperf got an answer to; lowest of the runs. In brackets: the multiple of Unbound's / of the echo floor's. With 2 cores the load generator caps QPS near the echo floor's rate, so this is the figure that ranks the servers."
	echo
	echo "$hdr"
	echo "$sep"
	for s in ${SCENARIOS//,/ }; do
		row="| $s |"
		for u in "${MAIN[@]}"; do
			if have "$u" "$s"; then row+=" ${R[$u|$s|us]} $(cell_vs "${R[$u|$s|us]}" us "$s") |"; else row+=" – |"; fi
		done
		echo "$row"
	done
	echo
	echo "## Throughput at saturation (answered queries per second)"
	echo
	echo "Fastest of the runs; in brackets the multiple of Unbound's / of the echo floor's QPS. Near the echo column, dnsperf (one core) is the bottleneck, not the server."
	echo
	echo "$hdr"
	echo "$sep"
	for s in ${SCENARIOS//,/ }; do
		row="| $s |"
		for u in "${MAIN[@]}"; do
			if have "$u" "$s"; then row+=" $(fmt_int "${R[$u|$s|qps]}") $(cell_vs "${R[$u|$s|qps]}" qps "$s") |"; else row+=" – |"; fi
		done
		echo "$row"
	done
	echo
	echo "## Latency at a fixed $PROBE_QPS queries per second (ms)"
	echo
	echo "p50 / p99 of the per-query latencies dnsperf -v prints at $PROBE_QPS q/s (dnsperf -Q), pooled over $PROBE_ROUNDS rounds of $PROBE_SECS s probes, the first and last tenth of each probe's answers left out. All servers run at once for this part (each idle but while probed), and loki is probed at the same moments as each peer in turn (two dnsperf processes started together), so both see the same stalls of the shared machine; fresh names for blocked, mixed and miss in every round. In brackets: p99 as a multiple of Unbound's / the echo floor's; for loki, counting only its probes shared with Unbound / with the echo floor (table below)."
	echo
	echo "The machine's own stalls of CPU $SERVER_CPU, counted by tests/bench/stalls (a 5 s clock_gettime spin; gaps between readings) just before the latency probes: ${R[stalls|before]:-?}; just after: ${R[stalls|after]:-?}."
	echo
	echo "$hdr"
	echo "$sep"
	local p p50 p99 vu ve
	for s in ${SCENARIOS//,/ }; do
		row="| $s |"
		for u in "${MAIN[@]}"; do
			p50=${R[$u|$s|probe|p50]:-} p99=${R[$u|$s|probe|p99]:-}
			if [ -n "$p50" ]; then
				vu=$p99 ve=$p99
				[ "$u" = loki ] && vu=${R[loki|$s|with-unbound|p99]:-} ve=${R[loki|$s|with-echo|p99]:-}
				row+=" $p50 / $p99 ($(ratio "$vu" "${R[unbound|$s|probe|p99]:-}") / $(ratio "$ve" "${R[echo|$s|probe|p99]:-}"))"
				[ "${R[$u|$s|probe|lost]:-0}" != 0 ] && row+=" lost ${R[$u|$s|probe|lost]}"
				row+=" |"
			else row+=" – |"; fi
		done
		echo "$row"
	done
	echo
	if [ -n "${LPID[loki]:-}" ] && [ ${#PARTNERS[@]} -gt 0 ]; then
		echo "### loki and each peer probed at the same moments: p99 (ms)"
		echo
		echo "Each cell: the peer's p99 / loki's p99 over the same $PROBE_ROUNDS probes, the ratio loki / peer, and in how many of the rounds loki's p99 was at or below the peer's."
		echo
		local h2="| scenario |" s2="|---|"
		for p in "${PARTNERS[@]}"; do h2+=" $p / loki |"; s2+="---:|"; done
		echo "$h2"
		echo "$s2"
		for s in ${SCENARIOS//,/ }; do
			row="| $s |"
			for p in "${PARTNERS[@]}"; do
				local a=${R[loki|$s|with-$p|p99]:-} b=${R[$p|$s|probe|p99]:-} r w=0 t=0 x y
				if [ -z "$a" ] || [ -z "$b" ]; then row+=" – |"; continue; fi
				for r in $(seq "$PROBE_ROUNDS"); do
					x=${R[loki|$s|probe-r$r-$p|p99]:-nan} y=${R[$p|$s|probe-r$r|p99]:-nan}
					{ [ "$x" = nan ] || [ "$y" = nan ]; } && continue
					t=$((t + 1))
					calc "exit !($x <= $y)" && w=$((w + 1))
				done
				row+=" $b / $a ($(ratio "$a" "$b"); $w of $t) |"
			done
			echo "$row"
		done
		echo
	fi
	if [ -n "${U_KIND[loki-t2]:-}" ]; then
		echo "## loki-resolver threads: QPS (µs per query)"
		echo
		echo "threads = 2 on CPU $SERVER_CPU alone shows what the second thread costs; threads = 2 on CPUs $SPREAD_CPUS shows what it gains$([ "$(nproc)" -lt 3 ] && echo ": on this $(nproc)-CPU machine the second CPU is dnsperf's (and NSD's), so the threads compete with the load generator and QPS cannot rise; µs per query then also counts time the threads spend waiting for that core")."
		echo
		echo "| scenario | threads = 1, CPU $SERVER_CPU | threads = 2, CPU $SERVER_CPU | threads = 2, CPUs $SPREAD_CPUS |"
		echo "|---|---:|---:|---:|"
		for s in ${UDP_SCEN//,/ }; do
			row="| $s |"
			for u in loki loki-t2 loki-t2-spread; do
				if have "$u" "$s"; then row+=" $(fmt_int "${R[$u|$s|qps]}") (${R[$u|$s|us]}) |"; else row+=" – |"; fi
			done
			echo "$row"
		done
		echo
	fi
	if [ -n "${U_KIND[loki-allow${ALLOW_SIZES[0]}]:-}" ]; then
		echo "## Growth: allowlist size (loki-resolver, 1 thread)"
		echo
		echo "CPU µs per answered query, QPS in brackets; ×3 = the multiple of the 3-name figure. 3 names = the built-in allowlist (+ *.bench.test); larger = an RPZ file of hostN.example.com names passed with LOKI_ZONE."
		echo
		echo "| allowlist names | blocked µs/q (QPS) | ×3 | allowed-hot µs/q (QPS) | ×3 |"
		echo "|---:|---:|---:|---:|---:|"
		for u in loki "${ALLOW_SIZES[@]/#/loki-allow}"; do
			local nm=3
			[ "$u" = loki ] || nm=$(fmt_int "${u#loki-allow}")
			row="| $nm |"
			for s in blocked allowed-hot; do
				if have "$u" "$s"; then row+=" ${R[$u|$s|us]} ($(fmt_int "${R[$u|$s|qps]}")) | $(ratio "${R[$u|$s|us]}" "${R[loki|$s|us]:-}") |"; else row+=" – | – |"; fi
			done
			echo "$row"
		done
		echo
		echo "## Growth: cache fill (loki-resolver, 1 thread, LOKI_CACHE_SIZE=200000)"
		echo
		echo "The cache is filled with N distinct answers (names under fill.bench.test, each asked once) before the runs. allowed-hot asks the 6 hot entries; hit-spread asks all N filled names in a loop (hits spread over the whole cache). ×first = the multiple of the first row's figure."
		echo
		echo "| cache entries filled | allowed-hot µs/q (QPS) | ×first | hit-spread µs/q (QPS) | ×first |"
		echo "|---:|---:|---:|---:|---:|"
		local first=loki-cache${CACHE_FILLS[0]}
		for n in "${CACHE_FILLS[@]}"; do
			u=loki-cache$n
			local fl=${R[$u|fill|$REPS]:-${R[$u|fill|1]:-?}}
			row="| $(fmt_int "$n") (answered: $fl) |"
			for s in allowed-hot hit-spread; do
				if have "$u" "$s"; then row+=" ${R[$u|$s|us]} ($(fmt_int "${R[$u|$s|qps]}")) | $(ratio "${R[$u|$s|us]}" "${R[$first|$s|us]:-}") |"; else row+=" – | – |"; fi
			done
			echo "$row"
		done
		echo
	fi
	echo "## Correctness (dig before the first run)"
	echo
	echo "Must answer: the API names (A, AAAA; api.openai.com also over TCP), check-7q2x.bench.test. Must be NXDOMAIN: a random .com, example.org, anthropic.com, openai.com, api.anthropic.com.evil.example, xbench.test, bench.test.example.com. Allowlist units also: host1.example.com not NXDOMAIN (allowed; NSD has no such zone, so SERVFAIL/REFUSED is right), host0.example.com NXDOMAIN. The echo floor answers NXDOMAIN to everything by design."
	echo
	echo "| server | passed (failures) |"
	echo "|---|---|"
	for u in "${UNITS[@]}"; do echo "| $u | ${U_CHECK[$u]:-?} |"; done
	echo
	echo "## Every run"
	echo
	echo "lost = queries dnsperf got no answer to within $QTIMEOUT s; UDP drops = RcvbufErrors in /proc/net/snmp during the runs (datagrams a full socket buffer dropped, on either side); core busy = share of the server's and of dnsperf's CPU that was not idle; in brackets the part of the server core's busy time that was not the server's own (softirq, other processes: a high figure means a noisy run; meaningless for loki-t2-spread, whose threads also run on the other core)."
	echo
	echo "| server | scenario | QPS (each run) | µs/q (each run) | lost (sum) | UDP drops (sum) | server (not server) / client core busy % (last run) | rcodes (last run) |"
	echo "|---|---|---|---|---:|---:|---|---|"
	for u in "${UNITS[@]}"; do
		for s in ${U_SCEN[$u]//,/ }; do
			have "$u" "$s" || continue
			echo "| $u | $s | ${R[$u|$s|allq]} | ${R[$u|$s|allu]} | ${R[$u|$s|lost]} | ${R[$u|$s|drops]} | ${R[$u|$s|$REPS|srv]:-${R[$u|$s|1|srv]}} (${R[$u|$s|$REPS|oth]:-${R[$u|$s|1|oth]}}) / ${R[$u|$s|$REPS|cli]:-${R[$u|$s|1|cli]}} | ${R[$u|$s|rcodes]} |"
		done
	done
	echo
	echo "## Command lines"
	echo
	echo '```'
	local c
	for c in "${CMDS[@]}"; do echo "$c"; done
	echo "(-p = the server's port; the query files are generated by run.sh; miss-rN.txt is fresh for run N;"
	echo " every dnsperf runs under timeout, with -l for time and -n for count)"
	echo '```'
}
csv() {
	echo "unit,kind,cpus,threads,allowlist_extra,cache_fill,scenario,rep,qps,completed,lost,avg_latency_s,cpu_us_per_query,udp_rcvbuf_drops,server_core_busy_pct,server_core_not_server_pct,client_core_busy_pct,p50_ms,p99_ms"
	local u s rep th al
	for u in "${UNITS[@]}"; do
		th=$(sed -n 's/^LOKI_THREADS=//p' <<<"${U_ENV[$u]}")
		al=0
		[[ $u == loki-allow* ]] && al=${u#loki-allow}
		for s in ${U_SCEN[$u]//,/ }; do
			for rep in $(seq "$REPS"); do
				[ -n "${R[$u|$s|$rep|qps]:-}" ] || continue
				echo "$u,${U_KIND[$u]},\"${U_CPUS[$u]}\",$th,$al,${U_FILL[$u]},$s,$rep,${R[$u|$s|$rep|qps]},${R[$u|$s|$rep|completed]:-},${R[$u|$s|$rep|lost]:-},${R[$u|$s|$rep|lat_avg]:-},${R[$u|$s|$rep|us]},${R[$u|$s|$rep|drops]},${R[$u|$s|$rep|srv]},${R[$u|$s|$rep|oth]},${R[$u|$s|$rep|cli]},,"
			done
			[ -n "${R[$u|$s|probe|p50]:-}" ] &&
				echo "$u,${U_KIND[$u]},\"${U_CPUS[$u]}\",$th,$al,${U_FILL[$u]},$s,probe-$PROBE_QPS,,${R[$u|$s|probe|n]},${R[$u|$s|probe|lost]:-},,,,,,,${R[$u|$s|probe|p50]},${R[$u|$s|probe|p99]}"
		done
	done
}

REPORT=$(report)
printf '%s\n' "$REPORT"
[ -z "$OUT_FILE" ] || { printf '%s\n' "$REPORT" >"$OUT_FILE"; log "report: $OUT_FILE"; }
[ -z "$CSV_FILE" ] || { csv >"$CSV_FILE"; log "csv: $CSV_FILE"; }
log "done in $(($(date +%s) - T_START)) s"
