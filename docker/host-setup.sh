#!/bin/sh
# Host step of docker/compose.yaml, as root, before or after `up` and again
# after every restart of dockerd (which recreates DOCKER-USER empty).
#
# loki-isolated has inter-container traffic turned off
# (com.docker.network.bridge.enable_icc=false): Docker drops every packet
# from one container of the bridge to another in its iptables FORWARD
# chain, the workload's DNS queries to the resolver container included.
# Docker runs its DOCKER-USER chain first; this script accepts there DNS
# from the bridge to the resolver and the resolver's replies, and nothing
# else. The FQDN filtering itself stays in table inet loki
# (docker/loki-egress.nft), which every packet passes as well.
#
# Usage: docker/host-setup.sh [--delete]
# Environment: LOKI_BRIDGE (loki0), LOKI_RESOLVER4 (172.28.0.53), IPTABLES
# (iptables). tests/deploy/ci.sh checks that the defaults match
# docker/compose.yaml.
set -eu

BRIDGE=${LOKI_BRIDGE:-loki0}
RESOLVER4=${LOKI_RESOLVER4:-172.28.0.53}
IPTABLES=${IPTABLES:-iptables}

case "${1:-}" in
--delete) action=-D ;;
"") action=-I ;;
*)
	echo "usage: $0 [--delete]" >&2
	exit 2
	;;
esac

if ! "$IPTABLES" -n -L DOCKER-USER >/dev/null 2>&1; then
	echo "$0: no DOCKER-USER chain (is dockerd running, with its iptables backend?)" >&2
	exit 1
fi

# One rule: add it once (-I only when -C does not find it), delete it if present.
rule() {
	if "$IPTABLES" -C DOCKER-USER "$@" 2>/dev/null; then
		if [ "$action" = -D ]; then
			"$IPTABLES" -D DOCKER-USER "$@"
		fi
	elif [ "$action" = -I ]; then
		"$IPTABLES" -I DOCKER-USER "$@"
	fi
}

for proto in udp tcp; do
	rule -i "$BRIDGE" -o "$BRIDGE" -d "$RESOLVER4" -p "$proto" --dport 53 -j ACCEPT
	rule -i "$BRIDGE" -o "$BRIDGE" -s "$RESOLVER4" -p "$proto" --sport 53 \
		-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
done
echo "$0: DOCKER-USER: DNS from $BRIDGE to $RESOLVER4 $( [ "$action" = -I ] && echo accepted || echo removed)"
