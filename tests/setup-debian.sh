#!/bin/sh
# Installs everything loki-egress needs to build and to run every test on
# Debian 12 (as root). Used by the README quick start and by .ci/run.
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake pkg-config clang \
	libldns-dev libuv1-dev libsodium-dev check libnftables-dev nftables \
	nsd knot-dnsutils bind9-dnsutils \
	python3 python3-dnspython python3-pytest \
	iproute2 ca-certificates >/dev/null
echo "setup-debian: build and test dependencies installed"
