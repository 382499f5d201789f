#!/bin/bash
# Bounded libFuzzer run of every fuzz target, for CI.
#
#   tests/fuzz/ci.sh [BUILD_DIR]
#
# Configures BUILD_DIR (default: a new temporary directory) with
# CC=clang --enable-fuzzing unless it is configured that way already, builds
# every target of FUZZ_TARGETS in Makefile.am, then runs each for
# FUZZ_SECONDS (default 60) on a temporary copy of its seed corpus
# (tests/fuzz/<target>.in). A target fails when libFuzzer exits non-zero
# (crash, sanitizer report, leak, timeout or out-of-memory), leaves a
# crash/leak/timeout/oom artifact, or prints a sanitizer report. Prints one
# line per target:
#   PASS: fuzz_query 61 s, 1342044 runs, cov 508, ft 1319
#   FAIL: fuzz_zone 12 s, 34567 runs (artifact: /tmp/.../crash-<sha1>)
# (a failure also prints the sanitizer summary, and keeps the log and the
# reproducer in BUILD_DIR/fuzz-artifacts/), then "N passed, N failed".
# Exit status 0 only when every target passed; 77 (skipped) when clang is
# missing, 2 when the build fails. Runtime: about 1 minute to build, then
# FUZZ_SECONDS per target (6 targets: about 7 minutes).
#
# Environment: FUZZ_SECONDS (per target), FUZZ_JOBS (make -j, default 2),
# FUZZ_TIMEOUT (seconds one input may take, default 10), FUZZ_KEEP=1 keeps
# the work directory (logs, corpora, artifacts) and prints its path.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
per_input=${FUZZ_TIMEOUT:-10}

case $seconds in '' | *[!0-9]*)
	echo "FUZZ_SECONDS must be a number of seconds" >&2
	exit 2
	;;
esac

if ! command -v clang >/dev/null 2>&1; then
	echo "SKIP: clang not found (apt-get install clang)"
	exit 77
fi

build=${1:-}
if [ -z "$build" ]; then
	build=$(mktemp -d /tmp/loki-fuzz-build.XXXXXX) || exit 2
fi
mkdir -p "$build" || exit 2
build=$(cd "$build" && pwd)
work=$(mktemp -d /tmp/loki-fuzz-ci.XXXXXX) || exit 2
cleanup() {
	if [ "${FUZZ_KEEP:-0}" = 1 ]; then
		echo "work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# ------------------------------------------------------------------ build
if [ ! -x "$src/configure" ]; then
	(cd "$src" && ./autogen.sh) >"$work/autogen.log" 2>&1 || {
		echo "autogen.sh failed:" >&2
		tail -n 20 "$work/autogen.log" >&2
		exit 2
	}
fi
if ! grep -q -- '--enable-fuzzing' "$build/config.status" 2>/dev/null; then
	(cd "$build" && CC=clang "$src/configure" --enable-fuzzing) >"$work/configure.log" 2>&1 || {
		echo "configure --enable-fuzzing failed:" >&2
		tail -n 20 "$work/configure.log" >&2
		exit 2
	}
fi

# The targets are those of FUZZ_TARGETS in Makefile.am.
targets=()
while read -r t; do
	targets+=("${t#tests/fuzz/}")
done < <(awk '/^FUZZ_TARGETS *=/ { on = 1 }
	on { for (i = 1; i <= NF; i++) if ($i ~ /^tests\/fuzz\//) print $i
	     if ($NF != "\\") exit }' "$src/Makefile.am")
if [ ${#targets[@]} -eq 0 ]; then
	echo "no FUZZ_TARGETS in $src/Makefile.am" >&2
	exit 2
fi
echo "building ${#targets[@]} fuzz targets in $build"
bins=()
for t in "${targets[@]}"; do
	bins+=("tests/fuzz/$t")
done
if ! make -C "$build" -j"$jobs" "${bins[@]}" >"$work/build.log" 2>&1; then
	echo "build failed:" >&2
	tail -n 30 "$work/build.log" >&2
	exit 2
fi

# -------------------------------------------------------------------- run
# UBSan in the fuzzing build recovers by default; make every report fatal so
# that it leaves an artifact and fails the target.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

passed=0
failed=0
for t in "${targets[@]}"; do
	corpus=$work/$t/corpus
	arts=$work/$t/artifacts
	log=$work/$t.log
	mkdir -p "$corpus" "$arts"
	if [ -d "$here/$t.in" ]; then
		cp "$here/$t.in"/* "$corpus"/ 2>/dev/null
	fi
	start=$(date +%s)
	"$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout="$per_input" \
		-print_final_stats=1 -artifact_prefix="$arts/" "$corpus" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	art=$(find "$arts" -type f | head -n 1)
	why=
	if [ -n "$art" ]; then
		why="artifact: $art"
	elif [ "$rc" -ne 0 ]; then
		why="exit status $rc"
	elif grep -q -E 'runtime error:|ERROR: (Address|Leak|Undefined)Sanitizer|^==[0-9]+==ERROR' "$log"; then
		why="sanitizer report"
	fi
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "PASS: $t $took s, ${runs:-0} runs, cov ${cov:-?}, ft ${ft:-?}"
	else
		failed=$((failed + 1))
		echo "FAIL: $t $took s, ${runs:-0} runs ($why)"
		grep -E -m 5 'ERROR|runtime error|SUMMARY' "$log" | sed 's/^/    /'
		keep=$build/fuzz-artifacts
		mkdir -p "$keep"
		cp "$log" "$keep/$t.log"
		echo "    log: $keep/$t.log"
		if [ -n "$art" ]; then
			cp "$art" "$keep/$t-$(basename "$art")"
			echo "    replay: $build/tests/fuzz/$t $keep/$t-$(basename "$art")"
		fi
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
