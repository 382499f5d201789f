#!/bin/sh
# Checks of the container and Kubernetes deployment (docker/, docker/k8s/)
# and shellcheck of every shell script, without a Docker engine or a
# cluster. One `PASS: <check>` or `FAIL: <check>` line per check (`SKIP:`
# when a tool or a build is missing), then `N passed, N failed`; exit status
# 1 if any check failed.
#
# Usage: tests/deploy/ci.sh        (from anywhere; root for the nft, iptables
#                                   and capability checks, which use private
#                                   network namespaces)
# Environment: LOKI_RESOLVER, LOKI_FWSYNC: built binaries (optional: the
# ELF library check, the ConfigMap's --check-config and tests/deploy/capexec.py
# run only with them); LOKI_SRCDIR: the source tree (default: this script's).
#
# Debian packages: docker-compose python3 python3-yaml python3-kubernetes
# (needs: shellcheck nftables iptables libcap2-bin util-linux iproute2
# binutils git.)
set -u

SRCDIR=${LOKI_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE="$SRCDIR/tests/deploy"
# Debian's python3 carries python3-yaml and python3-kubernetes; a python3
# earlier in PATH (a virtualenv, pyenv) may not.
if [ -x /usr/bin/python3 ]; then PYTHON=${PYTHON:-/usr/bin/python3}; else PYTHON=${PYTHON:-python3}; fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/loki-deploy.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
LOG="$TMP/results"
: >"$LOG"

say() { echo "$1" | tee -a "$LOG"; }

# ---------------------------------------------------------- docker-compose
if command -v docker-compose >/dev/null 2>&1; then
	# A clean environment, so that the file's defaults are what is checked.
	if env -u LOKI_ALLOWED_HOSTS -u LOKI_UPSTREAM docker-compose \
		-f "$SRCDIR/docker/compose.yaml" config >"$TMP/compose.yaml" 2>"$TMP/compose.err"; then
		say "PASS: compose: docker-compose config parses docker/compose.yaml"
	else
		say "FAIL: compose: docker-compose config parses docker/compose.yaml"
		sed 's/^/    /' "$TMP/compose.err"
	fi
else
	say "FAIL: compose: docker-compose is not installed (Debian: docker-compose)"
fi

# ------------------------------------- compose, Dockerfile and k8s properties
if [ -s "$TMP/compose.yaml" ]; then
	set -- "$SRCDIR" "$TMP/compose.yaml"
	if [ -n "${LOKI_RESOLVER:-}" ] && [ -n "${LOKI_FWSYNC:-}" ]; then
		set -- "$@" "$LOKI_RESOLVER" "$LOKI_FWSYNC"
	fi
	"$PYTHON" "$HERE/check_deploy.py" "$@" 2>&1 | tee -a "$LOG"
else
	say "FAIL: deploy: property checks (no docker-compose config output)"
fi

# ------------------------------------------- docker/host-setup.sh, for real
# In a private network namespace: a DOCKER-USER chain like dockerd's, the
# script run twice (the rules go in once), then --delete (all gone), and
# without the chain (refuses, exit 1).
if [ "$(id -u)" = 0 ] && command -v iptables >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # the inner script expands its own variables
	if unshare -n sh -ec '
		script=$1
		iptables -N DOCKER-USER
		"$script" >/dev/null
		"$script" >/dev/null
		n=$(iptables -S DOCKER-USER | grep -c -- "-j ACCEPT")
		[ "$n" = 4 ] || { echo "    $n rules after two runs, expected 4"; exit 1; }
		iptables -S DOCKER-USER | grep -q -- "-d 172.28.0.53/32 -i loki0 -o loki0 -p udp -m udp --dport 53 -j ACCEPT" ||
			{ echo "    no UDP 53 rule:"; iptables -S DOCKER-USER; exit 1; }
		"$script" --delete >/dev/null
		n=$(iptables -S DOCKER-USER | grep -c -- "-j ACCEPT" || true)
		[ "$n" = 0 ] || { echo "    $n rules left after --delete"; exit 1; }
		iptables -X DOCKER-USER
		if "$script" >/dev/null 2>&1; then echo "    ran without a DOCKER-USER chain"; exit 1; fi
	' sh "$SRCDIR/docker/host-setup.sh" >"$TMP/host.out" 2>&1; then
		say "PASS: compose: docker/host-setup.sh adds its DOCKER-USER rules once and removes them"
	else
		say "FAIL: compose: docker/host-setup.sh adds its DOCKER-USER rules once and removes them"
		cat "$TMP/host.out"
	fi
else
	say "SKIP: compose: docker/host-setup.sh (needs root, iptables and unshare)"
fi

# ------------------------------------------ file capabilities, on this kernel
if [ -n "${LOKI_RESOLVER:-}" ] && [ -n "${LOKI_FWSYNC:-}" ] && [ "$(id -u)" = 0 ] &&
	command -v setcap >/dev/null 2>&1; then
	"$PYTHON" "$HERE/capexec.py" "$LOKI_RESOLVER" "$LOKI_FWSYNC" 2>&1 | tee -a "$LOG"
else
	say "SKIP: caps: tests/deploy/capexec.py (needs LOKI_RESOLVER, LOKI_FWSYNC, root and setcap)"
fi

# ------------------------------------------------------------- shellcheck
# Every shell script of the tree: *.sh and files starting with a sh/bash
# shebang, as git lists them (tracked or new, never ignored: generated
# files such as configure are not ours to lint).
if command -v shellcheck >/dev/null 2>&1; then
	(cd "$SRCDIR" && git ls-files --cached --others --exclude-standard) | sort -u >"$TMP/files"
	while IFS= read -r f; do
		[ -f "$SRCDIR/$f" ] || continue
		case "$f" in
		*.sh) ;;
		*)
			head -n 1 "$SRCDIR/$f" 2>/dev/null | grep -Eq '^#!.*[/ ](ba|da|)sh( |$)' || continue
			;;
		esac
		if (cd "$SRCDIR" && shellcheck -x "$f") >"$TMP/sc.out" 2>&1; then
			say "PASS: shellcheck $f"
		else
			say "FAIL: shellcheck $f"
			sed 's/^/    /' "$TMP/sc.out"
		fi
	done <"$TMP/files"
else
	say "FAIL: shellcheck is not installed (Debian: shellcheck)"
fi

passed=$(grep -c '^PASS: ' "$LOG")
failed=$(grep -c '^FAIL: ' "$LOG")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
