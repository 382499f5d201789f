"""SIGHUP reload, SIGTERM drain and privilege drop (issue 3)."""
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import dns.message
import dns.rcode
import dns.rrset
import pytest

from conftest import RESOLVER, addresses


def write_conf(path, text):
    with open(path, "w") as f:
        f.write(text)


def base_conf(nsd_port, policy, extra=""):
    return f"upstream = 127.0.0.1:{nsd_port}\negress_policy = {policy}\n{extra}"


def wait_log(r, text, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in r.stderr():
            return True
        time.sleep(0.02)
    return False


def test_reload_applies_new_policy_and_drops_cached(resolver_factory, nsd):
    d = tempfile.mkdtemp()
    conf = os.path.join(d, "loki.conf")
    write_conf(conf, base_conf(nsd.port, "unrestricted"))
    r = resolver_factory(config=conf, upstreams=[])
    assert addresses(r.query("www.upstream.test")) == ["198.51.100.80"]  # now cached
    write_conf(conf, base_conf(nsd.port, "ai-only"))
    r.proc.send_signal(signal.SIGHUP)
    assert wait_log(r, "reloaded configuration 2")
    time.sleep(0.1)
    a = r.query("www.upstream.test")
    assert a.rcode() == dns.rcode.NXDOMAIN  # the cached answer is never served again
    assert addresses(r.query("api.openai.com")) == ["203.0.113.20"]


def test_reload_with_broken_config_keeps_old(resolver_factory, nsd):
    d = tempfile.mkdtemp()
    conf = os.path.join(d, "loki.conf")
    write_conf(conf, base_conf(nsd.port, "ai-only"))
    r = resolver_factory(config=conf, upstreams=[])
    write_conf(conf, base_conf(nsd.port, "unrestricted", "no_such_key = 1\n"))
    r.proc.send_signal(signal.SIGHUP)
    assert wait_log(r, "reload failed")
    assert f"{conf}:3" in r.stderr() and "no_such_key" in r.stderr()
    assert r.query("www.upstream.test").rcode() == dns.rcode.NXDOMAIN  # still ai-only
    assert r.proc.poll() is None


def test_reload_rereads_zone_files(resolver_factory, nsd):
    d = tempfile.mkdtemp()
    zone = os.path.join(d, "allow.rpz")
    head = "$ORIGIN allow.rpz.\n@ SOA localhost. root.localhost. 1 3600 600 86400 30\n"
    write_conf(zone, head + "www.upstream.test CNAME rpz-passthru.\n")
    conf = os.path.join(d, "loki.conf")
    write_conf(conf, base_conf(nsd.port, "ai-only", f"zone = {zone}\n"))
    r = resolver_factory(config=conf, upstreams=[])
    assert addresses(r.query("www.upstream.test")) == ["198.51.100.80"]
    assert r.query("edge.upstream.test").rcode() == dns.rcode.NXDOMAIN
    write_conf(zone, head + "edge.upstream.test CNAME rpz-passthru.\n")
    r.proc.send_signal(signal.SIGHUP)
    assert wait_log(r, "reloaded configuration 2")
    time.sleep(0.1)
    assert addresses(r.query("edge.upstream.test")) == ["198.51.100.2"]
    assert r.query("www.upstream.test").rcode() == dns.rcode.NXDOMAIN


def test_query_loop_across_20_reloads_loses_nothing(resolver_factory, nsd):
    d = tempfile.mkdtemp()
    conf = os.path.join(d, "loki.conf")
    write_conf(conf, base_conf(nsd.port, "ai-only", "log_queries = none\n"))
    r = resolver_factory(config=conf, upstreams=[])
    stop = threading.Event()
    results = {"ok": 0, "bad": 0}

    def loop():
        names = ["api.anthropic.com", "api.openai.com", "blocked.example"]
        i = 0
        while not stop.is_set() and i < 20000:
            n = names[i % 3]
            try:
                a = r.query(n, timeout=2)
                want = dns.rcode.NXDOMAIN if n == "blocked.example" else dns.rcode.NOERROR
                results["ok" if a.rcode() == want else "bad"] += 1
            except Exception:
                results["bad"] += 1
            i += 1
    t = threading.Thread(target=loop)
    t.start()
    for i in range(20):
        time.sleep(0.05)
        r.proc.send_signal(signal.SIGHUP)
    assert wait_log(r, "reloaded configuration 21")
    time.sleep(0.2)
    stop.set()
    t.join()
    assert results["bad"] == 0, results
    assert results["ok"] > 100


def test_sigterm_finishes_inflight_tcp_answer(resolver_factory, stub_factory):
    def slow(q, raw, transport):
        time.sleep(0.6)
        a = dns.message.make_response(q)
        a.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "A", "192.0.2.9"))
        return a.to_wire()
    s = stub_factory(slow)
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"])
    sock = socket.create_connection((r.host, r.port), timeout=5)
    q = dns.message.make_query("slow.example", "A")
    w = q.to_wire()
    sock.sendall(struct.pack("!H", len(w)) + w)
    time.sleep(0.2)
    r.proc.send_signal(signal.SIGTERM)
    n = struct.unpack("!H", sock.recv(2))[0]
    data = b""
    while len(data) < n:
        data += sock.recv(n - len(data))
    assert addresses(dns.message.from_wire(data)) == ["192.0.2.9"]
    sock.close()
    assert r.proc.wait(timeout=10) == 0
    # New connections are no longer accepted.
    with pytest.raises(OSError):
        socket.create_connection((r.host, r.port), timeout=1).recv(1)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
def test_user_drops_root_and_capabilities(resolver_factory):
    r = resolver_factory(env={"LOKI_USER": "nobody"})
    st = proc_status(r.proc.pid)
    assert st["Uid"].split()[:3] == ["65534"] * 3
    assert st["CapEff"] == "0000000000000000"
    assert st["CapPrm"] == "0000000000000000"
    assert st["NoNewPrivs"] == "1"
    assert addresses(r.query("api.anthropic.com")) == ["203.0.113.10"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_require_unprivileged_refuses_root_without_user():
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    p = subprocess.run([RESOLVER, "--require-unprivileged", "--listen", "127.0.0.1:5399",
                        "--upstream", "127.0.0.1:5300"], env=e, capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 2
    assert "require-unprivileged" in p.stderr


def test_unknown_user_fails_clearly():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LOKI_USER": "no-such-user-xyz"}
    p = subprocess.run([RESOLVER, "--listen", "127.0.0.1:5398", "--upstream", "127.0.0.1:5300"],
                       env=e, capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    assert "no-such-user-xyz" in p.stderr
