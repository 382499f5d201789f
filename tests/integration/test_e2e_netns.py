"""The whole loop in real network namespaces (issue 4, "Proof").

    client ns                router ns                          server ns
    192.0.2.2  --veth--  192.0.2.1 | 198.51.100.1  --veth--  198.51.100.2 .. .209
                         loki-resolver :53 (ai-only)            TCP 443 listener
                         NSD on 127.0.0.1 (zone svc.test)
                         loki-fwsync + conf/loki-egress.nft
                         on the forward path

The client's only DNS is the resolver; the router forwards TCP 443 from the
client subnet only to @allow4. Documentation address ranges only; every
namespace is made here and deleted at the end; processes are stopped by PID.
"""
import json
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import RESOLVER

HERE = os.path.dirname(os.path.abspath(__file__))
FWSYNC = os.environ.get("LOKI_FWSYNC")
SRC = os.environ.get("LOKI_SRCDIR", os.path.join(HERE, "..", ".."))
PY = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not FWSYNC,
                                reason="needs root (ip netns, nftables) and LOKI_FWSYNC")


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, timeout=60,
                          **kw)


class Topo:
    def __init__(self):
        tag = str(os.getpid())
        self.c, self.r, self.s = f"lokic{tag}", f"lokir{tag}", f"lokis{tag}"
        self.dir = tempfile.mkdtemp(prefix="loki-e2e-")
        self.sock = os.path.join(self.dir, "fwsync.sock")
        self.procs = {}

    def ns(self, name, *cmd, **kw):
        return sh("ip", "netns", "exec", name, *cmd, **kw)

    def up(self):
        for n in (self.c, self.r, self.s):
            sh("ip", "netns", "add", n)
            self.ns(n, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", "c0", "netns", self.c, "type", "veth", "peer", "name", "r0",
           "netns", self.r)
        sh("ip", "link", "add", "s0", "netns", self.s, "type", "veth", "peer", "name", "r1",
           "netns", self.r)
        self.ns(self.c, "ip", "addr", "add", "192.0.2.2/24", "dev", "c0")
        self.ns(self.c, "ip", "link", "set", "c0", "up")
        self.ns(self.c, "ip", "route", "add", "default", "via", "192.0.2.1")
        self.ns(self.r, "ip", "addr", "add", "192.0.2.1/24", "dev", "r0")
        self.ns(self.r, "ip", "addr", "add", "198.51.100.1/24", "dev", "r1")
        self.ns(self.r, "ip", "link", "set", "r0", "up")
        self.ns(self.r, "ip", "link", "set", "r1", "up")
        self.ns(self.r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for i in [2, 3, 4] + list(range(10, 210)):
            self.ns(self.s, "ip", "addr", "add", f"198.51.100.{i}/24", "dev", "s0")
        self.ns(self.s, "ip", "link", "set", "s0", "up")
        self.ns(self.s, "ip", "route", "add", "default", "via", "198.51.100.1")
        # The ruleset, with this topology's addresses.
        text = open(os.path.join(SRC, "conf", "loki-egress.nft")).read()
        text = re.sub(r"define RESOLVER4 = \S+", "define RESOLVER4 = 192.0.2.1", text)
        text = re.sub(r"define WORKLOAD4 = \S+", "define WORKLOAD4 = 192.0.2.0/24", text)
        self.ruleset = os.path.join(self.dir, "loki-egress.nft")
        with open(self.ruleset, "w") as f:
            f.write(text)
        self.start_nsd()
        self.start("server", self.s, [PY, os.path.join(HERE, "e2e", "server.py")])
        self.start_resolver()
        self.start_fwsync(install=True)

    def start(self, key, ns, cmd, env=None):
        log = open(os.path.join(self.dir, key + ".log"), "a")
        e = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        e.update(env or {})
        p = subprocess.Popen(["ip", "netns", "exec", ns] + cmd, stdout=log, stderr=log, env=e)
        self.procs[key] = p
        return p

    def log(self, key):
        return open(os.path.join(self.dir, key + ".log")).read()

    def wait_log(self, key, text, timeout=10, start=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.log(key)[start:]:
                return True
            time.sleep(0.05)
        return False

    def start_nsd(self):
        conf = os.path.join(self.dir, "nsd.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
    ip-address: 127.0.0.1@5353
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    database: ""
    zonesdir: "{HERE}/e2e"
    zonelistfile: "{self.dir}/zone.list"
    xfrdfile: "{self.dir}/xfrd.state"
    xfrdir: "{self.dir}"
    pidfile: ""
    logfile: "{self.dir}/nsd-own.log"
    cookie-secret-file: "{self.dir}/cs.txt"
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "svc.test"
    zonefile: "svc.test.zone"
""")
        self.start("nsd", self.r, ["nsd", "-d", "-c", conf])
        time.sleep(0.5)

    def start_resolver(self):
        start = len(self.log("resolver")) if os.path.exists(
            os.path.join(self.dir, "resolver.log")) else 0
        self.start("resolver", self.r, [RESOLVER, "--listen", "192.0.2.1:53", "--upstream",
                                        "127.0.0.1:5353", "--fwsync-socket", self.sock],
                   env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only",
                        "LOKI_ALLOWED_HOSTS": "*.svc.test",
                        "LOKI_ALLOW_CLIENTS": "192.0.2.0/24",
                        "LOKI_FWSYNC_WAIT_MS": "1000", "LOKI_THREADS": "2"})
        assert self.wait_log("resolver", "listening on", start=start), self.log("resolver")

    def start_fwsync(self, install=False):
        cmd = [FWSYNC, "--socket", self.sock, "--min-timeout", "1", "--grace", "1"]
        if install:
            cmd += ["--install-ruleset", self.ruleset]
        self.start("fwsync", self.r, cmd)

    def kill(self, key, sig=signal.SIGTERM):
        p = self.procs.pop(key, None)
        if p is not None and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode if p is not None else None

    def client(self, *args):
        out = self.ns(self.c, PY, os.path.join(HERE, "e2e", "client.py"), *args)
        return json.loads(out.stdout)

    def set4(self):
        out = self.ns(self.r, "nft", "-j", "list", "set", "inet", "loki", "allow4").stdout
        elems = {}
        for item in json.loads(out)["nftables"]:
            for e in item.get("set", {}).get("elem", []):
                if isinstance(e, dict) and "elem" in e:
                    elems[e["elem"]["val"]] = e["elem"].get("expires")
                else:
                    elems[e] = None
        return elems

    def down(self):
        for key in list(self.procs):
            self.kill(key)
        for n in (self.c, self.r, self.s):
            sh("ip", "netns", "del", n, check=False)


@pytest.fixture(scope="module")
def topo():
    t = Topo()
    try:
        t.up()
        yield t
    finally:
        t.down()


def test_allowed_name_resolves_and_first_connect_succeeds(topo):
    r = topo.client("resolve-connect", "allowed.svc.test")
    assert r == {"rcode": "NOERROR", "addrs": ["198.51.100.2"], "connected": True}
    assert "198.51.100.2" in topo.set4()


def test_never_resolved_address_unreachable(topo):
    assert topo.client("connect", "198.51.100.3") == {"connected": False}
    assert "198.51.100.3" not in topo.set4()


def test_blocked_name_nxdomain(topo):
    r = topo.client("resolve-connect", "blocked.example")
    assert r["rcode"] == "NXDOMAIN" and r["addrs"] == []


def test_200_resolve_then_connect_trials(topo):
    names = [f"n{i}.svc.test" for i in range(1, 201)]
    r = topo.client("trials", *names)
    print("200 trials:", r)
    assert r["trials"] == 200
    assert r["failures"] == []
    assert {f"198.51.100.{i}" for i in range(10, 210)} <= set(topo.set4())


def test_element_expires_after_ttl_plus_grace(topo):
    r = topo.client("resolve-connect", "short.svc.test")
    assert r["connected"] is True
    assert "198.51.100.4" in topo.set4()
    time.sleep(2 + 1 + 1.5)  # max(ttl 2, min-timeout 1) + grace 1, plus margin
    assert "198.51.100.4" not in topo.set4()
    assert topo.client("connect", "198.51.100.4") == {"connected": False}


def test_restarts_never_empty_the_set_and_agent_resyncs(topo):
    assert "198.51.100.2" in topo.set4()
    topo.kill("fwsync", signal.SIGKILL)
    assert "198.51.100.2" in topo.set4()  # fail-static
    assert topo.client("connect", "198.51.100.2")["connected"] is True
    n = len(topo.log("fwsync"))
    topo.start_fwsync()
    assert topo.wait_log("fwsync", "synced", start=n) or topo.wait_log("fwsync", "snapshot",
                                                                       start=n)
    assert "198.51.100.2" in topo.set4()
    topo.kill("resolver", signal.SIGKILL)
    time.sleep(0.5)
    assert "198.51.100.2" in topo.set4()
    assert topo.client("connect", "198.51.100.2")["connected"] is True
    topo.start_resolver()
    time.sleep(6)  # the agent's backoff is capped at 5 s
    assert "198.51.100.2" in topo.set4()
    # The agent follows the new resolver: a new name reaches the set.
    r = topo.client("resolve-connect", "n7.svc.test")
    assert r["connected"] is True
    assert topo.procs["fwsync"].poll() is None
