#!/usr/bin/env python3
"""The image's capability contract, on the local kernel (root needed).

docker/Dockerfile gives /usr/sbin/loki-resolver the file capability
cap_net_bind_service=+ep and /usr/sbin/loki-fwsync cap_net_admin=+ep, and
both run as uid 1000. This script copies the two built binaries, sets the
same file capabilities, and starts each the way a container runtime does for
a non-root user (bounding set = the one added capability, uid/gid 1000),
in a private network namespace, in three variants:

  docker     permitted set empty (Docker for non-root users), no no_new_privs
  docker+nnp permitted set empty, no_new_privs (no-new-privileges:true)
  containerd permitted set = the capability (capabilities.add), no_new_privs
             (allowPrivilegeEscalation: false)

and asserts the outcome docker/compose.yaml and docker/k8s rely on: the
capability is usable in "docker" and "containerd", not in "docker+nnp"; and
without the capability in the bounding set the resolver cannot be executed.

Usage: capexec.py RESOLVER FWSYNC   (prints PASS:/FAIL: lines, exit 1 on FAIL)
"""

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile

CAP_NET_BIND_SERVICE = 10
CAP_NET_ADMIN = 12
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
LINUX_CAPABILITY_VERSION_3 = 0x20080522


def child(keep, permitted, nnp, argv):
    """Runs in the forked child: become uid 1000 like runc does, then exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        if cap != keep and libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            os._exit(120)
    if permitted and libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        os._exit(121)
    os.setgroups([])
    os.setgid(1000)
    os.setuid(1000)
    if permitted:

        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class Data(ctypes.Structure):
            _fields_ = [("eff", ctypes.c_uint32), ("prm", ctypes.c_uint32), ("inh", ctypes.c_uint32)]

        hdr = Header(LINUX_CAPABILITY_VERSION_3, 0)
        data = (Data * 2)()
        if keep is not None:
            data[0].eff = data[0].prm = 1 << keep
        if libc.capset(ctypes.byref(hdr), data) != 0:
            os._exit(122)
    if nnp and libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        os._exit(123)
    os.execv(argv[0], argv)


def run(keep, permitted, nnp, argv, seconds=2):
    """Runs argv in a fresh network namespace (loopback up) for `seconds`;
    returns (exec_failed, output)."""
    code = (
        "import sys; sys.path.insert(0, %r); import capexec; "
        "capexec.child(%r, %r, %r, %r)" % (os.path.dirname(os.path.abspath(__file__)), keep, permitted, nnp, argv)
    )
    cmd = [
        "unshare",
        "-n",
        "sh",
        "-c",
        'ip link set lo up && exec timeout -s TERM %d "$0" -c "$1"' % seconds,
        sys.executable,
        code,
    ]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 10)
    out = p.stdout.decode(errors="replace")
    return ("Operation not permitted" in out and "Errno 1" in out, out)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    failed = 0

    def check(name, ok, detail):
        nonlocal failed
        print("%s: %s" % ("PASS" if ok else "FAIL", name))
        if not ok:
            failed += 1
            print("  " + detail.strip().replace("\n", "\n  "))

    tmp = tempfile.mkdtemp(prefix="loki-capexec-")
    try:
        os.chmod(tmp, 0o755)
        res = os.path.join(tmp, "loki-resolver")
        fws = os.path.join(tmp, "loki-fwsync")
        shutil.copy(sys.argv[1], res)
        shutil.copy(sys.argv[2], fws)
        for f in (res, fws):
            os.chmod(f, 0o755)
        subprocess.run(["setcap", "cap_net_bind_service=+ep", res], check=True)
        subprocess.run(["setcap", "cap_net_admin=+ep", fws], check=True)
        sock = os.path.join(tmp, "none.sock")
        rargv = [res, "--listen", "127.0.0.1:53", "--upstream", "127.0.0.1:5399", "--foreground"]
        fargv = [fws, "--socket", sock]
        bound = "listening on 127.0.0.1:53"
        synced = "syncing " + sock

        _, out = run(CAP_NET_BIND_SERVICE, False, False, rargv)
        check("caps: resolver binds :53 as uid 1000, docker, no no-new-privileges", bound in out, out)
        _, out = run(CAP_NET_BIND_SERVICE, False, True, rargv)
        check(
            "caps: resolver cannot bind :53 as uid 1000, docker + no-new-privileges",
            bound not in out and "Permission denied" in out,
            out,
        )
        _, out = run(CAP_NET_BIND_SERVICE, True, True, rargv)
        check("caps: resolver binds :53 as uid 1000, containerd + allowPrivilegeEscalation false", bound in out, out)
        failed_exec, out = run(None, False, False, rargv)
        check("caps: resolver does not start without NET_BIND_SERVICE in the bounding set", failed_exec, out)
        _, out = run(CAP_NET_ADMIN, False, False, fargv)
        check("caps: fwsync has NET_ADMIN as uid 1000, docker, no no-new-privileges", synced in out, out)
        _, out = run(CAP_NET_ADMIN, False, True, fargv)
        check(
            "caps: fwsync lacks NET_ADMIN as uid 1000, docker + no-new-privileges",
            synced not in out and "CAP_NET_ADMIN" in out,
            out,
        )
        _, out = run(CAP_NET_ADMIN, True, True, fargv)
        check("caps: fwsync has NET_ADMIN as uid 1000, containerd + allowPrivilegeEscalation false", synced in out, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
