#!/usr/bin/python3
"""Writes the seed corpora of fuzz_query and fuzz_upstream (small binary DNS
messages) with dnspython. Run from anywhere: /usr/bin/python3 gen_seeds.py.
The seeds are committed; rerun only to change them."""
import os
import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))
QNAME = "api.openai.com."


def write(corpus, name, data):
    d = os.path.join(HERE, corpus + ".in")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def query(name=QNAME, rdtype="A", **kw):
    q = dns.message.make_query(name, rdtype, **kw)
    q.id = 0x1234
    return q


# ---------------------------------------------------------------- client queries
def queries():
    write("fuzz_query", "plain_a", query().to_wire())
    cookie = dns.edns.GenericOption(dns.edns.COOKIE, bytes(range(8)))
    write("fuzz_query", "edns_do_cookie",
          query(rdtype="AAAA", use_edns=0, want_dnssec=True, options=[cookie]).to_wire())
    write("fuzz_query", "any", query(rdtype="ANY", use_edns=0).to_wire())
    write("fuzz_query", "badvers", query(use_edns=1).to_wire())
    n = query(rdtype="SOA")
    n.set_opcode(dns.opcode.NOTIFY)
    write("fuzz_query", "notify", n.to_wire())
    # Two OPT records: the second is appended by hand and ARCOUNT raised.
    w = bytearray(query(use_edns=0).to_wire())
    w += b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    w[10:12] = struct.pack("!H", 2)
    write("fuzz_query", "two_opts", bytes(w))
    r = dns.message.make_response(query())
    write("fuzz_query", "qr_set", r.to_wire())
    write("fuzz_query", "short", b"\x12\x34\x01\x00\x00")
    write("fuzz_query", "trailing", query().to_wire() + b"\xde\xad")
    w = bytearray(query().to_wire())
    w[4:6] = struct.pack("!H", 2)
    write("fuzz_query", "qdcount2", bytes(w))
    # A question name that is a compression pointer to itself.
    write("fuzz_query", "self_pointer",
          b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01")
    write("fuzz_query", "long_name",
          query(".".join(["x" * 63] * 3) + "." + "y" * 61 + ".", "TXT").to_wire())


# ---------------------------------------------------------------- upstream answers
def answer(rcode=dns.rcode.NOERROR, an=(), ns=(), ar=(), edns=True, rdtype="A"):
    q = query(rdtype=rdtype, use_edns=0 if edns else False, want_dnssec=edns)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA | dns.flags.RA
    r.set_rcode(rcode)
    for sec, rrs in ((r.answer, an), (r.authority, ns), (r.additional, ar)):
        for text in rrs:
            owner, ttl, rdclass, rdtype_, *rdata = text.split()
            sec.append(dns.rrset.from_text(owner, int(ttl), rdclass, rdtype_, " ".join(rdata)))
    return r


SOA = "openai.com. 300 IN SOA ns1.openai.com. hostmaster.openai.com. 1 7200 900 1209600 60"


def answers():
    up = "fuzz_upstream"
    write(up, "simple_a", answer(an=[QNAME + " 300 IN A 104.18.6.192"]).to_wire())
    chain = [QNAME + " 300 IN CNAME api.openai.com.cdn.cloudflare.net.",
             "api.openai.com.cdn.cloudflare.net. 300 IN CNAME x.cdn.cloudflare.net.",
             "x.cdn.cloudflare.net. 60 IN A 104.18.6.192",
             "x.cdn.cloudflare.net. 60 IN A 104.18.7.192"]
    write(up, "cname_chain", answer(an=chain).to_wire())
    # dnspython compresses every name it can, owners and CNAME targets alike.
    write(up, "cname_chain_noedns", answer(an=chain, edns=False).to_wire())
    write(up, "nxdomain", answer(dns.rcode.NXDOMAIN, ns=[SOA]).to_wire())
    write(up, "nodata_soa", answer(ns=[SOA]).to_wire())
    w = answer(an=chain).to_wire()
    t = bytearray(w[:len(w) - 20])
    t[2] |= 0x02  # TC
    write(up, "truncated_tc", bytes(t))
    write(up, "cut_short", w[:len(w) - 7])
    write(up, "rebinding_mix",
          answer(an=[QNAME + " 60 IN A 10.0.0.1", QNAME + " 60 IN A 203.0.113.5"]).to_wire())
    write(up, "all_private",
          answer(an=[QNAME + " 60 IN CNAME evil.example.", "evil.example. 60 IN A 127.0.0.1",
                     "evil.example. 60 IN A 169.254.169.254"]).to_wire())
    write(up, "servfail", answer(dns.rcode.SERVFAIL).to_wire())
    write(up, "injected",
          answer(an=[QNAME + " 300 IN A 104.18.6.192", "evil.example. 300 IN A 198.51.100.66",
                     QNAME + " 300 IN DNAME evil.example.",
                     QNAME + " 300 IN MX 10 mail.openai.com.",
                     QNAME + " 300 IN TXT \"hello\""],
                 ns=["openai.com. 3600 IN NS ns1.evil.example."],
                 ar=["ns1.evil.example. 3600 IN A 198.51.100.1",
                     "ns1.evil.example. 3600 IN AAAA 2001:db8::1"]).to_wire())
    write(up, "cname_loop",
          answer(an=[QNAME + " 60 IN CNAME a.example.", "a.example. 60 IN CNAME " + QNAME,
                     "a.example. 60 IN A 203.0.113.9"]).to_wire())
    ede = dns.edns.EDEOption(dns.edns.EDECode.STALE_ANSWER, "stale")
    r = answer(an=[QNAME + " 300 IN A 104.18.6.192"])
    r.use_edns(0, dns.flags.DO, 1232, options=[ede])
    write(up, "edns_ede", r.to_wire())
    # HTTPS answers (RFC 9460) for the HTTPS query: hints to publish, hints
    # to filter (one listed in "mandatory"), AliasMode behind a CNAME.
    write(up, "https_hints",
          answer(rdtype="HTTPS",
                 an=[QNAME + " 300 IN HTTPS 1 . alpn=h2,h3 ipv4hint=104.18.6.192,10.0.0.1"
                     " ipv6hint=2606:4700::6812:6c0,fd00::1",
                     QNAME + " 300 IN HTTPS 2 . mandatory=ipv4hint"
                     " ipv4hint=169.254.169.254,127.0.0.1"]).to_wire())
    write(up, "https_alias_chain",
          answer(rdtype="HTTPS",
                 an=[QNAME + " 300 IN CNAME svc.example.",
                     "svc.example. 60 IN HTTPS 0 pool.example.",
                     "svc.example. 60 IN HTTPS 1 pool.example. port=8443 no-default-alpn"
                     " alpn=h3 ipv6hint=2001:db8::1"]).to_wire())
    # A TargetName compressed against the question (RFC 9460 forbids it,
    # the scrubber accepts it and writes it out uncompressed); dnspython
    # never compresses it, so the message is put together by hand.
    qname = dns.name.from_text(QNAME).to_wire()
    rdata = (struct.pack("!H", 1) + b"\x03svc\xc0\x10"
             + struct.pack("!HH", 4, 8) + bytes([203, 0, 113, 5, 192, 168, 1, 1]))
    msg = (struct.pack("!6H", 0x1234, 0x8180, 1, 1, 0, 0) + qname + struct.pack("!HH", 65, 1)
           + struct.pack("!HHHIH", 0xc00c, 65, 1, 60, len(rdata)) + rdata)
    write(up, "https_compressed_target", msg)


queries()
answers()
