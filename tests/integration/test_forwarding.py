"""Forwarding: failover, matching, scrubbing, randomisation (issue 2, point 6)."""
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from conftest import addresses, ede_codes


def answer(q, *records, rcode=dns.rcode.NOERROR, authority=(), additional=(), flags=0):
    """A response to q with records given as zone-file text lines."""
    a = dns.message.make_response(q)
    a.set_rcode(rcode)
    for text in records:
        a.answer.append(dns.rrset.from_text(*text.split()))
    for text in authority:
        a.authority.append(dns.rrset.from_text(*text.split()))
    for text in additional:
        a.additional.append(dns.rrset.from_text(*text.split()))
    a.flags |= flags
    return a


def test_chain_kept_whole(resolver_factory):
    r = resolver_factory()
    a = r.query("chain.upstream.test")
    types = [(str(rr.name), rr.rdtype) for rr in a.answer]
    assert types == [("chain.upstream.test.", dns.rdatatype.CNAME),
                     ("link.upstream.test.", dns.rdatatype.CNAME),
                     ("www.upstream.test.", dns.rdatatype.A)]
    # NS and glue of the upstream never reach the client.
    assert not a.authority
    assert all(rr.rdtype == dns.rdatatype.OPT for rr in a.additional)


def test_nodata_and_nxdomain_pass_with_soa(resolver_factory):
    r = resolver_factory()
    a = r.query("nodata.upstream.test", "A")
    assert a.rcode() == dns.rcode.NOERROR and not a.answer
    assert a.authority[0].rdtype == dns.rdatatype.SOA
    a = r.query("nosuchname.upstream.test", "A")
    assert a.rcode() == dns.rcode.NXDOMAIN
    assert a.authority[0].rdtype == dns.rdatatype.SOA


def test_injected_records_are_dropped(resolver_factory, stub_factory):
    def evil(q, raw, transport):
        name = str(q.question[0].name)
        a = answer(q, f"{name} 300 IN A 192.0.2.10",
                   "evil.example. 300 IN A 192.0.2.66",
                   f"other.example. 300 IN CNAME {name}",
                   authority=["example. 300 IN NS ns.evil.example."],
                   additional=["ns.evil.example. 300 IN A 192.0.2.67"])
        return a.to_wire()
    s = stub_factory(evil)
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"])
    a = r.query("api.anthropic.com")
    assert [(str(rr.name), addresses_of(rr)) for rr in a.answer] == \
        [("api.anthropic.com.", ["192.0.2.10"])]
    assert not a.authority
    assert all(rr.rdtype == dns.rdatatype.OPT for rr in a.additional)


def addresses_of(rrset):
    return sorted(r.address for r in rrset)


def test_wrong_id_and_wrong_question_are_ignored(resolver_factory, stub_factory):
    def tricky(q, raw, transport):
        wrong_id = answer(q, f"{q.question[0].name} 300 IN A 192.0.2.1")
        wrong_id.id = (q.id + 1) & 0xffff
        other = dns.message.make_query("evil.example", "A")
        other.id = q.id
        wrong_q = dns.message.make_response(other)
        wrong_q.answer.append(dns.rrset.from_text("evil.example.", 300, "IN", "A", "192.0.2.2"))
        right = answer(q, f"{q.question[0].name} 300 IN A 192.0.2.3")
        return [wrong_id.to_wire(), wrong_q.to_wire(), right.to_wire()]
    s = stub_factory(tricky)
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"])
    assert addresses(r.query("api.anthropic.com")) == ["192.0.2.3"]


def test_timeout_then_next_upstream(resolver_factory, stub_factory, nsd):
    silent = stub_factory(lambda q, raw, t: None)
    r = resolver_factory(upstreams=[f"127.0.0.1:{silent.port}", f"127.0.0.1:{nsd.port}"],
                         env={"LOKI_UPSTREAM_TIMEOUT_MS": "300"})
    start = time.time()
    a = r.query("api.anthropic.com")
    assert addresses(a) == ["203.0.113.10"]
    assert time.time() - start >= 0.25
    assert len(silent.seen) == 1


def test_servfail_upstream_then_next(resolver_factory, stub_factory, nsd):
    failing = stub_factory(lambda q, raw, t: answer(q, rcode=dns.rcode.SERVFAIL).to_wire())
    r = resolver_factory(upstreams=[f"127.0.0.1:{failing.port}", f"127.0.0.1:{nsd.port}"])
    assert addresses(r.query("api.anthropic.com")) == ["203.0.113.10"]
    assert len(failing.seen) == 1


def test_all_upstreams_silent_gives_servfail(resolver_factory, stub_factory):
    s1 = stub_factory(lambda q, raw, t: None)
    s2 = stub_factory(lambda q, raw, t: None)
    r = resolver_factory(upstreams=[f"127.0.0.1:{s1.port}", f"127.0.0.1:{s2.port}"],
                         env={"LOKI_UPSTREAM_TIMEOUT_MS": "200"})
    a = r.query("api.anthropic.com", timeout=5)
    assert a.rcode() == dns.rcode.SERVFAIL
    assert ede_codes(a) == [22]
    assert len(s1.seen) == 1 and len(s2.seen) == 1


def test_truncated_upstream_answer_retried_over_tcp(resolver_factory, stub_factory):
    def tc(q, raw, transport):
        if transport == "udp":
            return answer(q, flags=dns.flags.TC).to_wire()
        return answer(q, f"{q.question[0].name} 300 IN A 192.0.2.44").to_wire()
    s = stub_factory(tc)
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"])
    assert addresses(r.query("api.anthropic.com")) == ["192.0.2.44"]
    assert [t for t, _, _ in s.seen] == ["udp", "tcp"]


def test_random_ids_and_fresh_source_ports(resolver_factory, stub_factory):
    s = stub_factory(lambda q, raw, t: answer(q, f"{q.question[0].name} 1 IN A 192.0.2.5").to_wire())
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"])
    for i in range(30):
        assert r.query(f"n{i}.example").rcode() == dns.rcode.NOERROR
    ports = [addr[1] for _, addr, _ in s.seen]
    ids = [q.id for _, _, q in s.seen]
    assert len(s.seen) == 30
    assert len(set(ports)) >= 28, ports  # a fresh random port per query
    assert len(set(ids)) >= 28, ids
    # Not a counter: consecutive IDs do not differ by a constant step.
    assert len({(b - a) & 0xffff for a, b in zip(ids, ids[1:])}) > 5


def test_upstream_query_is_lowercased_with_edns(resolver_factory, stub_factory):
    s = stub_factory(lambda q, raw, t: answer(q, f"{q.question[0].name} 60 IN A 192.0.2.6").to_wire())
    r = resolver_factory(upstreams=[f"127.0.0.1:{s.port}"])
    a = r.query("MiXeD.Example")
    assert str(a.question[0].name) == "MiXeD.Example."
    _, _, q = s.seen[0]
    assert str(q.question[0].name) == "mixed.example."
    assert q.edns == 0 and q.payload == 1232
    assert q.flags & dns.flags.RD


def test_malformed_upstream_answer_fails_over(resolver_factory, stub_factory, nsd):
    bad = stub_factory(lambda q, raw, t: raw[:2] + b"\x81\x80\x00\x01\x00\x05\x00\x00\x00\x00" + raw[12:])
    r = resolver_factory(upstreams=[f"127.0.0.1:{bad.port}", f"127.0.0.1:{nsd.port}"])
    assert addresses(r.query("api.anthropic.com")) == ["203.0.113.10"]
