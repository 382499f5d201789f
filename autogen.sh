#!/bin/sh
# Generate configure and Makefile.in. Needs autoconf, automake and pkg-config
# (Debian: apt-get install autoconf automake pkg-config).
set -e
cd "$(dirname "$0")"
autoreconf --install --force --warnings=all
