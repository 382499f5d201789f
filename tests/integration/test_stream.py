"""The address stream on fwsync_socket (issue 4, resolver side)."""
import json
import os
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

import dns.message
import dns.rcode
import dns.rrset
import pytest

from conftest import RESOLVER, addresses

AI_ONLY = {"LOKI_NETWORK_EGRESS_POLICY": "ai-only"}


def sock_path():
    return os.path.join(tempfile.mkdtemp(prefix="loki-stream-"), "fwsync.sock")


class Sub:
    """A subscriber: reads JSON lines from the resolver's stream."""

    def __init__(self, path, acks=None, autoack=False):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.settimeout(3)
        self.buf = b""
        self.autoack = autoack
        if acks is not None:
            self.send({"type": "subscribe", "acks": acks})

    def send(self, obj):
        self.s.sendall((json.dumps(obj) + "\n").encode())

    def read(self, timeout=3):
        """The next message, or None on timeout; raises EOFError on close."""
        self.s.settimeout(timeout)
        while b"\n" not in self.buf:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        m = json.loads(line)
        if self.autoack and "seq" in m:
            self.acked_at = time.time()
            self.send({"type": "ack", "seq": m["seq"]})
        return m

    def read_until(self, mtype, timeout=3):
        out = []
        while True:
            m = self.read(timeout)
            assert m is not None, f"no {mtype} within {timeout}s; got {out}"
            out.append(m)
            if m["type"] == mtype:
                return out

    def close(self):
        self.s.close()


def test_snapshot_then_incremental(resolver_factory):
    path = sock_path()
    r = resolver_factory(env=dict(AI_ONLY, LOKI_FWSYNC_SOCKET=path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    r.query("api.anthropic.com", "A")
    r.query("api.anthropic.com", "AAAA")
    sub = Sub(path)
    msgs = sub.read_until("synced")
    assert msgs[0] == {"type": "hello", "version": 1, "policy": "ai-only"}
    adds = msgs[1:-1]
    assert sorted((m["family"], m["addr"]) for m in adds) == [(4, "203.0.113.10"),
                                                             (6, "2001:db8::10")]
    assert all(m["name"] == "api.anthropic.com" and 3590 <= m["ttl"] <= 3600 for m in adds)
    assert [m["seq"] for m in msgs[1:]] == [1, 2, 3]
    # Incremental: a new answer is published once ...
    r.query("API.OpenAI.com.", "A")
    m = sub.read()
    assert m == {"type": "add", "seq": 4, "name": "api.openai.com", "family": 4,
                 "addr": "203.0.113.20", "ttl": 3600}
    # ... and a cache hit publishes nothing new.
    r.query("api.openai.com", "A")
    assert sub.read(timeout=0.5) is None
    sub.close()


def test_blocked_and_filtered_addresses_never_published(resolver_factory):
    path = sock_path()
    r = resolver_factory(env=dict(AI_ONLY, LOKI_FWSYNC_SOCKET=path,
                                  LOKI_ALLOWED_HOSTS="mixed.upstream.test,private.upstream.test"))
    sub = Sub(path)
    sub.read_until("synced")
    assert r.query("www.upstream.test").rcode() == dns.rcode.NXDOMAIN
    assert r.query("private.upstream.test").rcode() == dns.rcode.NXDOMAIN
    assert addresses(r.query("mixed.upstream.test")) == ["198.51.100.9"]
    m = sub.read()
    assert (m["name"], m["addr"]) == ("mixed.upstream.test", "198.51.100.9")
    assert sub.read(timeout=0.5) is None


def test_two_subscribers_both_get_events(resolver_factory):
    path = sock_path()
    r = resolver_factory(env=dict(AI_ONLY, LOKI_FWSYNC_SOCKET=path))
    a, b = Sub(path), Sub(path)
    a.read_until("synced")
    b.read_until("synced")
    r.query("api.openai.com", "AAAA")
    assert a.read()["addr"] == "2001:db8::20"
    assert b.read()["addr"] == "2001:db8::20"


def timed_query(r, name, rdtype="A", timeout=5):
    t = time.time()
    a = r.query(name, rdtype, timeout=timeout)
    return a, time.time() - t


def test_fwsync_wait_holds_until_acked(resolver_factory):
    path = sock_path()
    r = resolver_factory(env=dict(AI_ONLY, LOKI_FWSYNC_SOCKET=path,
                                  LOKI_FWSYNC_WAIT_MS="1500"))
    silent = Sub(path, acks=True)  # asks for acks, never acks
    silent.read_until("synced")
    time.sleep(0.1)
    a, took = timed_query(r, "api.anthropic.com")
    assert addresses(a) == ["203.0.113.10"]
    assert 1.3 < took < 3.0, took  # held until the wait expired
    # A reply that publishes nothing new is never held.
    a, took = timed_query(r, "api.anthropic.com")
    assert took < 0.5, took
    silent.close()


def test_fwsync_wait_releases_on_ack_and_add_comes_first(resolver_factory):
    path = sock_path()
    r = resolver_factory(env=dict(AI_ONLY, LOKI_FWSYNC_SOCKET=path,
                                  LOKI_FWSYNC_WAIT_MS="3000"))
    sub = Sub(path, acks=True, autoack=True)
    sub.read_until("synced")
    got = {}

    def reader():
        got["msg"] = sub.read(timeout=5)
    t = threading.Thread(target=reader)
    t.start()
    a, took = timed_query(r, "api.openai.com")
    answered_at = time.time()
    t.join()
    assert addresses(a) == ["203.0.113.20"]
    assert took < 1.0, took  # released by the ack, not by the 3 s wait
    assert got["msg"]["addr"] == "203.0.113.20"
    # The firewall had the add, and acked it, before the client had its answer.
    assert sub.acked_at <= answered_at


def test_garbage_from_subscriber_disconnects_it(resolver_factory):
    path = sock_path()
    r = resolver_factory(env=dict(AI_ONLY, LOKI_FWSYNC_SOCKET=path))
    sub = Sub(path)
    sub.read_until("synced")
    sub.s.sendall(b"this is not json\n")
    with pytest.raises(EOFError):
        while sub.read(timeout=3) is not None:
            pass
    assert "disconnected" in r.stderr()
    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR


STREAM_MAX_SUBS = 256  # resolver/stream.h


def test_subscribers_beyond_the_cap_are_refused_not_leaked(resolver_factory):
    """README "Limits": at most STREAM_MAX_SUBS subscribers; one more is
    accepted and closed at once (no hello), logged once, and the resolver
    keeps answering and serving the ones it has; a freed slot is reusable."""
    path = sock_path()
    r = resolver_factory(env=dict(AI_ONLY, LOKI_FWSYNC_SOCKET=path))
    subs = []
    try:
        for _ in range(STREAM_MAX_SUBS):
            subs.append(Sub(path))
        for sub in subs:
            assert sub.read_until("synced")[0]["type"] == "hello"
        extra = [Sub(path) for _ in range(3)]
        for sub in extra:
            with pytest.raises(EOFError):
                sub.read(timeout=3)
            sub.close()
        assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR
        # Every connected subscriber still gets the new address.
        for sub in (subs[0], subs[-1]):
            m = sub.read_until("add")[-1]
            assert m["name"] == "api.anthropic.com"
        deadline = time.time() + 3
        while "subscriber connection refused" not in r.stderr() and time.time() < deadline:
            time.sleep(0.05)
        log = r.stderr()
        assert "subscriber connection refused: too many subscribers" in log
        # Rate-limited: one line for the burst, not one per connection.
        assert log.count("subscriber connection refused") == 1
        subs.pop().close()
        deadline = time.time() + 3
        while True:
            again = Sub(path)
            try:
                assert again.read(timeout=3)["type"] == "hello"
                break
            except EOFError:
                again.close()
                assert time.time() < deadline, "the freed slot was never reused"
                time.sleep(0.05)
        again.close()
    finally:
        for sub in subs:
            sub.close()


def test_reload_revocation_sends_del(resolver_factory, nsd):
    path = sock_path()
    d = tempfile.mkdtemp()
    conf = os.path.join(d, "loki.conf")
    with open(conf, "w") as f:
        f.write(f"upstream = 127.0.0.1:{nsd.port}\negress_policy = ai-only\n"
                f"allowed_hosts = www.upstream.test\nfwsync_socket = {path}\n")
    r = resolver_factory(config=conf, upstreams=[])
    sub = Sub(path)
    sub.read_until("synced")
    r.query("www.upstream.test")
    r.query("api.anthropic.com")
    seen = {sub.read()["addr"], sub.read()["addr"]}
    assert seen == {"198.51.100.80", "203.0.113.10"}
    with open(conf, "w") as f:
        f.write(f"upstream = 127.0.0.1:{nsd.port}\negress_policy = ai-only\n"
                f"fwsync_socket = {path}\n")
    r.proc.send_signal(signal.SIGHUP)
    m = sub.read(timeout=5)
    assert m["type"] == "del"
    assert (m["name"], m["family"], m["addr"]) == ("www.upstream.test", 4, "198.51.100.80")
    assert sub.read(timeout=0.5) is None  # api.anthropic.com stays


def test_slow_subscriber_is_disconnected_not_skipped(resolver_factory, stub_factory):
    def distinct(q, raw, transport):
        n = int(str(q.question[0].name).split(".")[0][1:])
        a = dns.message.make_response(q)
        a.answer.append(dns.rrset.from_text(q.question[0].name, 300, "IN", "AAAA",
                                            f"2001:db8::{n // 65536:x}:{n % 65536:x}"))
        return a.to_wire()
    s = stub_factory(distinct)
    path = sock_path()
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"],
                         env={"LOKI_FWSYNC_SOCKET": path, "LOKI_LOG_QUERIES": "none"})
    lazy = Sub(path)  # never reads after this
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    for batch in range(80):
        for i in range(100):
            q = dns.message.make_query(f"n{batch * 100 + i}.example", "AAAA")
            sock.sendto(q.to_wire(), (r.host, r.port))
        for i in range(100):
            sock.recv(4096)
    sock.close()
    deadline = time.time() + 5
    while "too slow" not in r.stderr() and time.time() < deadline:
        time.sleep(0.1)
    assert "too slow" in r.stderr()
    # Everything it did get is a clean prefix; then the connection ends.
    n = 0
    with pytest.raises(EOFError):
        while True:
            m = lazy.read(timeout=3)
            assert m is not None
            n += 1
    assert 0 < n < 8002
    # A fresh connection gets a full snapshot.
    fresh = Sub(path)
    msgs = fresh.read_until("synced", timeout=10)
    assert len(msgs) == 8000 + 2


def test_stale_socket_replaced_and_foreign_file_refused(nsd):
    d = tempfile.mkdtemp()
    path = os.path.join(d, "fwsync.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    env = {"PATH": os.environ.get("PATH", ""), "LOKI_FWSYNC_SOCKET": path}
    p = subprocess.Popen([RESOLVER, "--listen", "127.0.0.1:5397", "--upstream",
                          f"127.0.0.1:{nsd.port}"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                Sub(path).read_until("synced")
                break
            except (ConnectionRefusedError, FileNotFoundError):
                time.sleep(0.05)
        else:
            pytest.fail("stream did not come up")
        # A second resolver on the same live socket refuses to start.
        q = subprocess.run([RESOLVER, "--listen", "127.0.0.1:5396", "--upstream",
                            f"127.0.0.1:{nsd.port}"], env=env, capture_output=True, text=True,
                           timeout=10)
        assert q.returncode == 1
        assert "another process" in q.stderr
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    assert not os.path.exists(path)  # removed at exit
    with open(path, "w") as f:
        f.write("not a socket")
    q = subprocess.run([RESOLVER, "--listen", "127.0.0.1:5396", "--upstream",
                        f"127.0.0.1:{nsd.port}"], env=env, capture_output=True, text=True,
                       timeout=10)
    assert q.returncode == 1
    assert "not a socket" in q.stderr
    assert open(path).read() == "not a socket"
