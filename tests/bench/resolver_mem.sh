#!/bin/sh
# resolver_mem.sh [BUILDDIR]: resident memory of loki-resolver with its cache
# filled with 100,000 answers (issue 3: must stay under 64 MiB). Starts NSD on
# 127.0.0.1:5391 (wildcard zone upstream.test), the resolver on
# 127.0.0.1:5392 with cache_size = 100000, sends 100,000 distinct names with
# dnsperf (each once, at most 20,000 per second) and prints VmRSS before and
# after. Loopback only; stops what it started, by PID.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top}
resolver=$build/resolver/loki-resolver
work=$(mktemp -d)
trap 'kill "$lr" "$ns" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT INT TERM
for p in nsd dnsperf; do
	command -v $p >/dev/null || { echo "$p not found (apt-get install nsd dnsperf)"; exit 1; }
done
cat >"$work/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@5391
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    database: ""
    zonesdir: "$top/tests/integration/zones"
    zonelistfile: "$work/zone.list"
    xfrdfile: "$work/xfrd.state"
    xfrdir: "$work"
    pidfile: ""
    logfile: "$work/nsd.log"
    cookie-secret-file: "$work/cs.txt"
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "upstream.test"
    zonefile: "upstream.test.zone"
CONF
nsd -d -c "$work/nsd.conf" & ns=$!
i=1
while [ $i -le 100000 ]; do echo "n$i.wild.upstream.test A"; i=$((i + 1)); done >"$work/q.txt"
LOKI_CACHE_SIZE=100000 LOKI_LOG_QUERIES=none LOKI_THREADS=2 \
	"$resolver" --listen 127.0.0.1:5392 --upstream 127.0.0.1:5391 2>"$work/lr.err" & lr=$!
sleep 1
rss() { awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' /proc/$lr/status; }
echo "loki-resolver VmRSS, empty cache:  $(rss)"
timeout 120 dnsperf -s 127.0.0.1 -p 5392 -d "$work/q.txt" -n 1 -l 60 -Q 20000 -q 200 |
	grep -E 'Queries (sent|completed|lost)'
echo "loki-resolver VmRSS, 100,000 answers cached: $(rss)"
