"""Serving: UDP and TCP listeners, EDNS, truncation, ACL, ANY, bad input."""
import socket
import struct
import subprocess
import time

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from conftest import addresses, free_port, has_ipv6_loopback

AI_ONLY = {"LOKI_NETWORK_EGRESS_POLICY": "ai-only"}


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


QUESTION = b"\x03api\x09anthropic\x03com\x00\x00\x01\x00\x01"


def test_edns_advertises_1232(resolver_factory):
    r = resolver_factory()
    a = r.query("api.anthropic.com", payload=4096)
    assert a.edns == 0
    assert a.payload == 1232


def test_answer_too_big_for_udp_is_truncated(resolver_factory):
    r = resolver_factory()
    # 100 A records: more than 1232 bytes, so truncated over UDP ...
    a = r.query("big.upstream.test", payload=4096)
    assert a.flags & dns.flags.TC
    assert not a.answer
    # ... and more than 512 for a client without EDNS.
    a = r.query("big.upstream.test", edns=-1)
    assert a.flags & dns.flags.TC
    # Over TCP the answer comes back untruncated (the resolver itself had to
    # retry its upstream over TCP, since NSD truncates at our 1232 too), with
    # at most 64 addresses: no client gets more than the firewall is told.
    a = r.query("big.upstream.test", tcp=True)
    assert not (a.flags & dns.flags.TC)
    got = addresses(a)
    assert len(got) == 64
    assert set(got) <= {f"198.51.100.{i}" for i in range(1, 101)}


def test_tcp_pipelined_queries_on_one_connection(resolver_factory):
    r = resolver_factory(env=AI_ONLY)
    names = ["api.anthropic.com", "api.openai.com", "blocked.example", "api.anthropic.com",
             "other.blocked.example"]
    s = socket.create_connection((r.host, r.port), timeout=5)
    msgs = []
    for i, n in enumerate(names):
        q = dns.message.make_query(n, "A")
        q.id = 1000 + i
        w = q.to_wire()
        msgs.append(q)
        s.sendall(struct.pack("!H", len(w)) + w)
    got = {}
    buf = b""
    while len(got) < len(names):
        chunk = s.recv(65535)
        assert chunk, "connection closed early"
        buf += chunk
        while len(buf) >= 2:
            n = struct.unpack("!H", buf[:2])[0]
            if len(buf) < 2 + n:
                break
            m = dns.message.from_wire(buf[2:2 + n])
            got[m.id] = m
            buf = buf[2 + n:]
    s.close()
    for i, n in enumerate(names):
        m = got[1000 + i]
        assert str(m.question[0].name) == n + "."
        expect = dns.rcode.NXDOMAIN if "blocked" in n else dns.rcode.NOERROR
        assert m.rcode() == expect


def test_tcp_idle_timeout_closes(resolver_factory):
    r = resolver_factory(env={"LOKI_TCP_IDLE_TIMEOUT_MS": "300"})
    s = socket.create_connection((r.host, r.port), timeout=5)
    start = time.time()
    assert s.recv(10) == b""  # closed by the server
    elapsed = time.time() - start
    assert 0.2 < elapsed < 3, elapsed
    s.close()


def test_tcp_slow_partial_query_closed(resolver_factory):
    r = resolver_factory(env={"LOKI_TCP_IDLE_TIMEOUT_MS": "300"})
    s = socket.create_connection((r.host, r.port), timeout=5)
    s.sendall(b"\x00\x30\x12")  # a length and one byte of a 48-byte query
    assert s.recv(10) == b""
    s.close()


def test_max_tcp_clients(resolver_factory):
    r = resolver_factory(env={"LOKI_MAX_TCP_CLIENTS": "2"})
    held = [socket.create_connection((r.host, r.port), timeout=5) for _ in range(2)]
    time.sleep(0.2)
    extra = socket.create_connection((r.host, r.port), timeout=5)
    assert extra.recv(10) == b""  # refused by closing
    extra.close()
    # A held connection still works.
    q = dns.message.make_query("api.anthropic.com", "A")
    w = q.to_wire()
    held[0].sendall(struct.pack("!H", len(w)) + w)
    n = struct.unpack("!H", held[0].recv(2))[0]
    assert dns.message.from_wire(held[0].recv(n)).rcode() == dns.rcode.NOERROR
    for h in held:
        h.close()
    time.sleep(0.2)
    assert r.query("api.anthropic.com", tcp=True).rcode() == dns.rcode.NOERROR


def test_acl_refuses_outside_clients_udp_and_tcp(resolver_factory):
    r = resolver_factory(env={"LOKI_ALLOW_CLIENTS": "192.0.2.0/24"})
    a = r.query("api.anthropic.com")
    assert a.rcode() == dns.rcode.REFUSED
    assert not a.answer
    a = r.query("api.anthropic.com", tcp=True)
    assert a.rcode() == dns.rcode.REFUSED


def test_any_answered_per_rfc8482(resolver_factory):
    r = resolver_factory()
    a = r.query("api.anthropic.com", "ANY")
    assert a.rcode() == dns.rcode.NOERROR
    assert len(a.answer) == 1 and a.answer[0].rdtype == dns.rdatatype.HINFO
    assert a.answer[0][0].cpu == b"RFC8482"


def test_short_packet_dropped(resolver_factory):
    r = resolver_factory()
    assert r.send_raw(b"\x12\x34\x01\x00\x00") is None
    # The resolver is still alive.
    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR


def test_response_packet_dropped(resolver_factory):
    r = resolver_factory()
    assert r.send_raw(header(flags=0x8100) + QUESTION) is None


def test_garbage_after_header_gets_formerr(resolver_factory):
    r = resolver_factory()
    raw = r.send_raw(header(qid=0xbeef) + b"\x05ab")
    assert raw is not None
    qid, flags = struct.unpack("!HH", raw[:4])
    assert qid == 0xbeef
    assert flags & 0x8000  # QR
    assert flags & 0xf == dns.rcode.FORMERR


@pytest.mark.parametrize("qd", [0, 2])
def test_wrong_question_count_formerr(resolver_factory, qd):
    r = resolver_factory()
    raw = r.send_raw(header(qd=qd) + QUESTION * qd)
    assert raw is not None
    assert struct.unpack("!H", raw[2:4])[0] & 0xf == dns.rcode.FORMERR


def test_notify_opcode_notimp(resolver_factory):
    r = resolver_factory()
    raw = r.send_raw(header(flags=(4 << 11)) + QUESTION)
    assert raw is not None
    assert struct.unpack("!H", raw[2:4])[0] & 0xf == dns.rcode.NOTIMP


def test_edns_version_1_badvers(resolver_factory):
    r = resolver_factory()
    q = bytearray(dns.message.make_query("api.anthropic.com", "A", use_edns=0).to_wire())
    q[-5] = 1  # the OPT TTL's version byte (RFC 6891 section 6.1.3)
    raw = r.send_raw(bytes(q))
    assert raw is not None
    a = dns.message.from_wire(raw)
    assert a.rcode() == dns.rcode.BADVERS
    assert not a.answer


def test_chaos_class_refused(resolver_factory):
    r = resolver_factory()
    q = dns.message.make_query("version.bind", "TXT", "CH")
    a = dns.query.udp(q, r.host, port=r.port, timeout=3)
    assert a.rcode() == dns.rcode.REFUSED


def test_compression_loop_formerr_not_crash(resolver_factory):
    r = resolver_factory()
    raw = r.send_raw(header() + b"\xc0\x0c\x00\x01\x00\x01")
    assert raw is not None
    assert struct.unpack("!H", raw[2:4])[0] & 0xf == dns.rcode.FORMERR
    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR


def test_kdig_shows_blocked_ede(resolver_factory):
    r = resolver_factory(env=AI_ONLY)
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(r.port), "+edns", "+timeout=2",
                          "+retry=0", "blocked.example", "A"],
                         capture_output=True, text=True, timeout=10).stdout
    assert "NXDOMAIN" in out
    assert "EDE: 15" in out or "EDE 15" in out or "(Blocked)" in out, out


def test_dig_tcp_allowed(resolver_factory):
    r = resolver_factory(env=AI_ONLY)
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(r.port), "+tcp", "+short",
                          "+time=2", "+tries=1", "api.openai.com", "AAAA"],
                         capture_output=True, text=True, timeout=10).stdout
    assert out.strip() == "2001:db8::20"


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_listener(resolver_factory):
    port = free_port(socket.AF_INET6, "::1")
    r = resolver_factory(listen=[f"[::1]:{port}"])
    r.host, r.port = "::1", port
    assert addresses(r.query("api.anthropic.com")) == ["203.0.113.10"]
    assert addresses(r.query("api.anthropic.com", tcp=True)) == ["203.0.113.10"]


def test_two_listen_addresses(resolver_factory):
    p2 = free_port(host="127.0.0.2")
    r2 = resolver_factory(listen=[f"127.0.0.1:{free_port()}", f"127.0.0.2:{p2}"])
    r2.host, r2.port = "127.0.0.2", p2
    assert addresses(r2.query("api.anthropic.com")) == ["203.0.113.10"]


def test_sigterm_exits_zero(resolver_factory):
    r = resolver_factory()
    assert r.query("api.anthropic.com").rcode() == dns.rcode.NOERROR
    assert r.stop() == 0
