"""Policies: ai-only, none, unrestricted, allowlists, metadata block."""
import os
import tempfile
import time

import dns.flags
import dns.rcode
import dns.rdatatype

from conftest import addresses, ede_codes

AI_ONLY = {"LOKI_NETWORK_EGRESS_POLICY": "ai-only"}


def test_unrestricted_forwards_everything(resolver_factory):
    r = resolver_factory()
    a = r.query("www.upstream.test", "A")
    assert a.rcode() == dns.rcode.NOERROR
    assert addresses(a) == ["198.51.100.80"]
    assert addresses(r.query("www.upstream.test", "AAAA"), "AAAA") == ["2001:db8::80"]


def test_ai_only_allows_the_three_builtin_names(resolver_factory):
    r = resolver_factory(env=AI_ONLY)
    assert addresses(r.query("api.anthropic.com")) == ["203.0.113.10"]
    assert addresses(r.query("api.openai.com")) == ["203.0.113.20"]
    assert addresses(r.query("api.openai.com", "AAAA"), "AAAA") == ["2001:db8::20"]


def test_ai_only_blocks_other_names_with_soa_and_ede(resolver_factory):
    r = resolver_factory(env=AI_ONLY)
    a = r.query("www.upstream.test", "A")
    assert a.rcode() == dns.rcode.NXDOMAIN
    assert not a.answer
    assert len(a.authority) == 1 and a.authority[0].rdtype == dns.rdatatype.SOA
    assert a.authority[0].ttl == 30
    assert a.authority[0][0].minimum == 30
    assert ede_codes(a) == [15]
    # The parent and a child of an exact entry are not allowed.
    assert r.query("openai.com").rcode() == dns.rcode.NXDOMAIN
    assert r.query("x.api.openai.com").rcode() == dns.rcode.NXDOMAIN


def test_blocked_without_edns_has_no_opt(resolver_factory):
    r = resolver_factory(env=AI_ONLY)
    a = r.query("blocked.example", "A", edns=-1)
    assert a.rcode() == dns.rcode.NXDOMAIN
    assert a.edns < 0
    assert a.authority[0].rdtype == dns.rdatatype.SOA


def test_blocked_ttl_setting(resolver_factory):
    r = resolver_factory(env=dict(AI_ONLY, LOKI_BLOCKED_TTL="7"))
    a = r.query("blocked.example")
    assert a.authority[0].ttl == 7


def test_names_are_case_insensitive_and_case_is_echoed(resolver_factory):
    r = resolver_factory(env=AI_ONLY)
    a = r.query("API.Anthropic.COM.", "A")
    assert a.rcode() == dns.rcode.NOERROR
    assert str(a.question[0].name) == "API.Anthropic.COM."
    assert addresses(a) == ["203.0.113.10"]


def test_allowed_hosts_exact_and_wildcard(resolver_factory):
    r = resolver_factory(env=dict(AI_ONLY, LOKI_ALLOWED_HOSTS="www.upstream.test,*.wild.upstream.test"))
    assert addresses(r.query("www.upstream.test")) == ["198.51.100.80"]
    assert addresses(r.query("a.wild.upstream.test")) == ["198.51.100.77"]
    assert addresses(r.query("b.c.wild.upstream.test")) == ["198.51.100.77"]
    # *.suffix does not match the suffix itself.
    assert r.query("wild.upstream.test").rcode() == dns.rcode.NXDOMAIN
    assert r.query("edge.upstream.test").rcode() == dns.rcode.NXDOMAIN
    # The built-in names stay allowed.
    assert addresses(r.query("api.anthropic.com")) == ["203.0.113.10"]


def test_zone_file_adds_names(resolver_factory):
    z = tempfile.NamedTemporaryFile("w", suffix=".rpz", delete=False)
    z.write("$ORIGIN extra.rpz.\n$TTL 300\n@ SOA localhost. root.localhost. 1 3600 600 86400 30\n"
            "@ NS localhost.\nedge.upstream.test CNAME rpz-passthru.\n"
            "*.wild.upstream.test CNAME rpz-passthru.\n")
    z.close()
    r = resolver_factory(env=dict(AI_ONLY, LOKI_ZONE=z.name))
    assert addresses(r.query("edge.upstream.test")) == ["198.51.100.2"]
    assert addresses(r.query("x.wild.upstream.test")) == ["198.51.100.77"]
    assert r.query("www.upstream.test").rcode() == dns.rcode.NXDOMAIN
    os.unlink(z.name)


def test_policy_none_blocks_everything(resolver_factory):
    r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": "none"})
    for name in ("api.anthropic.com", "www.upstream.test"):
        a = r.query(name)
        assert a.rcode() == dns.rcode.NXDOMAIN
        assert ede_codes(a) == [15]


def test_cname_target_is_learned(resolver_factory):
    r = resolver_factory(env=dict(AI_ONLY, LOKI_ALLOWED_HOSTS="cdn.api.openai.com"))
    assert r.query("edge.upstream.test").rcode() == dns.rcode.NXDOMAIN
    a = r.query("cdn.api.openai.com")
    assert a.rcode() == dns.rcode.NOERROR
    assert [str(rr[0].target) for rr in a.answer if rr.rdtype == dns.rdatatype.CNAME] == \
        ["edge.upstream.test."]
    # The forwarder in front now asks for the target: it is allowed.
    assert addresses(r.query("edge.upstream.test")) == ["198.51.100.2"]


def test_metadata_names_blocked_under_every_policy(resolver_factory):
    for policy in ("unrestricted", "ai-only"):
        r = resolver_factory(env={"LOKI_NETWORK_EGRESS_POLICY": policy,
                                  "LOKI_BLOCK_METADATA_ENDPOINT": "true",
                                  "LOKI_ALLOWED_HOSTS": "metadata.google.internal"})
        for name in ("metadata.google.internal", "METADATA", "instance-data.ec2.internal",
                     "metadata.azure.internal"):
            a = r.query(name)
            assert a.rcode() == dns.rcode.NXDOMAIN, (policy, name)
            assert ede_codes(a) == [15]
        r.stop()


def test_metadata_addresses_removed(resolver_factory):
    r = resolver_factory(env={"LOKI_BLOCK_METADATA_ENDPOINT": "yes"})
    assert addresses(r.query("meta.upstream.test")) == ["198.51.100.10"]
    a = r.query("metaonly.upstream.test")
    assert a.rcode() == dns.rcode.NXDOMAIN
    assert ede_codes(a) == [17]
    a = r.query("ec2v6.upstream.test", "AAAA")
    assert a.rcode() == dns.rcode.NXDOMAIN and ede_codes(a) == [17]


def test_metadata_block_off_keeps_addresses(resolver_factory):
    r = resolver_factory(env={"LOKI_BLOCK_METADATA_ENDPOINT": "false"})
    assert addresses(r.query("meta.upstream.test")) == ["169.254.169.254", "198.51.100.10"]


def test_rebinding_guard_in_ai_only(resolver_factory):
    r = resolver_factory(env=dict(AI_ONLY, LOKI_ALLOWED_HOSTS="*.upstream.test"))
    assert addresses(r.query("mixed.upstream.test")) == ["198.51.100.9"]
    assert addresses(r.query("mixed.upstream.test", "AAAA"), "AAAA") == ["2001:db8::9"]
    for rdtype in ("A", "AAAA"):
        a = r.query("private.upstream.test", rdtype)
        assert a.rcode() == dns.rcode.NXDOMAIN, rdtype
        assert ede_codes(a) == [17]
        assert a.authority[0].rdtype == dns.rdatatype.SOA


def test_rebinding_guard_can_be_switched_off(resolver_factory):
    r = resolver_factory(env=dict(AI_ONLY, LOKI_ALLOWED_HOSTS="*.upstream.test",
                                  LOKI_REBINDING_GUARD="false"))
    assert addresses(r.query("private.upstream.test")) == ["100.64.0.1", "192.168.1.1"]


def test_rebinding_guard_not_applied_when_unrestricted(resolver_factory):
    r = resolver_factory()
    assert addresses(r.query("private.upstream.test")) == ["100.64.0.1", "192.168.1.1"]


def test_blocked_queries_logged_as_json(resolver_factory):
    import json
    r = resolver_factory(env=AI_ONLY)
    r.query("logged.example")
    # The audit line is written after the answer went out (one write per
    # loop iteration): wait for it.
    deadline = time.time() + 5
    while '"logged.example"' not in r.stderr() and time.time() < deadline:
        time.sleep(0.02)
    lines = [l for l in r.stderr().splitlines() if l.startswith("{")]
    events = [json.loads(l) for l in lines]
    assert any(e["name"] == "logged.example" and e["action"] == "blocked" for e in events)
