#!/bin/sh
# Integration tests: real NSD upstream on loopback, the daemon under test,
# real clients (dnspython, kdig, dig). Run by `make check`, or by hand:
#   LOKI_RESOLVER=build/resolver/loki-resolver tests/integration/run.sh [-k NAME]
# Exit 77 (skipped) only when a required program is missing, with the reason.
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
for prog in $py nsd kdig dig; do
	if ! command -v "$prog" >/dev/null 2>&1; then
		echo "SKIP: $prog not found (apt-get install nsd knot-dnsutils bind9-dnsutils python3-dnspython python3-pytest)"
		exit 77
	fi
done
if ! $py -c 'import dns.message, pytest' 2>/dev/null; then
	echo "SKIP: dnspython or pytest missing (apt-get install python3-dnspython python3-pytest)"
	exit 77
fi
: "${LOKI_RESOLVER:?set LOKI_RESOLVER to the loki-resolver binary}"
export LOKI_RESOLVER
cd "$here" || exit 1
exec $py -m pytest -p no:cacheprovider -rs "$@" "$here"
