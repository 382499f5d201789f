"""Cache, coalescing, serve-stale, prefetch and cookies (issue 3)."""
import socket
import threading
import time

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

from conftest import addresses, ede_codes


def a_answer(ttl=300, addr="192.0.2.7"):
    def behaviour(q, raw, transport):
        a = dns.message.make_response(q)
        a.answer.append(dns.rrset.from_text(q.question[0].name, ttl, "IN", "A", addr))
        return a.to_wire()
    return behaviour


def counted(stub, name):
    return sum(1 for _, _, q in stub.seen if str(q.question[0].name) == name)


def ttl_of(msg):
    return msg.answer[0].ttl


def test_ttl_decrements_across_hits(resolver_factory):
    r = resolver_factory()
    first = r.query("api.anthropic.com")
    assert ttl_of(first) == 3600
    time.sleep(2.1)
    second = r.query("api.anthropic.com")
    assert 3590 <= ttl_of(second) <= 3598
    assert addresses(second) == ["203.0.113.10"]


def test_hit_does_not_reach_upstream(resolver_factory, stub_factory):
    s = stub_factory(a_answer(300))
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"])
    for _ in range(5):
        assert addresses(r.query("hot.example")) == ["192.0.2.7"]
    assert counted(s, "hot.example.") == 1
    # Type and DO bit are part of the key.
    r.query("hot.example", "AAAA")
    r.query("hot.example", want_dnssec=True)
    assert counted(s, "hot.example.") == 3


def test_max_ttl_clamp(resolver_factory):
    r = resolver_factory(env={"LOKI_MAX_TTL": "60"})
    assert ttl_of(r.query("api.anthropic.com")) == 60
    assert ttl_of(r.query("api.anthropic.com")) <= 60


def test_min_ttl_clamp(resolver_factory, stub_factory):
    s = stub_factory(a_answer(5))
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"], env={"LOKI_MIN_TTL": "120"})
    assert ttl_of(r.query("short.example")) == 120
    assert ttl_of(r.query("short.example")) >= 119
    assert counted(s, "short.example.") == 1


def test_negative_answer_cached_by_soa_minimum(resolver_factory, nsd):
    r = resolver_factory()
    a = r.query("nosuch.upstream.test")
    assert a.rcode() == dns.rcode.NXDOMAIN
    # SOA TTL 3600, MINIMUM 300: the negative TTL is the smaller (RFC 2308).
    assert a.authority[0].ttl == 300
    time.sleep(1.1)
    b = r.query("nosuch.upstream.test")
    assert b.rcode() == dns.rcode.NXDOMAIN
    assert 295 <= b.authority[0].ttl <= 299


def test_eviction_keeps_hot_names_with_cache_size_100(resolver_factory, stub_factory):
    s = stub_factory(a_answer(3600))
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"], env={"LOKI_CACHE_SIZE": "100",
                                                                 "LOKI_LOG_QUERIES": "none"})
    hot = [f"hot{i}.example" for i in range(5)]
    for h in hot:
        r.query(h)  # a miss: stored
        r.query(h)  # a hit: now protected from one-off names
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    answered = 0
    for batch in range(100):
        for i in range(100):
            q = dns.message.make_query(f"n{batch}-{i}.example", "A")
            sock.sendto(q.to_wire(), (r.host, r.port))
        for i in range(100):
            sock.recv(4096)
            answered += 1
        for h in hot:  # keep them hot between batches
            assert r.query(h).rcode() == dns.rcode.NOERROR
    sock.close()
    assert answered == 10000
    for h in hot:
        assert counted(s, h + ".") == 1, h  # never evicted, never asked again
    # Cold names were evicted: asking the first ones again reaches upstream.
    before = len(s.seen)
    for i in range(20):
        r.query(f"n0-{i}.example")
    assert len(s.seen) - before == 20


def test_coalescing_one_upstream_query_for_many_clients(resolver_factory, stub_factory):
    def slow(q, raw, transport):
        time.sleep(0.4)
        return a_answer(300)(q, raw, transport)
    s = stub_factory(slow)
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"])
    results = []

    def client():
        results.append(r.query("coalesce.example", timeout=5))
    threads = [threading.Thread(target=client) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    assert all(addresses(m) == ["192.0.2.7"] for m in results)
    assert counted(s, "coalesce.example.") == 1


def test_serve_stale_when_upstream_dies(resolver_factory, stub_factory):
    alive = {"on": True}

    def flaky(q, raw, transport):
        return a_answer(1)(q, raw, transport) if alive["on"] else None
    s = stub_factory(flaky)
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"],
                         env={"LOKI_UPSTREAM_TIMEOUT_MS": "200"})
    assert addresses(r.query("stale.example")) == ["192.0.2.7"]
    alive["on"] = False
    time.sleep(1.5)
    a = r.query("stale.example")
    assert addresses(a) == ["192.0.2.7"]
    assert ttl_of(a) == 30
    assert ede_codes(a) == [3]


def test_serve_stale_off_gives_servfail(resolver_factory, stub_factory):
    alive = {"on": True}

    def flaky(q, raw, transport):
        return a_answer(1)(q, raw, transport) if alive["on"] else None
    s = stub_factory(flaky)
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"],
                         env={"LOKI_UPSTREAM_TIMEOUT_MS": "200", "LOKI_SERVE_STALE": "false"})
    r.query("stale.example")
    alive["on"] = False
    time.sleep(1.5)
    assert r.query("stale.example").rcode() == dns.rcode.SERVFAIL


def test_prefetch_refreshes_hot_name_before_expiry(resolver_factory, stub_factory):
    s = stub_factory(a_answer(4))
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"])
    for _ in range(3):
        r.query("prefetch.example")
    assert counted(s, "prefetch.example.") == 1
    time.sleep(3.75)  # less than a tenth of the 4 s lifetime left
    r.query("prefetch.example")
    time.sleep(0.3)
    assert counted(s, "prefetch.example.") == 2  # refreshed in the background
    time.sleep(0.5)  # past the first answer's expiry
    a = r.query("prefetch.example")
    assert addresses(a) == ["192.0.2.7"]
    assert ttl_of(a) >= 2  # the prefetched copy, not a miss
    assert counted(s, "prefetch.example.") == 2


def cookie_of(msg):
    for opt in msg.options:
        if opt.otype == dns.edns.COOKIE:
            return opt.to_wire() if hasattr(opt, "to_wire") else opt.data
    return None


def test_cookie_echoed_and_server_cookie_accepted(resolver_factory):
    r = resolver_factory()
    client = bytes(range(1, 9))
    opt = dns.edns.GenericOption(dns.edns.COOKIE, client)
    a = r.query("api.anthropic.com", options=[opt])
    got = cookie_of(a)
    assert got is not None and len(got) == 24 and got[:8] == client
    assert got[8] == 1  # RFC 9018 version
    opt2 = dns.edns.GenericOption(dns.edns.COOKIE, got)
    b = r.query("api.anthropic.com", options=[opt2])
    assert b.rcode() == dns.rcode.NOERROR
    assert cookie_of(b)[:8] == client
    # Blocked answers echo it too; a query without a cookie gets none.
    r2 = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "none"})
    c = r2.query("x.example", options=[opt])
    assert cookie_of(c)[:8] == client
    assert cookie_of(r.query("api.anthropic.com")) is None
