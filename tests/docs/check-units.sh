#!/bin/bash
# Validates the systemd units conf/systemd/*.service.in:
#   1. generated with real paths, `systemd-analyze verify` accepts each one
#      without a single message (binaries and man pages in a scratch prefix);
#   2. each has the hardening directives it is meant to have;
#   3. `systemd-analyze security --offline=true` rates each at most
#      MAX_EXPOSURE (default 2.0) and prints the score;
#   4. as root, the privilege model the units rely on works, emulated with
#      setpriv in a private network namespace (no systemd needed): the
#      resolver serves port 53 as a non-root user with CAP_NET_BIND_SERVICE
#      only (and cannot without it), and loki-fwsync, as the same user with
#      CAP_NET_ADMIN only, loads the ruleset and syncs from the resolver's
#      0660 socket (and cannot without the capability, nor as another user);
#      both also run under a /proc mounted subset=pid,hidepid=invisible
#      (ProtectProc=, ProcSubset=). The seccomp filter, PrivateDevices= and
#      the read-only file system are not emulated.
#
# Usage: tests/docs/check-units.sh [BUILDDIR]   (default: the current directory)
# Prints PASS/FAIL/SKIP lines and "N passed, N failed"; exit status 1 if any
# check failed. Needs systemd (systemd-analyze); part 4 also iproute2,
# util-linux (setpriv), nftables and kdig or dig. Traffic stays on the
# loopback of a network namespace created here.
set -u

SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
BUILDDIR=$(cd "${1:-.}" && pwd)
MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}
RESOLVER=$BUILDDIR/resolver/loki-resolver
FWSYNC=$BUILDDIR/fwsync/loki-fwsync
UNITS="loki-resolver loki-fwsync"
# A UID in systemd's DynamicUser= range, as the units get.
DYN_UID=61184
OTHER_UID=61185

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "SKIP: $*"; }

TMP=$(mktemp -d /tmp/loki-units.XXXXXX)
NS=
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

for b in "$RESOLVER" "$FWSYNC"; do
	if [ ! -x "$b" ]; then
		echo "FAIL: $b not built (usage: $0 BUILDDIR)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

# A scratch prefix: binaries, man pages, configuration, units.
mkdir -p "$TMP/sbin" "$TMP/etc/loki-egress" "$TMP/man/man8" "$TMP/units"
cp "$RESOLVER" "$FWSYNC" "$TMP/sbin/"
cp "$SRCDIR/man/loki-resolver.8" "$SRCDIR/man/loki-fwsync.8" "$TMP/man/man8/"
cp "$SRCDIR/conf/loki-resolver.conf" "$SRCDIR/conf/loki-egress.nft" "$TMP/etc/loki-egress/"
for u in $UNITS; do
	sed -e "s|@sbindir[@]|$TMP/sbin|g" -e "s|@sysconfdir[@]|$TMP/etc|g" \
		"$SRCDIR/conf/systemd/$u.service.in" > "$TMP/units/$u.service"
	if grep -n '@[a-z]*@' "$TMP/units/$u.service"; then
		fail "$u.service: placeholder left after substitution"
	fi
done

# ---------------------------------------------------------------- 1. verify
if command -v systemd-analyze > /dev/null; then
	for u in $UNITS; do
		out=$(cd "$TMP/units" && MANPATH=$TMP/man systemd-analyze verify "./$u.service" 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$out" ]; then
			pass "$u.service: systemd-analyze verify, no message"
		else
			fail "$u.service: systemd-analyze verify (exit $rc): $out"
		fi
	done
else
	fail "systemd-analyze not found (Debian: systemd)"
fi

# ---------------------------------------------------------------- 2. directives
common="NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes
PrivateDevices=yes ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes
ProtectControlGroups=yes RestrictNamespaces=yes RestrictRealtime=yes RestrictSUIDSGID=yes
LockPersonality=yes MemoryDenyWriteExecute=yes SystemCallArchitectures=native
SystemCallFilter=@system-service SystemCallFilter=~@privileged DynamicUser=yes User=loki Type=exec"
want_resolver="$common CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE RestrictAddressFamilies=AF_INET+AF_INET6+AF_UNIX
RuntimeDirectory=loki Environment=LOKI_FWSYNC_SOCKET=/run/loki/fwsync.sock
ExecReload=kill+-HUP+\$MAINPID"
want_fwsync="$common CapabilityBoundingSet=CAP_NET_ADMIN AmbientCapabilities=CAP_NET_ADMIN
RestrictAddressFamilies=AF_UNIX+AF_NETLINK IPAddressDeny=any After=loki-resolver.service+network-pre.target"
for u in $UNITS; do
	if [ "$u" = loki-resolver ]; then want=$want_resolver; else want=$want_fwsync; fi
	missing=
	for d in $want; do
		line=${d//+/ } # '+' stands for a space
		grep -qxF "$line" "$TMP/units/$u.service" || missing="$missing [$line]"
	done
	if grep -q '^Requires=\|^BindsTo=' "$TMP/units/$u.service"; then
		missing="$missing [no Requires=/BindsTo=]"
	fi
	if [ -z "$missing" ]; then
		pass "$u.service: hardening directives present"
	else
		fail "$u.service: missing$missing"
	fi
done

# ---------------------------------------------------------------- 3. exposure
if command -v systemd-analyze > /dev/null; then
	for u in $UNITS; do
		out=$(cd "$TMP/units" && systemd-analyze security --offline=true --no-pager \
			"./$u.service" 2>&1)
		score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		if [ -z "$score" ]; then
			fail "$u.service: systemd-analyze security printed no score: $(printf '%s' "$out" | tail -3)"
		elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
			pass "$u.service: exposure $score (at most $MAX_EXPOSURE)"
		else
			fail "$u.service: exposure $score, above $MAX_EXPOSURE"
		fi
	done
fi

# ---------------------------------------------------------------- 4. privileges
runtime_ok=1
if [ "$(id -u)" != 0 ]; then
	skip "privilege model: needs root (network namespace, setpriv)"
	runtime_ok=0
fi
for t in ip setpriv nft; do
	if [ $runtime_ok = 1 ] && ! command -v $t > /dev/null; then
		skip "privilege model: $t not found"
		runtime_ok=0
	fi
done
DIG=$(command -v kdig || command -v dig || true)
if [ $runtime_ok = 1 ] && [ -z "$DIG" ]; then
	skip "privilege model: neither kdig nor dig found"
	runtime_ok=0
fi

# run_as UID CAPS CMD...: execs CMD in the namespace as UID:UID with only
# CAPS (ambient, inheritable and bounding set) and no_new_privs, as systemd
# does with DynamicUser=, AmbientCapabilities= and CapabilityBoundingSet=;
# killed after $LIMIT seconds if LIMIT is set. Exec all the way, so that $!
# of `run_as ... &` is the daemon itself.
run_as() {
	local uid=$1 caps=$2
	shift 2
	local set=-all
	[ -n "$caps" ] && set="-all,+$caps"
	exec ip netns exec "$NS" ${LIMIT:+timeout $LIMIT} setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		--inh-caps="$set" --ambient-caps="$set" --bounding-set="$set" --no-new-privs -- "$@"
}

# wait_for FILE PATTERN SECONDS
wait_for() {
	local _
	for _ in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

if [ $runtime_ok = 1 ]; then
	NS=loki-units-$$
	ip netns add "$NS" && ip -n "$NS" link set lo up
	RUN=$TMP/run/loki # what RuntimeDirectory=loki makes: owned by the user, 0755
	mkdir -p "$RUN" && chown "$DYN_UID:$DYN_UID" "$RUN" && chmod 0755 "$RUN"
	chmod 0755 "$TMP" "$TMP/run"
	renv="env -i LOKI_NETWORK_EGRESS_POLICY=none LOKI_UPSTREAM=192.0.2.1
		LOKI_FWSYNC_SOCKET=$RUN/fwsync.sock LOKI_THREADS=1"

	# 4a. Without CAP_NET_BIND_SERVICE, port 53 cannot be bound: exit 1.
	# shellcheck disable=SC2086 # $renv / $fargs are word lists
	(LIMIT=10 run_as $DYN_UID "" $renv "$TMP/sbin/loki-resolver" --listen 127.0.0.1:53 \
		--require-unprivileged) > "$TMP/r0.log" 2>&1
	rc=$?
	if [ $rc = 1 ] && grep -q "cannot listen" "$TMP/r0.log"; then
		pass "resolver as uid $DYN_UID without capabilities: cannot bind port 53 (exit 1)"
	else
		fail "resolver as uid $DYN_UID without capabilities: exit $rc, expected 1: $(tail -2 "$TMP/r0.log")"
	fi
	rm -f "$RUN/fwsync.sock"

	# 4b. With it alone, it serves port 53 and opens the stream socket.
	# shellcheck disable=SC2086 # $renv / $fargs are word lists
	run_as $DYN_UID net_bind_service $renv "$TMP/sbin/loki-resolver" --listen 127.0.0.1:53 \
		--require-unprivileged > "$TMP/r1.log" 2>&1 &
	RPID=$!
	PIDS="$PIDS $RPID"
	if wait_for "$TMP/r1.log" "listening on 127.0.0.1:53" 10 &&
		ans=$(ip netns exec "$NS" timeout 5 "$DIG" @127.0.0.1 -p 53 example.com A 2>&1) &&
		printf '%s\n' "$ans" | grep -q "NXDOMAIN"; then
		pass "resolver as uid $DYN_UID with CAP_NET_BIND_SERVICE only: answers on port 53"
	else
		fail "resolver as uid $DYN_UID with CAP_NET_BIND_SERVICE only: $(tail -3 "$TMP/r1.log") ${ans:-}"
	fi
	mode=$(stat -c '%a %u' "$RUN/fwsync.sock" 2>/dev/null)
	if [ "$mode" = "660 $DYN_UID" ]; then
		pass "stream socket $RUN/fwsync.sock: mode 0660, owned by uid $DYN_UID"
	else
		fail "stream socket $RUN/fwsync.sock: '$mode', expected '660 $DYN_UID'"
	fi

	fargs="--socket $RUN/fwsync.sock --install-ruleset $TMP/etc/loki-egress/loki-egress.nft"
	# 4c. Without CAP_NET_ADMIN the agent stops at startup: exit 1.
	# shellcheck disable=SC2086 # $renv / $fargs are word lists
	(LIMIT=10 run_as $DYN_UID "" "$TMP/sbin/loki-fwsync" $fargs) > "$TMP/f0.log" 2>&1
	rc=$?
	if [ $rc = 1 ]; then
		pass "fwsync as uid $DYN_UID without capabilities: exit 1"
	else
		fail "fwsync as uid $DYN_UID without capabilities: exit $rc, expected 1: $(tail -2 "$TMP/f0.log")"
	fi

	# 4d. Another user, even with CAP_NET_ADMIN, cannot connect to the socket.
	# shellcheck disable=SC2086 # $renv / $fargs are word lists
	run_as $OTHER_UID net_admin "$TMP/sbin/loki-fwsync" $fargs > "$TMP/f1.log" 2>&1 &
	OPID=$!
	PIDS="$PIDS $OPID"
	if wait_for "$TMP/f1.log" "cannot connect.*ermission denied" 10; then
		pass "fwsync as another uid with CAP_NET_ADMIN: socket refuses it (why both units share the user)"
	else
		fail "fwsync as another uid: expected 'permission denied': $(tail -2 "$TMP/f1.log")"
	fi
	kill "$OPID" 2>/dev/null
	wait "$OPID" 2>/dev/null

	# 4e. The same user with CAP_NET_ADMIN only: loads the ruleset, syncs.
	# shellcheck disable=SC2086 # $renv / $fargs are word lists
	run_as $DYN_UID net_admin "$TMP/sbin/loki-fwsync" $fargs > "$TMP/f2.log" 2>&1 &
	FPID=$!
	PIDS="$PIDS $FPID"
	if wait_for "$TMP/f2.log" "snapshot of .* committed" 15 &&
		ip netns exec "$NS" nft list set inet loki allow4 > /dev/null 2>&1 &&
		ip netns exec "$NS" nft list chain inet loki workload > /dev/null 2>&1; then
		pass "fwsync as uid $DYN_UID with CAP_NET_ADMIN only: ruleset loaded, stream synced"
	else
		fail "fwsync as uid $DYN_UID with CAP_NET_ADMIN only: $(tail -3 "$TMP/f2.log")"
	fi

	# 4f. ProtectProc=invisible and ProcSubset=pid: both daemons also work
	# with a /proc that shows only their own processes and no /proc/sys,
	# /proc/stat, ... (emulated with a private mount and PID namespace).
	if unshare --help 2>&1 | grep -q -- --mount-proc; then
		cat > "$TMP/procsubset.sh" <<-'EOS'
			set -u
			mount -t proc -o subset=pid,hidepid=invisible proc /proc || exit 3
			priv() { caps=$1; shift
				exec setpriv --reuid="$UID_" --regid="$UID_" --clear-groups \
					--inh-caps=-all,+$caps --ambient-caps=-all,+$caps \
					--bounding-set=-all,+$caps --no-new-privs -- "$@"; }
			sock=$RUN/p.sock
			priv net_bind_service env -i LOKI_NETWORK_EGRESS_POLICY=none \
				LOKI_UPSTREAM=192.0.2.1 LOKI_FWSYNC_SOCKET=$sock \
				"$SBIN/loki-resolver" --listen 127.0.0.2:53 > "$LOG.r" 2>&1 &
			r=$!
			for i in $(seq 50); do grep -q "listening on" "$LOG.r" && break; sleep 0.1; done
			"$DIG" @127.0.0.2 -p 53 example.com A 2>&1 | grep -q NXDOMAIN || echo "no answer"
			priv net_admin "$SBIN/loki-fwsync" --socket "$sock" --table inet lokiproc \
				> "$LOG.f" 2>&1 &
			f=$!
			for i in $(seq 100); do grep -q "snapshot of" "$LOG.f" && break; sleep 0.1; done
			grep -q "snapshot of" "$LOG.f" || echo "fwsync did not sync"
			kill -TERM $f $r; wait $f; echo "fwsync exit $?"; wait $r; echo "resolver exit $?"
		EOS
		out=$(UID_=$DYN_UID RUN=$RUN SBIN=$TMP/sbin LOG=$TMP/p DIG=$DIG \
			ip netns exec "$NS" unshare --mount --pid --fork --propagation private \
			timeout 30 bash "$TMP/procsubset.sh" 2>&1)
		if [ "$out" = "$(printf 'fwsync exit 0\nresolver exit 0')" ]; then
			pass "both daemons under /proc subset=pid,hidepid=invisible: answer, sync, exit 0"
		else
			fail "under /proc subset=pid: $out $(tail -2 "$TMP/p.r" "$TMP/p.f" 2>/dev/null)"
		fi
	else
		skip "ProcSubset emulation: unshare too old"
	fi

	# SIGTERM: both exit 0.
	for p in $FPID $RPID; do
		kill -TERM "$p" 2>/dev/null
		wait "$p"
		rc=$?
		if [ $rc = 0 ]; then
			pass "pid $p: SIGTERM, exit 0"
		else
			fail "pid $p: SIGTERM, exit $rc"
		fi
	done
	PIDS=
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
