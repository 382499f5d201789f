#!/bin/sh
# summary.sh BUILDDIR|RESULTFILE...: adds up the results of `make check` in
# each build directory (Check's "Checks: N, Failures: F, Errors: E" lines,
# pytest's "N passed, F failed" line, one result per fuzz replay) and of
# each result file (one "PASS: what" or "FAIL: what" line per check, as
# tests/fuzz/ci.sh, tests/deploy/ci.sh and tests/docs/*.sh print them; a
# missing file counts as one failure), and prints them, ending with one line
# "N passed, N failed".
passed=0
failed=0
for dir in "$@"; do
	if [ ! -d "$dir" ]; then
		if [ ! -f "$dir" ]; then
			echo "$dir: no results (the step did not run)"
			failed=$((failed + 1))
			continue
		fi
		p=$(grep -c '^PASS: ' "$dir")
		f=$(grep -c '^FAIL: ' "$dir")
		grep '^FAIL: ' "$dir"
		echo "$dir: $p passed, $f failed"
		if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			failed=$((failed + 1))
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		continue
	fi
	for log in "$dir"/tests/check_*.log; do
		[ -f "$log" ] || continue
		line=$(grep -E '^[0-9]+%: Checks: ' "$log" | tail -n 1)
		if [ -z "$line" ]; then
			echo "$log: no Check summary (crashed?)"
			failed=$((failed + 1))
			continue
		fi
		echo "$dir/$(basename "$log" .log): $line"
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		passed=$((passed + n - f - e))
		failed=$((failed + f + e))
	done
	for trs in "$dir"/tests/fuzz/*.trs; do
		[ -f "$trs" ] || continue
		if grep -q '^:test-result: PASS' "$trs"; then
			passed=$((passed + 1))
		else
			echo "$trs: $(grep '^:test-result:' "$trs")"
			failed=$((failed + 1))
		fi
	done
	log="$dir/tests/integration/run.sh.log"
	if [ -f "$log" ]; then
		line=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log" | tail -n 1)
		echo "$dir/integration: $line"
		p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
		f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
		e=$(echo "$line" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+')
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0} + ${e:-0}))
		[ -n "$line" ] || failed=$((failed + 1))
	else
		echo "$dir: integration tests did not run"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
