#!/bin/sh
# Installs everything loki-egress needs to build and to run every test on
# Debian 12 (as root). Used by the README quick start; .ci/run installs the
# same list (`tests/setup-debian.sh --packages` prints it).
set -e
PACKAGES="build-essential autoconf automake pkg-config clang git
	libldns-dev libuv1-dev libsodium-dev libgnutls28-dev check
	libnftables-dev nftables iptables
	nsd knot-dnsutils bind9-dnsutils
	python3 python3-dnspython python3-pytest python3-prometheus-client
	python3-yaml python3-kubernetes docker-compose shellcheck
	curl openssl systemd libcap2-bin binutils
	iproute2 util-linux ca-certificates"
if [ "${1:-}" = "--packages" ]; then
	# shellcheck disable=SC2086
	echo $PACKAGES
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
echo "setup-debian: build and test dependencies installed"
