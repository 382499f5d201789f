#!/bin/sh
# Soak test of loki-resolver (issue 6.6). Not part of `make check` or CI.
#
#   tests/soak/run.sh [--build DIR] [--minutes 10] [--qps 2000] [soak.py options]
#   tests/soak/run.sh --build DIR --minutes 1      # smoke run
#
# Runs loki-resolver (ai-only policy, acks with fwsync_wait_ms, metrics on)
# for the given time at a steady mixed load of blocked names, allowed hot
# names and allowed cache misses under a wildcard, against a scripted upstream
# on 127.0.0.1 that drops, delays, sends wrong IDs and questions, truncates,
# cuts, sends garbage, SERVFAIL/REFUSED, injects records outside the CNAME
# chain and private addresses, and stops and restarts itself, every few
# seconds. A stream subscriber (and loki-fwsync --dry-run when found) reads
# the address stream; the resolver gets a SIGHUP every 100 s.
# At the end it checks: the resolver never died and exits 0 on SIGTERM; RSS
# grew less than 5 % from the end of the warm-up to the finish; no fd growth;
# every answer parses (dnspython), matches its ID and question, has rcode
# NOERROR/NXDOMAIN/SERVFAIL, blocked names get NXDOMAIN and no answer or
# stream line carries an address the upstream does not serve for that name;
# every stream line is well-formed with consecutive seqs and names only
# allowlisted names. Prints PASS/FAIL per check; exit status 1 on a failure.
# Everything stays on loopback; every loop is bounded in time.
#
# Binaries: --build DIR (DIR/resolver/loki-resolver, DIR/fwsync/loki-fwsync),
# or LOKI_RESOLVER / LOKI_FWSYNC. Needs python3 with dnspython
# (apt-get install python3-dnspython).
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
if [ "$1" = "--build" ]; then
	build=$(cd "$2" && pwd) || exit 2
	shift 2
	: "${LOKI_RESOLVER:=$build/resolver/loki-resolver}"
	if [ -z "${LOKI_FWSYNC+set}" ] && [ -x "$build/fwsync/loki-fwsync" ]; then
		LOKI_FWSYNC=$build/fwsync/loki-fwsync
	fi
fi
if ! $py -c 'import dns.message' 2>/dev/null; then
	echo "SKIP: $py with dnspython needed (apt-get install python3-dnspython)"
	exit 77
fi
if [ -z "${LOKI_RESOLVER:-}" ] || [ ! -x "$LOKI_RESOLVER" ]; then
	echo "set LOKI_RESOLVER or pass --build DIR (no loki-resolver found)" >&2
	exit 2
fi
export LOKI_RESOLVER LOKI_FWSYNC
exec $py "$here/soak.py" "$@"
