"""The query audit log (log_queries, query_log_file): one JSON object per
line with time, client, name, type, action, policy, reason and, for
forwarded queries, upstream and rtt; written to stderr or a file that
SIGHUP reopens for rotation."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import dns.message
import dns.name
import dns.query
import dns.rcode
import pytest

from conftest import free_port

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def logdir():
    d = tempfile.mkdtemp(prefix="loki-qlog-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f.read().splitlines()]


def wait_lines(path, n, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = read_lines(path)
        if len(lines) >= n:
            return lines
        time.sleep(0.02)
    return read_lines(path)


def test_file_fields_per_query(resolver_factory, nsd, logdir):
    path = os.path.join(logdir, "q.log")
    r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only",
                              "LOKI_LOG_QUERIES": "all", "LOKI_QUERY_LOG_FILE": path})
    assert r.query("blocked.example", "AAAA").rcode() == dns.rcode.NXDOMAIN
    lines = wait_lines(path, 1)
    assert len(lines) == 1
    b = lines[0]
    assert set(b) == {"time", "client", "name", "type", "action", "policy", "reason"}
    assert TIME_RE.match(b["time"])
    assert abs(time.mktime(time.strptime(b["time"][:19], "%Y-%m-%dT%H:%M:%S"))
               - time.timezone - time.time()) < 60
    assert (b["client"], b["name"], b["type"], b["action"], b["policy"]) == \
        ("127.0.0.1", "blocked.example", "AAAA", "blocked", "ai-only")
    assert b["reason"] == "not on the allowlist"

    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR
    lines = wait_lines(path, 2)
    a = lines[1]
    assert (a["name"], a["type"], a["action"], a["policy"]) == \
        ("api.anthropic.com", "A", "allowed", "ai-only")
    assert a["upstream"] == f"127.0.0.1:{nsd.port}"
    assert isinstance(a["rtt"], (int, float)) and 0 <= a["rtt"] < 1000
    assert a["rcode"] == "NOERROR"
    assert "reason" not in a
    # Nothing of it went to stderr.
    assert '"action"' not in r.stderr()


def test_blocked_mode_logs_only_blocked(resolver_factory, logdir):
    path = os.path.join(logdir, "q.log")
    r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only",
                              "LOKI_QUERY_LOG_FILE": path})
    r.query("api.anthropic.com")
    r.query("nope.example")
    lines = wait_lines(path, 1)
    time.sleep(0.2)
    lines = read_lines(path)
    assert [(l["name"], l["action"]) for l in lines] == [("nope.example", "blocked")]


def test_none_logs_nothing(resolver_factory, logdir):
    path = os.path.join(logdir, "q.log")
    r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only",
                              "LOKI_LOG_QUERIES": "none", "LOKI_QUERY_LOG_FILE": path})
    r.query("nope.example")
    time.sleep(0.2)
    assert os.path.exists(path)  # opened at start
    assert read_lines(path) == []


def test_stderr_by_default_and_names_escaped(resolver_factory):
    r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "none"})
    q = dns.message.make_query(dns.name.Name([b'we"ird\\', b"x\x01", b"example", b""]), "TXT")
    a = dns.query.udp(q, r.host, port=r.port, timeout=3)
    assert a.rcode() == dns.rcode.NXDOMAIN
    deadline = time.time() + 5
    while '"action"' not in r.stderr() and time.time() < deadline:
        time.sleep(0.02)
    lines = [json.loads(l) for l in r.stderr().splitlines() if l.startswith("{")]
    assert len(lines) == 1
    assert lines[0]["name"] == "we\\034ird\\092.x\\001.example"
    assert (lines[0]["type"], lines[0]["policy"], lines[0]["reason"]) == \
        ("TXT", "none", "egress policy none")


def test_rotation_on_sighup(resolver_factory, logdir):
    path = os.path.join(logdir, "q.log")
    rotated = path + ".1"
    r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only",
                              "LOKI_QUERY_LOG_FILE": path})
    r.query("one.example")
    assert len(wait_lines(path, 1)) == 1
    os.rename(path, rotated)
    r.query("two.example")  # still to the renamed file
    assert [l["name"] for l in wait_lines(rotated, 2)] == ["one.example", "two.example"]
    r.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.02)
    r.query("three.example")
    assert [l["name"] for l in wait_lines(path, 1)] == ["three.example"]
    assert [l["name"] for l in read_lines(rotated)] == ["one.example", "two.example"]


def test_lines_never_interleave(resolver_factory, logdir):
    path = os.path.join(logdir, "q.log")
    r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only",
                              "LOKI_QUERY_LOG_FILE": path, "LOKI_THREADS": "4"})
    per_thread, n_threads = 50, 4

    def client(t):
        for i in range(per_thread):
            name = "t%d-%d.%s.example" % (t, i, "x" * 50)
            try:
                r.query(name, timeout=2)
            except Exception:
                pass

    threads = [threading.Thread(target=client, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    lines = wait_lines(path, per_thread * n_threads)  # each parses as JSON
    assert len(lines) == per_thread * n_threads
    assert len({l["name"] for l in lines}) == per_thread * n_threads


def test_unopenable_file_is_exit_2(logdir):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LOKI_UPSTREAM": "192.0.2.1",
           "LOKI_QUERY_LOG_FILE": os.path.join(logdir, "missing", "q.log")}
    p = subprocess.run([os.environ["LOKI_RESOLVER"], "--listen", f"127.0.0.1:{free_port()}"],
                       env=env, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert "query_log_file: cannot open" in p.stderr
    assert "No such file or directory" in p.stderr


def test_refused_cache_hit_servfail_and_coalesced_lines(resolver_factory, stub_factory, logdir):
    """log_queries = all writes a line for every answer, not only for the
    forwarded ones: refused (client outside allow_clients, non-IN class), a
    cache hit, a SERVFAIL when the upstream stays silent, and the queries
    coalesced with one in flight."""
    path = os.path.join(logdir, "q.log")
    silent = stub_factory(lambda q, raw, addr: None)
    r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "unrestricted",
                              "LOKI_LOG_QUERIES": "all", "LOKI_QUERY_LOG_FILE": path,
                              "LOKI_UPSTREAM_TIMEOUT_MS": "300"},
                         upstreams=[f"127.0.0.1:{silent.port}"])
    # Non-IN class: REFUSED, one line.
    q = dns.message.make_query("api.openai.com", "A", "CH")
    assert dns.query.udp(q, "127.0.0.1", port=r.port, timeout=3).rcode() == dns.rcode.REFUSED
    lines = wait_lines(path, 1)
    assert [(l["action"], l["reason"]) for l in lines] == [("refused", "class not IN")]

    # Three clients at once for one silent name: one owner, two coalesced;
    # all three get SERVFAIL and each has its line.
    res = []
    ts = [threading.Thread(target=lambda: res.append(r.query("silent.example", timeout=5)))
          for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert [m.rcode() for m in res] == [dns.rcode.SERVFAIL] * 3
    lines = wait_lines(path, 4)
    sf = [l for l in lines if l["name"] == "silent.example"]
    assert [l["action"] for l in sf] == ["servfail"] * 3
    assert all(l["reason"] == "no upstream answered" for l in sf)


def test_cache_hit_and_refused_client(resolver_factory, logdir):
    path = os.path.join(logdir, "q.log")
    r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only",
                              "LOKI_LOG_QUERIES": "all", "LOKI_QUERY_LOG_FILE": path})
    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR
    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR
    lines = wait_lines(path, 2)
    assert [(l["action"], l.get("reason")) for l in lines] == \
        [("allowed", None), ("allowed", "cache")]
    assert "upstream" in lines[0] and "upstream" not in lines[1]

    # A client outside allow_clients: REFUSED and its line, in blocked mode
    # too (an access decision); 127.0.0.1 is outside 10.0.0.0/8.
    path2 = os.path.join(logdir, "r.log")
    r2 = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only",
                               "LOKI_ALLOW_CLIENTS": "10.0.0.0/8",
                               "LOKI_QUERY_LOG_FILE": path2})
    assert r2.query("api.anthropic.com").rcode() == dns.rcode.REFUSED
    lines = wait_lines(path2, 1)
    assert [(l["action"], l["client"], l["reason"]) for l in lines] == \
        [("refused", "127.0.0.1", "client not in allow_clients")]
