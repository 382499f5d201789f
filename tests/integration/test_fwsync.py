"""loki-fwsync against a fake address stream (DESIGN.md, "The address stream"
and "loki-fwsync command line").

The agent runs in a private network namespace held open by a `sleep`
process started with `unshare -n`, so its nftables changes never touch the
host and the sets can still be inspected after the agent has exited. The
stream server is a Python Unix-socket server written here: it sends hello,
adds, dels and synced, and reads subscribe and acks. A Unix socket is a
filesystem path, so the agent reaches it across the namespace boundary.
Everything needs root (unshare, nft); without it every test is skipped.
"""
import json
import os
import queue
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

FWSYNC = os.environ.get("LOKI_FWSYNC")
SRCDIR = os.environ.get("LOKI_SRCDIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RULESET = os.path.join(SRCDIR, "conf", "loki-egress.nft")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="loki-fwsync tests need root (unshare -n, nft)"),
    pytest.mark.skipif(not FWSYNC, reason="LOKI_FWSYNC is not set"),
]


def wait_for(pred, timeout=5.0, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


# ---------------------------------------------------------------- fake stream
class Conn:
    """One accepted subscriber connection."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(0.1)
        self.buf = b""
        self.closed = False

    def send(self, *lines):
        data = b"".join((l if isinstance(l, bytes) else json.dumps(l, separators=(",", ":")).encode())
                        + b"\n" for l in lines)
        self.sock.sendall(data)

    def read_line(self, timeout=5.0):
        """The next line from the agent, parsed, or None on close/timeout."""
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            if time.time() > deadline:
                return None
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def wait_ack(self, seq, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.read_line(deadline - time.time())
            if m is None:
                break
            if m.get("type") == "ack" and m["seq"] >= seq:
                return m["seq"]
        raise AssertionError(f"no ack for seq {seq}")

    def wait_closed(self, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline and not self.closed:
            self.read_line(0.1)
        return self.closed

    def hello(self, policy="ai-only"):
        """Sends hello; returns the agent's subscribe message."""
        self.send({"type": "hello", "version": 1, "policy": policy})
        return self.read_line()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class FakeStream:
    """A Unix-socket stream server at path; accepted connections queue up."""

    def __init__(self, path):
        self.path = path
        self.conns = queue.Queue()
        self.all = []
        self.running = True
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                s, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            c = Conn(s)
            self.all.append(c)
            self.conns.put(c)

    def accept(self, timeout=5.0):
        return self.conns.get(timeout=timeout)

    def stop(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()
        for c in self.all:
            c.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def add(seq, addr, ttl=300, name="api.anthropic.com"):
    return {"type": "add", "seq": seq, "name": name, "family": 6 if ":" in addr else 4,
            "addr": addr, "ttl": ttl}


def delete(seq, addr, name="api.anthropic.com"):
    return {"type": "del", "seq": seq, "name": name, "family": 6 if ":" in addr else 4,
            "addr": addr}


def synced(seq):
    return {"type": "synced", "seq": seq}


# ---------------------------------------------------------------- agent
class Netns:
    """A network namespace held open by `unshare -n sleep`."""

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "-n", "--", "sleep", "3600"])
        self.path = f"/proc/{self.holder.pid}/ns/net"
        # Wait until the holder has left the parent's namespace.
        mine = os.readlink("/proc/self/ns/net")
        wait_for(lambda: os.path.exists(self.path) and os.readlink(self.path) != mine, 5)

    def run(self, *cmd, **kw):
        return subprocess.run(["nsenter", f"--net={self.path}", "--"] + list(cmd),
                              capture_output=True, text=True, timeout=20, **kw)

    def elements(self, set_name="allow4", table=("inet", "loki")):
        """{addr: (timeout, expires)} of a set, or None if it does not exist."""
        r = self.run("nft", "-j", "list", "set", table[0], table[1], set_name)
        if r.returncode != 0:
            return None
        out = {}
        for obj in json.loads(r.stdout)["nftables"]:
            for e in obj.get("set", {}).get("elem", []):
                if isinstance(e, dict):
                    e = e["elem"]
                    out[e["val"]] = (e.get("timeout"), e.get("expires"))
                else:
                    out[e] = (None, None)
        return out

    def stop(self):
        self.holder.kill()
        self.holder.wait()


class Agent:
    def __init__(self, ns, args):
        self.errfile = tempfile.NamedTemporaryFile(prefix="loki-fwsync-", suffix=".err",
                                                   delete=False)
        self.outfile = tempfile.NamedTemporaryFile(prefix="loki-fwsync-", suffix=".out",
                                                   delete=False)
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        prefix = ["nsenter", f"--net={ns.path}", "--"] if ns is not None else []
        self.proc = subprocess.Popen(prefix + [FWSYNC] + list(args), env=env,
                                     stdout=self.outfile, stderr=self.errfile)

    def stderr(self):
        with open(self.errfile.name) as f:
            return f.read()

    def stdout(self):
        with open(self.outfile.name) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def netns():
    ns = Netns()
    yield ns
    ns.stop()


@pytest.fixture
def sockpath():
    d = tempfile.mkdtemp(prefix="loki-fwsync-")
    return os.path.join(d, "fwsync.sock")


@pytest.fixture
def stream(sockpath):
    s = FakeStream(sockpath)
    yield s
    s.stop()


@pytest.fixture
def agent_factory(netns, sockpath):
    started = []

    def make(*args, ns=netns, socket_path=sockpath):
        a = Agent(ns, ["--socket", socket_path] + list(args))
        started.append(a)
        return a

    yield make
    for a in started:
        rc = a.stop()
        assert rc == 0, f"loki-fwsync exited {rc}: {a.stderr()[-3000:]}"


def connect_and_sync(stream, lines, last_seq):
    c = stream.accept()
    sub = c.hello()
    assert sub == {"type": "subscribe", "acks": True}
    c.send(*lines)
    assert c.wait_ack(last_seq) == last_seq
    return c


# ---------------------------------------------------------------- tests
def test_snapshot_applied_then_acked(netns, stream, agent_factory):
    agent = agent_factory()
    c = stream.accept()
    assert c.hello() == {"type": "subscribe", "acks": True}
    # Nothing is acked before synced has been committed with the rest.
    c.send(add(1, "203.0.113.5", 212), add(2, "2001:db8::7", 300), add(3, "198.51.100.1", 10),
           synced(4))
    assert c.wait_ack(4) == 4
    v4 = netns.elements("allow4")
    v6 = netns.elements("allow6")
    # timeout = max(ttl, 60) + 30
    assert v4["203.0.113.5"][0] == 242
    assert v4["198.51.100.1"][0] == 90
    assert v6["2001:db8::7"][0] == 330
    assert 230 <= v4["203.0.113.5"][1] <= 242
    assert "in sync" in agent.stderr()


def test_timeout_options(netns, stream, agent_factory):
    agent_factory("--min-timeout", "100", "--grace", "5")
    connect_and_sync(stream, [add(1, "203.0.113.5", 212), add(2, "203.0.113.6", 10), synced(3)], 3)
    v4 = netns.elements("allow4")
    assert v4["203.0.113.5"][0] == 217
    assert v4["203.0.113.6"][0] == 105


def test_incremental_add_del_and_refresh(netns, stream, agent_factory):
    agent_factory()
    c = connect_and_sync(stream, [add(1, "203.0.113.5", 300), synced(2)], 2)
    c.send(add(3, "203.0.113.9", 100))
    c.wait_ack(3)
    assert "203.0.113.9" in netns.elements("allow4")
    # A later expiry for a known address: the element takes the new timeout.
    c.send(add(4, "203.0.113.9", 600))
    c.wait_ack(4)
    t, x = netns.elements("allow4")["203.0.113.9"]
    assert t == 630 and x > 600
    c.send(delete(5, "203.0.113.9"), delete(6, "203.0.113.77"))
    c.wait_ack(6)
    els = netns.elements("allow4")
    assert "203.0.113.9" not in els
    assert "203.0.113.5" in els


def test_forbidden_addresses_never_added(netns, stream, agent_factory):
    agent = agent_factory()
    bad = ["169.254.169.254", "127.0.0.1", "224.0.0.251", "0.0.0.0"]
    bad6 = ["::1", "ff02::1", "fe80::1", "::ffff:169.254.169.254", "::"]
    lines = [add(i + 1, a) for i, a in enumerate(bad + bad6)]
    n = len(lines)
    lines += [add(n + 1, "203.0.113.5"), synced(n + 2)]
    connect_and_sync(stream, lines, n + 2)
    assert set(netns.elements("allow4")) == {"203.0.113.5"}
    assert netns.elements("allow6") == {}
    assert "169.254.169.254" in agent.stderr()


@pytest.mark.parametrize("garbage", [
    b"this is not json",
    b'{"type":"add","seq":3,"name":"x.example","family":4,"addr":"203.0.113.1","ttl":1,"x":{}}',
    b'{"type":"bogus","seq":3}',
    b'{"type":"add","seq":9,"name":"x.example","family":4,"addr":"203.0.113.1","ttl":1}',
    b'{"type":"add","seq":3,"name":"x.example","family":4,"addr":"2001:db8::1","ttl":1}',
    b'{"type":"add","seq":3,"name":"' + b"a" * 1100 + b'","family":4,"addr":"203.0.113.1","ttl":1}',
], ids=["not-json", "nested", "unknown-type", "seq-gap", "family-mismatch", "long-line"])
def test_bad_line_disconnects_and_keeps_set(netns, stream, agent_factory, garbage):
    agent = agent_factory()
    c = connect_and_sync(stream, [add(1, "203.0.113.5"), synced(2)], 2)
    c.send(garbage)
    assert c.wait_closed(), "the agent did not disconnect"
    # The set is kept while the agent reconnects for a fresh snapshot.
    assert "203.0.113.5" in netns.elements("allow4")
    c2 = stream.accept()
    assert c2.hello()["type"] == "subscribe"
    c2.send(add(1, "203.0.113.6"), synced(2))
    c2.wait_ack(2)
    els = netns.elements("allow4")
    assert "203.0.113.5" in els and "203.0.113.6" in els
    assert "disconnecting" in agent.stderr()


def test_valid_lines_before_garbage_are_committed(netns, stream, agent_factory):
    agent_factory()
    c = connect_and_sync(stream, [synced(1)], 1)
    c.send(add(2, "203.0.113.8"), b"garbage")
    assert c.wait_ack(2) == 2
    assert c.wait_closed()
    assert "203.0.113.8" in netns.elements("allow4")


def test_server_restart_resync(netns, sockpath, agent_factory):
    s1 = FakeStream(sockpath)
    agent = agent_factory()
    connect_and_sync(s1, [add(1, "203.0.113.5"), add(2, "2001:db8::5"), synced(3)], 3)
    s1.stop()
    # While the resolver is away the set stays as it is (fail-static) and
    # the agent retries with backoff.
    assert wait_for(lambda: "cannot connect" in agent.stderr(), 5)
    time.sleep(0.5)
    assert "203.0.113.5" in netns.elements("allow4")
    assert "2001:db8::5" in netns.elements("allow6")
    assert agent.alive()
    s2 = FakeStream(sockpath)
    try:
        connect_and_sync(s2, [add(1, "203.0.113.6"), synced(2)], 2)
        els = netns.elements("allow4")
        assert "203.0.113.5" in els and "203.0.113.6" in els
    finally:
        s2.stop()


def test_missing_socket_backoff(netns, sockpath, agent_factory):
    agent = agent_factory()
    # 100 + 200 + 400 + 800 ms of retries: the agent keeps running and logs each.
    assert wait_for(lambda: "retrying in 800 ms" in agent.stderr(), 5), agent.stderr()
    assert agent.alive()
    err = agent.stderr()
    for ms in (100, 200, 400):
        assert f"retrying in {ms} ms" in err
    assert "no such file or directory" in err
    # The sets exist (created at startup) and are empty.
    assert netns.elements("allow4") == {}
    s = FakeStream(sockpath)
    try:
        connect_and_sync(s, [add(1, "203.0.113.5"), synced(2)], 2)
    finally:
        s.stop()


def test_backoff_caps_at_5s(netns, sockpath, agent_factory):
    agent = agent_factory()
    # 100 ms doubling: 5 s is reached after 6.3 s and never exceeded.
    assert wait_for(lambda: "retrying in 5000 ms" in agent.stderr(), 10), agent.stderr()
    assert "6400 ms" not in agent.stderr() and "10000 ms" not in agent.stderr()
    assert agent.alive()


def test_sigterm_leaves_sets(netns, stream, agent_factory):
    agent = agent_factory()
    connect_and_sync(stream, [add(1, "203.0.113.5"), synced(2)], 2)
    assert agent.stop() == 0
    assert "203.0.113.5" in netns.elements("allow4")


def test_dry_run(netns, stream, agent_factory):
    agent = agent_factory("--dry-run")
    c = stream.accept()
    # A dry run changes no firewall, so it asks for no acks.
    assert c.hello() == {"type": "subscribe", "acks": False}
    c.send(add(1, "203.0.113.7", 300), add(2, "2001:db8::7", 10), add(3, "127.0.0.1"),
           synced(4), delete(5, "198.51.100.9"))
    want = ["add element inet loki allow4 { 203.0.113.7 timeout 330s }",
            "delete element inet loki allow4 { 203.0.113.7 }",
            "add element inet loki allow6 { 2001:db8::7 timeout 90s }",
            "add element inet loki allow4 { 198.51.100.9 timeout 1s }",
            "delete element inet loki allow4 { 198.51.100.9 }"]
    assert wait_for(lambda: want[-1] in agent.stdout(), 5), agent.stdout()
    out = agent.stdout().splitlines()
    for w in want:
        assert w in out
    assert not any("127.0.0.1" in l for l in out)
    assert out[0] == "add table inet loki"
    # Nothing was applied.
    assert netns.elements("allow4") is None


def test_refresh_option_add_in_dry_run(netns, stream, agent_factory):
    agent = agent_factory("--dry-run", "--refresh=add", "--table", "ip", "fw", "--set4", "v4")
    c = stream.accept()
    c.hello()
    c.send(add(1, "203.0.113.7", 300), synced(2))
    line = "add element ip fw v4 { 203.0.113.7 timeout 330s expires 330s }"
    assert wait_for(lambda: line in agent.stdout(), 5), agent.stdout()


def test_refresh_probe_logged(netns, stream, agent_factory):
    agent = agent_factory()
    connect_and_sync(stream, [synced(1)], 1)
    assert "element refresh: " in agent.stderr()


def test_install_ruleset(netns, stream, agent_factory):
    agent = agent_factory("--install-ruleset", RULESET)
    connect_and_sync(stream, [add(1, "203.0.113.5"), synced(2)], 2)
    r = netns.run("nft", "list", "chain", "inet", "loki", "workload")
    assert r.returncode == 0
    assert "@allow4" in r.stdout and "169.254.169.254" in r.stdout
    assert "203.0.113.5" in netns.elements("allow4")
    assert "loaded" in agent.stderr()


def test_install_ruleset_check_mode(netns):
    r = subprocess.run(["nsenter", f"--net={netns.path}", "--", "nft", "-c", "-f", RULESET],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def run_once(netns, *args, timeout=10, pre=()):
    cmd = list(pre) + ["nsenter", f"--net={netns.path}", "--", FWSYNC] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_install_broken_ruleset(netns, sockpath):
    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
        f.write("table inet loki {\n\tchain c {\n\t\tip daddr @nosuchset accept\n\t}\n}\n")
    r = run_once(netns, "--socket", sockpath, "--install-ruleset", f.name)
    assert r.returncode == 1
    assert f"cannot install ruleset {f.name}" in r.stderr
    assert "Error" in r.stderr and f.name in r.stderr
    r = run_once(netns, "--socket", sockpath, "--install-ruleset", "/nonexistent.nft")
    assert r.returncode == 1
    assert "/nonexistent.nft" in r.stderr
    os.unlink(f.name)


def test_without_cap_net_admin(netns, sockpath):
    if subprocess.run(["which", "setpriv"], capture_output=True).returncode != 0:
        pytest.skip("setpriv not installed")
    r = run_once(netns, "--socket", sockpath,
                 pre=["setpriv", "--bounding-set=-net_admin", "--"])
    assert r.returncode == 1
    assert ("cannot modify nftables: Operation not permitted "
            "(needs root or CAP_NET_ADMIN)") in r.stderr


def test_existing_incompatible_set(netns, sockpath):
    netns.run("nft", "add", "table", "inet", "loki")
    netns.run("nft", "add", "set", "inet", "loki", "allow4", "{ type ipv4_addr; }")
    r = run_once(netns, "--socket", sockpath)
    assert r.returncode == 1
    assert "flags timeout" in r.stderr


def test_usage():
    r = subprocess.run([FWSYNC, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for opt in ("--socket", "--table", "--set4", "--set6", "--min-timeout", "--grace",
                "--install-ruleset", "--dry-run", "--refresh", "--version", "--help",
                "/run/loki/fwsync.sock", "inet loki", "allow4", "allow6"):
        assert opt in r.stdout, opt
    r = subprocess.run([FWSYNC, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("loki-fwsync ")
    for bad in (["--bogus"], ["--table", "inet"], ["--min-timeout", "x"], ["--grace", "-1"],
                ["--refresh=sometimes"], ["extra"], ["--table", "inet6", "loki", "--dry-run"],
                ["--set4", "a b", "--dry-run"], ["--socket"]):
        r = subprocess.run([FWSYNC] + bad, capture_output=True, text=True, timeout=5)
        assert r.returncode == 2, (bad, r.stderr)
        assert "loki-fwsync" in r.stderr


# ---------------------------------------------------------------- end to end
def test_end_to_end_with_resolver(netns, sockpath, agent_factory, request):
    """The real loki-resolver publishes what NSD answers; the agent admits it
    before the held DNS reply goes out (fwsync_wait_ms)."""
    resolver = os.environ.get("LOKI_RESOLVER")
    if not resolver or not os.access(resolver, os.X_OK):
        pytest.skip("LOKI_RESOLVER is not built")
    make = request.getfixturevalue("resolver_factory")
    r = make(env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only", "LOKI_FWSYNC_SOCKET": sockpath,
                  "LOKI_FWSYNC_WAIT_MS": "3000"})
    agent = agent_factory()
    assert wait_for(lambda: "in sync" in agent.stderr(), 10), agent.stderr()
    t0 = time.time()
    a = r.query("api.anthropic.com.", "A")
    aaaa = r.query("api.anthropic.com.", "AAAA")
    elapsed = time.time() - t0
    assert [x.address for rr in a.answer for x in rr] == ["203.0.113.10"]
    # Acked well before the 3 s hold would have run out, and already in the set
    # when the reply arrived.
    assert elapsed < 2.5, elapsed
    v4 = netns.elements("allow4")
    v6 = netns.elements("allow6")
    assert "203.0.113.10" in v4, (v4, agent.stderr())
    assert "2001:db8::10" in v6
    ttl = a.answer[0].ttl
    assert v4["203.0.113.10"][0] == max(ttl, 60) + 30
    assert aaaa.answer
    # A blocked name publishes nothing.
    r.query("blocked.upstream.test.", "A")
    time.sleep(0.2)
    assert set(netns.elements("allow4")) == {"203.0.113.10"}
