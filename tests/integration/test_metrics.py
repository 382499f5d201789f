"""Metrics and health (DESIGN.md, "Metrics and health"): /metrics scraped
with curl and parsed with the Prometheus client's own parser, counters
moved by real queries against the NSD upstream, /health, errors, TLS with
a certificate made here, and loki-fwsync's endpoint."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import dns.rcode
import pytest

from conftest import free_port

prom_parser = pytest.importorskip(
    "prometheus_client.parser", reason="apt-get install python3-prometheus-client")
if shutil.which("curl") is None:
    pytest.skip("curl not found (apt-get install curl)", allow_module_level=True)

AI_ONLY = {"LOKI_NETWORK_EGRESS_POLICY": "ai-only", "LOKI_LOG_QUERIES": "none"}
CONTRACT = [
    "loki_resolver_queries", "loki_resolver_cache_hits", "loki_resolver_cache_misses",
    "loki_resolver_upstream_queries", "loki_resolver_upstream_errors",
    "loki_resolver_upstream_rtt_seconds", "loki_resolver_stream_subscribers",
    "loki_resolver_stream_published", "loki_resolver_fwsync_wait_timeouts",
    "loki_resolver_build_info",
]


def curl(url, *extra, check=True):
    """(status, content type, body) of one GET with curl."""
    p = subprocess.run(["curl", "-sS", "--max-time", "5", "-o", "-", "-w",
                        "\n%{http_code} %{content_type}", *extra, url],
                       capture_output=True, text=True, timeout=10)
    if check:
        assert p.returncode == 0, p.stderr
    if p.returncode != 0:
        return None, None, p.stderr
    body, _, tail = p.stdout.rpartition("\n")
    code, _, ctype = tail.partition(" ")
    return int(code), ctype, body


def scrape(url, *extra):
    """{(sample name, frozenset(labels)): value}, and the family names."""
    code, ctype, body = curl(url, *extra)
    assert code == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    samples, families = {}, {}
    for fam in prom_parser.text_string_to_metric_families(body):
        families[fam.name] = fam.type
        for s in fam.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, families


def v(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def with_metrics(resolver_factory, env=None, port=None):
    port = port or free_port()
    r = resolver_factory(args=["--metrics", f"127.0.0.1:{port}"], env=env)
    return r, f"http://127.0.0.1:{port}"


def test_metrics_names_types_and_build_info(resolver_factory):
    r, base = with_metrics(resolver_factory, AI_ONLY)
    samples, families = scrape(base + "/metrics")
    for name in CONTRACT:
        assert name in families, name
    assert families["loki_resolver_queries"] == "counter"
    assert families["loki_resolver_upstream_rtt_seconds"] == "histogram"
    assert families["loki_resolver_stream_subscribers"] == "gauge"
    for result in ("allowed", "blocked", "refused", "servfail", "stale"):
        assert v(samples, "loki_resolver_queries_total", result=result) == 0
    out = subprocess.run([os.environ["LOKI_RESOLVER"], "--version"], capture_output=True,
                         text=True).stdout.split()[-1]
    assert v(samples, "loki_resolver_build_info", version=out) == 1
    assert v(samples, "loki_resolver_stream_subscribers") == 0


def test_counters_follow_real_queries(resolver_factory):
    r, base = with_metrics(resolver_factory, AI_ONLY)
    s0, _ = scrape(base + "/metrics")

    assert r.query("blocked.example").rcode() == dns.rcode.NXDOMAIN
    s1, _ = scrape(base + "/metrics")
    assert v(s1, "loki_resolver_queries_total", result="blocked") == \
        v(s0, "loki_resolver_queries_total", result="blocked") + 1
    assert v(s1, "loki_resolver_upstream_queries_total") == \
        v(s0, "loki_resolver_upstream_queries_total")

    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR
    s2, _ = scrape(base + "/metrics")
    assert v(s2, "loki_resolver_queries_total", result="allowed") == \
        v(s1, "loki_resolver_queries_total", result="allowed") + 1
    assert v(s2, "loki_resolver_upstream_queries_total") == \
        v(s1, "loki_resolver_upstream_queries_total") + 1
    assert v(s2, "loki_resolver_cache_misses_total") == \
        v(s1, "loki_resolver_cache_misses_total") + 1
    assert v(s2, "loki_resolver_upstream_rtt_seconds_count") == \
        v(s1, "loki_resolver_upstream_rtt_seconds_count") + 1
    assert v(s2, "loki_resolver_upstream_rtt_seconds_bucket", le="+Inf") == \
        v(s2, "loki_resolver_upstream_rtt_seconds_count")
    # Loopback NSD answers well within a second.
    assert v(s2, "loki_resolver_upstream_rtt_seconds_bucket", le="1") == \
        v(s2, "loki_resolver_upstream_rtt_seconds_count")
    assert 0 < v(s2, "loki_resolver_upstream_rtt_seconds_sum") < 1
    assert v(s2, "loki_resolver_cache_entries") >= 1

    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR
    s3, _ = scrape(base + "/metrics")
    assert v(s3, "loki_resolver_cache_hits_total") == v(s2, "loki_resolver_cache_hits_total") + 1
    assert v(s3, "loki_resolver_upstream_queries_total") == \
        v(s2, "loki_resolver_upstream_queries_total")
    assert v(s3, "loki_resolver_queries_total", result="allowed") == \
        v(s2, "loki_resolver_queries_total", result="allowed") + 1


def test_refused_counted(resolver_factory):
    # A client outside allow_clients: refused.
    r, base = with_metrics(resolver_factory, dict(AI_ONLY, LOKI_ALLOW_CLIENTS="10.0.0.0/8"))
    assert r.query("api.anthropic.com").rcode() == dns.rcode.REFUSED
    s, _ = scrape(base + "/metrics")
    assert v(s, "loki_resolver_queries_total", result="refused") == 1


def test_servfail_counts_upstream_errors(resolver_factory, stub_factory):
    stub = stub_factory(lambda q, raw, addr: None)  # silent upstream
    port = free_port()
    r = resolver_factory(args=["--metrics", f"127.0.0.1:{port}"],
                         upstreams=[f"127.0.0.1:{stub.port}"],
                         env={"LOKI_UPSTREAM_TIMEOUT_MS": "200", "LOKI_LOG_QUERIES": "none"})
    assert r.query("www.upstream.test").rcode() == dns.rcode.SERVFAIL
    s, _ = scrape(f"http://127.0.0.1:{port}/metrics")
    assert v(s, "loki_resolver_queries_total", result="servfail") == 1
    assert v(s, "loki_resolver_upstream_queries_total") == 1
    assert v(s, "loki_resolver_upstream_errors_total") == 1
    assert v(s, "loki_resolver_upstream_rtt_seconds_count") == 0


def test_health_404_405_head(resolver_factory):
    r, base = with_metrics(resolver_factory, AI_ONLY)
    assert curl(base + "/health")[::2] == (200, "ok")
    assert curl(base + "/nope")[0] == 404
    assert curl(base + "/metrics", "-X", "POST")[0] == 405
    p = subprocess.run(["curl", "-sS", "-I", base + "/metrics"], capture_output=True, text=True,
                       timeout=10)
    assert p.stdout.startswith("HTTP/1.1 200 OK")
    assert "Content-Length:" in p.stdout


def raw_http(port, data, timeout=3.0):
    """Sends data, returns everything the server sends until it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def test_bad_requests_and_limits(resolver_factory):
    port = free_port()
    r, _ = with_metrics(resolver_factory, AI_ONLY, port)
    assert raw_http(port, b"BREW /pot HTCPCP/1.0\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw_http(port, b"GET /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw_http(port, b"GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 505 ")
    big = b"GET /metrics HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 9000 + b"\r\n\r\n"
    assert raw_http(port, big).startswith(b"HTTP/1.1 431 ")
    # HTTP/1.0 without keep-alive: one answer, then the server closes.
    out = raw_http(port, b"GET /health HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK") and out.endswith(b"\r\n\r\nok")
    # Pipelined keep-alive requests, then close.
    out = raw_http(port, b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n"
                         b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200 OK") == 2
    # DNS still answers after all that.
    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR


def test_metrics_listen_in_use_is_a_start_error():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        p = run_resolver(["--metrics", f"127.0.0.1:{port}"], {})
    finally:
        busy.close()
    assert p.returncode == 1
    assert "cannot serve metrics on 127.0.0.1:%d: address already in use" % port in p.stderr


# ---------------------------------------------------------------- TLS

def make_cert(d, name):
    cert, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture
def certdir():
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found (apt-get install openssl)")
    d = tempfile.mkdtemp(prefix="loki-tls-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("prefix", ["LOKI_METRICS_", "LOKI_"])
def test_tls_scrape(resolver_factory, certdir, prefix):
    cert, key = make_cert(certdir, "one")
    port = free_port()
    r = resolver_factory(args=["--metrics", f"127.0.0.1:{port}"],
                         env=dict(AI_ONLY, **{prefix + "TLS_CERT": cert, prefix + "TLS_KEY": key}))
    base = f"https://127.0.0.1:{port}"
    r.query("blocked.example")
    s, _ = scrape(base + "/metrics", "--cacert", cert)
    assert v(s, "loki_resolver_queries_total", result="blocked") == 1
    assert curl(base + "/health", "--cacert", cert)[::2] == (200, "ok")
    # Plain HTTP on the TLS port gets nothing useful.
    assert curl(f"http://127.0.0.1:{port}/health", check=False)[0] is None
    # A client that does not trust the certificate refuses it.
    assert curl(base + "/health", check=False)[0] is None


def test_tls_certificate_reloaded_on_sighup(resolver_factory, certdir):
    cert, key = make_cert(certdir, "one")
    port = free_port()
    r = resolver_factory(args=["--metrics", f"127.0.0.1:{port}"],
                         env=dict(AI_ONLY, LOKI_METRICS_TLS_CERT=cert, LOKI_METRICS_TLS_KEY=key))
    base = f"https://127.0.0.1:{port}"
    assert curl(base + "/health", "--cacert", cert)[0] == 200
    cert2, key2 = make_cert(certdir, "two")
    old = os.path.join(certdir, "old.crt")
    shutil.copy(cert, old)
    shutil.copy(cert2, cert)
    shutil.copy(key2, key)
    r.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while "metrics TLS: reloaded" not in r.stderr() and time.time() < deadline:
        time.sleep(0.05)
    assert curl(base + "/health", "--cacert", cert2)[0] == 200
    assert curl(base + "/health", "--cacert", old, check=False)[0] is None
    # A broken key on the next reload: logged, the current one kept.
    with open(key, "w") as f:
        f.write("not a key\n")
    r.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while "keeping the old certificate" not in r.stderr() and time.time() < deadline:
        time.sleep(0.05)
    assert "keeping the old certificate" in r.stderr()
    assert curl(base + "/health", "--cacert", cert2)[0] == 200


def run_resolver(args, env):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LOKI_UPSTREAM": "192.0.2.1"}
    e.update(env)
    return subprocess.run([os.environ["LOKI_RESOLVER"], "--listen", f"127.0.0.1:{free_port()}"]
                          + args, env=e, capture_output=True, text=True, timeout=10)


def test_tls_config_errors(certdir):
    cert, key = make_cert(certdir, "one")
    metrics = ["--metrics", f"127.0.0.1:{free_port()}"]
    p = run_resolver(metrics + ["--check-config"], {"LOKI_METRICS_TLS_CERT": cert})
    assert p.returncode == 2
    assert "environment: LOKI_METRICS_TLS_CERT: needs metrics_tls_key too" in p.stderr
    p = run_resolver(metrics, {"LOKI_TLS_CERT": cert, "LOKI_TLS_KEY": certdir + "/missing.key"})
    assert p.returncode == 2
    assert "environment: LOKI_TLS_KEY: cannot read" in p.stderr
    assert "No such file or directory" in p.stderr
    # A readable file that is not a key: exit 2, naming both files.
    p = run_resolver(metrics, {"LOKI_METRICS_TLS_CERT": cert, "LOKI_METRICS_TLS_KEY": cert})
    assert p.returncode == 2, p.stderr
    assert "cannot load certificate %s with key %s" % (cert, cert) in p.stderr
    # Without metrics_listen the TLS keys are not used, not even checked.
    p = run_resolver(["--check-config"], {"LOKI_TLS_CERT": "/nonexistent"})
    assert p.returncode == 0, p.stderr
    # The key's own variable wins over the seed's.
    p = run_resolver(metrics + ["--check-config"],
                     {"LOKI_METRICS_TLS_CERT": cert, "LOKI_TLS_CERT": "/nonexistent",
                      "LOKI_METRICS_TLS_KEY": key})
    assert p.returncode == 0, p.stderr
    assert "metrics_tls_cert = %s\n" % cert in p.stdout


# ---------------------------------------------------------------- loki-fwsync

def test_fwsync_metrics(resolver_factory):
    fwsync = os.environ.get("LOKI_FWSYNC")
    if not fwsync:
        pytest.skip("LOKI_FWSYNC not set")
    d = tempfile.mkdtemp(prefix="loki-fwm-")
    sock = os.path.join(d, "fwsync.sock")
    r = resolver_factory(env={"LOKI_FWSYNC_SOCKET": sock, "LOKI_LOG_QUERIES": "none"})
    port = free_port()
    err = open(os.path.join(d, "fwsync.err"), "w")
    p = subprocess.Popen([fwsync, "--dry-run", "--socket", sock, "--metrics",
                          f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=err)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 10
        s = None
        while time.time() < deadline:
            if curl(base + "/health", check=False)[0] == 200:
                s, fams = scrape(base + "/metrics")
                if v(s, "loki_fwsync_connects_total") >= 1:
                    break
            time.sleep(0.05)
        assert s is not None and v(s, "loki_fwsync_connects_total") >= 1
        for name in ("loki_fwsync_elements", "loki_fwsync_transactions", "loki_fwsync_errors",
                     "loki_fwsync_reconnects", "loki_fwsync_last_sync_age_seconds",
                     "loki_fwsync_build_info"):
            assert name in fams, name
        assert fams["loki_fwsync_last_sync_age_seconds"] == "gauge"
        tx0 = v(s, "loki_fwsync_transactions_total")
        add0 = v(s, "loki_fwsync_elements_total", op="add")
        assert r.query("www.upstream.test").rcode() == dns.rcode.NOERROR
        deadline = time.time() + 5
        while time.time() < deadline:
            s, _ = scrape(base + "/metrics")
            if v(s, "loki_fwsync_elements_total", op="add") > add0:
                break
            time.sleep(0.05)
        assert v(s, "loki_fwsync_elements_total", op="add") == add0 + 1
        assert v(s, "loki_fwsync_transactions_total") > tx0
        assert 0 <= v(s, "loki_fwsync_last_sync_age_seconds") < 5
        assert curl(base + "/nope")[0] == 404
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
        err.close()
        shutil.rmtree(d, ignore_errors=True)
