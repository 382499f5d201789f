#!/usr/bin/python3
"""Soak test of loki-resolver (issue 6.6): a bounded run at a steady mixed
load against an upstream that misbehaves every few seconds, with subscribers
reading the address stream. Run through tests/soak/run.sh; see its header.

Roles (one process each, so that they do not share a GIL):
  orchestrator  starts everything, samples /proc/PID, judges the results
  upstream      authoritative server for the soak names on 127.0.0.1 (UDP and
                TCP) whose behaviour changes every --fault-every seconds:
                normal, drop, delay, wrongid, wrongq, truncate (TC, then TCP),
                cut (malformed), garbage, servfail, poison (records outside
                the CNAME chain, private addresses), down (sockets closed,
                then bound again)
  load          UDP clients at --qps: blocked names, allowed hot names (cached)
                and allowed misses under a wildcard; every answer is parsed by
                dnspython and checked
  sub           stream subscriber asking for acks; checks every line

Everything runs on loopback; every loop is bounded in time.
"""
import argparse
import atexit
import functools
import hashlib
import heapq
import ipaddress
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

# ------------------------------------------------------------------ names
HOT = ["hot-%d.soak.test" % i for i in range(20)]
WILD = "wild.soak.test"  # allowed: *.wild.soak.test
CNAME_SUFFIX = "cdn.soak-target.test"  # CNAME targets (not allowlisted)
BLOCKED_SUFFIX = "blocked.test"
POISON4 = "192.0.2.66"  # out-of-chain record the upstream injects
POISON_NAME = "evil." + BLOCKED_SUFFIX
PRIVATE4 = "10.9.8.7"  # removed by the rebinding guard
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
HOT_TTL = 60
WILD_TTL = 30

ALLOWED_HOSTS = ",".join(HOT + ["*." + WILD])


def is_allowed(name):
    name = name.lower().rstrip(".")
    return name in HOT_SET or name.endswith("." + WILD)


HOT_SET = set(HOT)


def _h(name, salt):
    return hashlib.sha1((salt + name.lower().rstrip(".")).encode()).digest()


def cname_target(name):
    """The CNAME target of an allowed wildcard name, or None."""
    name = name.lower().rstrip(".")
    if name.endswith("." + WILD) and _h(name, "c")[0] % 5 == 0:
        return name.split(".")[0] + "." + CNAME_SUFFIX
    return None


def addrs4(owner):
    h = _h(owner, "4")
    out = ["198.51.100.%d" % (1 + h[1] % 254)]
    if h[0] % 2:
        out.append("203.0.113.%d" % (1 + h[2] % 254))
    return out


def addrs6(owner):
    h = _h(owner, "6")
    a = "2001:db8:%x::%x" % (h[0] << 8 | h[1], h[2] << 8 | h[3])
    return [ipaddress.ip_address(a).compressed]


def final_owner(qname):
    t = cname_target(qname)
    return t if t else qname.lower().rstrip(".")


@functools.lru_cache(maxsize=4096)
def expected_addrs(qname):
    """Every address the upstream legitimately serves for qname (A and AAAA)."""
    o = final_owner(qname)
    return set(addrs4(o)) | set(addrs6(o))


def ttl_of(qname):
    return HOT_TTL if qname.lower().rstrip(".") in HOT_SET else WILD_TTL


# --------------------------------------------------------------- wire bits
def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_question(pkt):
    """(id, flags, qname_text, qtype, end_of_question, has_opt) or None."""
    if len(pkt) < 12:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", pkt[:12])
    if qd != 1:
        return None
    off, labels = 12, []
    while True:
        if off >= len(pkt):
            return None
        n = pkt[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0 or off + n > len(pkt):
            return None
        labels.append(pkt[off:off + n].decode("ascii", "replace"))
        off += n
    if off + 4 > len(pkt):
        return None
    qtype = struct.unpack("!H", pkt[off:off + 2])[0]
    off += 4
    return qid, flags, ".".join(labels), qtype, off, ar > 0


def rr(owner_wire, rtype, ttl, rdata):
    return owner_wire + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def build_answer(pkt, mode=None):
    """The legitimate answer to pkt (or a poisoned one with mode='poison')."""
    p = parse_question(pkt)
    if p is None:
        return None
    qid, flags, qname, qtype, qend, has_opt = p
    question = pkt[12:qend]
    lname = qname.lower()
    rrs = []
    rcode = 0
    ptr_q = b"\xc0\x0c"
    if is_allowed(lname) or lname.endswith("." + CNAME_SUFFIX):
        owner = ptr_q
        target = cname_target(lname)
        ttl = ttl_of(lname)
        if target:
            rrs.append(rr(ptr_q, 5, ttl, encode_name(target)))
            owner = encode_name(target)
            final = target
        else:
            final = lname
        if qtype == 1:
            for a in addrs4(final):
                rrs.append(rr(owner, 1, ttl, socket.inet_aton(a)))
            if mode == "poison":
                rrs.append(rr(ptr_q, 1, ttl, socket.inet_aton(PRIVATE4)))
                rrs.append(rr(encode_name(POISON_NAME), 1, 3600, socket.inet_aton(POISON4)))
        elif qtype == 28:
            for a in addrs6(final):
                rrs.append(rr(owner, 28, ttl, socket.inet_pton(socket.AF_INET6, a)))
            if mode == "poison":
                rrs.append(rr(encode_name(POISON_NAME), 1, 3600, socket.inet_aton(POISON4)))
    else:
        rcode = 3  # NXDOMAIN, no SOA: good enough for names nobody should ask
    extra = b""
    if mode == "poison":
        extra = rr(encode_name("ns." + POISON_NAME), 1, 3600, socket.inet_aton(POISON4))
    opt = b""
    if has_opt:
        opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    hdr = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100) | rcode, 1, len(rrs), 0,
                      (1 if extra else 0) + (1 if opt else 0))
    return hdr + question + b"".join(rrs) + extra + opt


# --------------------------------------------------------------- upstream
FAULTS = ["drop", "delay", "wrongid", "wrongq", "truncate", "cut", "garbage", "servfail",
          "poison", "down"]


def role_upstream(a):
    rng = random.Random(a.seed)
    stats = {"faults": {}, "udp_queries": 0, "tcp_queries": 0, "phases": 0, "restarts": 0}
    stop = [False]

    def on_term(*_):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    def bind():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        u.bind(("127.0.0.1", a.port))
        u.setblocking(False)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind(("127.0.0.1", a.port))
        t.listen(64)
        t.setblocking(False)
        return u, t

    udp, tcp = bind()
    conns = {}  # sock -> bytearray
    delayed = []  # heap of (when, seq, data, addr)
    dseq = 0
    mode = "normal"
    deck = []
    phase_end = time.monotonic() + a.fault_every
    deadline = time.monotonic() + a.duration
    open(a.ready, "w").close()

    def count(m):
        stats["faults"][m] = stats["faults"].get(m, 0) + 1

    def udp_reply(pkt, addr):
        nonlocal dseq
        if mode == "drop" and rng.random() < 0.5:
            count("drop")
            return
        if mode == "servfail" and rng.random() < 0.7:
            count("servfail")
            p = parse_question(pkt)
            if p is not None:
                hdr = struct.pack("!HHHHHH", p[0], 0x8180 | rng.choice([2, 5]), 1, 0, 0, 0)
                udp.sendto(hdr + pkt[12:p[4]], addr)
            return
        resp = build_answer(pkt, "poison" if mode == "poison" and rng.random() < 0.7 else None)
        if resp is None:
            return
        if mode == "poison":
            count("poison")
        if mode == "delay" and rng.random() < 0.4:
            count("delay")
            dseq += 1
            heapq.heappush(delayed, (time.monotonic() + rng.uniform(0.3, 2.5), dseq, resp, addr))
            return
        if mode == "wrongid" and rng.random() < 0.5:
            count("wrongid")
            bad = struct.pack("!H", (struct.unpack("!H", resp[:2])[0] + rng.randint(1, 65535))
                              & 0xFFFF) + resp[2:]
            udp.sendto(bad, addr)
            if rng.random() < 0.5:
                return  # only the wrong one
        elif mode == "wrongq" and rng.random() < 0.5:
            count("wrongq")
            other = rng.choice(HOT)
            q = struct.pack("!HHHHHH", 0, 0x0100, 1, 0, 0, 0) + encode_name(other) + b"\0\1\0\1"
            fake = build_answer(q)
            udp.sendto(resp[:2] + fake[2:], addr)
            return
        elif mode == "truncate" and rng.random() < 0.6:
            count("truncate")
            p = parse_question(pkt)
            tc = bytearray(resp[:p[4]])
            tc[2] |= 0x02
            tc[6:12] = b"\0\0\0\0\0\0"
            udp.sendto(bytes(tc), addr)
            return
        elif mode == "cut" and rng.random() < 0.5:
            count("cut")
            udp.sendto(resp[:rng.randint(2, max(2, len(resp) - 1))], addr)
            return
        elif mode == "garbage" and rng.random() < 0.5:
            count("garbage")
            udp.sendto(resp[:2] + os.urandom(rng.randint(0, 200)), addr)
            return
        udp.sendto(resp, addr)

    while not stop[0] and time.monotonic() < deadline:
        now = time.monotonic()
        if now >= phase_end:
            stats["phases"] += 1
            if mode == "down":
                udp, tcp = bind()
                stats["restarts"] += 1
            if mode != "normal":
                mode = "normal"
            else:
                if not deck:
                    deck = FAULTS[:]
                    rng.shuffle(deck)
                mode = deck.pop()
            phase_end = now + a.fault_every * rng.uniform(0.5, 1.5)
            if mode == "down":
                count("down")
                udp.close()
                tcp.close()
                for c in list(conns):
                    c.close()
                conns.clear()
                delayed.clear()
                phase_end = now + min(a.fault_every, 3.0)
        if mode == "down":
            time.sleep(min(0.1, max(0, phase_end - now)))
            continue
        timeout = 0.05
        if delayed:
            timeout = max(0.0, min(timeout, delayed[0][0] - now))
        try:
            r, _, _ = select.select([udp, tcp] + list(conns), [], [], timeout)
        except InterruptedError:
            continue
        for s in r:
            if s is udp:
                for _ in range(256):
                    try:
                        pkt, addr = udp.recvfrom(4096)
                    except (BlockingIOError, InterruptedError):
                        break
                    stats["udp_queries"] += 1
                    udp_reply(pkt, addr)
            elif s is tcp:
                try:
                    c, _ = tcp.accept()
                    c.setblocking(False)
                    conns[c] = bytearray()
                except OSError:
                    pass
            else:
                try:
                    d = s.recv(65536)
                except OSError:
                    d = b""
                if not d:
                    s.close()
                    del conns[s]
                    continue
                buf = conns[s]
                buf += d
                while len(buf) >= 2:
                    n = struct.unpack("!H", buf[:2])[0]
                    if len(buf) < 2 + n:
                        break
                    q = bytes(buf[2:2 + n])
                    del buf[:2 + n]
                    stats["tcp_queries"] += 1
                    resp = build_answer(q)
                    if resp is not None:
                        try:
                            s.setblocking(True)
                            s.settimeout(1.0)
                            s.sendall(struct.pack("!H", len(resp)) + resp)
                            s.setblocking(False)
                        except OSError:
                            pass
        now = time.monotonic()
        while delayed and delayed[0][0] <= now:
            _, _, resp, addr = heapq.heappop(delayed)
            try:
                udp.sendto(resp, addr)
            except OSError:
                pass
    with open(a.out, "w") as f:
        json.dump(stats, f)


# ------------------------------------------------------------------ load
def role_load(a):
    import dns.message
    import dns.rcode
    import dns.rdatatype

    rng = random.Random(a.seed + 1)
    socks = []
    for _ in range(8):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.connect(("127.0.0.1", a.port))
        s.setblocking(False)
        socks.append(s)
    outstanding = [dict() for _ in socks]  # id -> (name, qtype, kind, t)
    st = {"sent": 0, "answered": 0, "lost": 0, "send_errors": 0, "bad_parse": 0,
          "bad_id": 0, "bad_question": 0, "bad_rcode": 0, "blocked_not_nx": 0,
          "bad_addr": 0, "rcodes": {}, "kinds": {}, "lat_ms": [], "examples": []}
    lat = []

    def bad(key, msg):
        st[key] += 1
        if len(st["examples"]) < 20:
            st["examples"].append(key + ": " + msg)

    def make(kind):
        if kind == "blocked":
            r = rng.random()
            if r < 0.5:
                name = "b-%x.%s" % (rng.getrandbits(32), BLOCKED_SUFFIX)
            elif r < 0.9:
                name = "www%d.example.org" % rng.randint(0, 9)
            else:
                name = WILD  # the wildcard's own apex is not allowed
            qtype = 1
        elif kind == "hot":
            name = rng.choice(HOT)
            qtype = 28 if rng.random() < 0.25 else 1
        else:
            name = "m-%012x.%s" % (rng.getrandbits(48), WILD)
            qtype = 28 if rng.random() < 0.2 else 1
        return name, qtype

    def wire(qid, name, qtype):
        edns = rng.random() < 0.5
        hdr = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
        out = hdr + encode_name(name) + struct.pack("!HH", qtype, 1)
        if edns:
            out += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
        return out

    def check(i, data, t_rx):
        try:
            m = dns.message.from_wire(data)
        except Exception as e:  # noqa: BLE001 - any parse failure counts
            bad("bad_parse", "%s (%d bytes)" % (e.__class__.__name__, len(data)))
            return
        o = outstanding[i].pop(m.id, None)
        if o is None:
            bad("bad_id", "id %d on socket %d not outstanding" % (m.id, i))
            return
        name, qtype, kind, t0 = o
        st["answered"] += 1
        lat.append((t_rx - t0) * 1000)
        if (len(m.question) != 1 or m.question[0].name.to_text(True).lower() != name
                or m.question[0].rdtype != qtype):
            bad("bad_question", "%s/%d: %s" % (name, qtype, m.question))
            return
        rc = m.rcode()
        rcs = dns.rcode.to_text(rc)
        st["rcodes"][rcs] = st["rcodes"].get(rcs, 0) + 1
        key = kind + ":" + rcs
        st["kinds"][key] = st["kinds"].get(key, 0) + 1
        if rc not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL):
            bad("bad_rcode", "%s/%d got %s" % (name, qtype, rcs))
            return
        if kind == "blocked" and rc != dns.rcode.NXDOMAIN:
            bad("blocked_not_nx", "%s got %s" % (name, rcs))
            return
        exp = expected_addrs(name)
        for rrset in m.answer:
            if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                for rd in rrset:
                    if kind == "blocked" or rd.address not in exp:
                        bad("bad_addr", "%s: %s %s" % (name, rrset.name, rd.address))

    start = time.monotonic()
    end = start + a.duration
    mix = [("blocked", a.blocked_pct), ("hot", a.hot_pct),
           ("miss", 100 - a.blocked_pct - a.hot_pct)]
    kinds = []
    for k, pct in mix:
        kinds += [k] * pct
    rr_i = 0
    next_prune = start + 1.0
    while True:
        now = time.monotonic()
        if now < end:
            due = int((now - start) * a.qps) - st["sent"]
            for _ in range(min(due, 500)):
                i = rr_i % len(socks)
                rr_i += 1
                kind = rng.choice(kinds)
                name, qtype = make(kind)
                qid = rng.getrandbits(16)
                while qid in outstanding[i]:
                    qid = rng.getrandbits(16)
                try:
                    socks[i].send(wire(qid, name, qtype))
                except OSError:
                    st["send_errors"] += 1
                    continue
                outstanding[i][qid] = (name, qtype, kind, time.time())
                st["sent"] += 1
        elif now > end + a.grace or not any(outstanding):
            break
        r, _, _ = select.select(socks, [], [], 0.005)
        for s in r:
            i = socks.index(s)
            for _ in range(512):
                try:
                    data, anc, _, _ = s.recvmsg(4096, 64)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                # Latency up to the kernel's receive time, so that a busy
                # client does not inflate it.
                t_rx = time.time()
                for lvl, typ, val in anc:
                    if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(val) >= 16:
                        sec, nsec = struct.unpack("qq", val[:16])
                        t_rx = sec + nsec / 1e9
                check(i, data, t_rx)
        # Anything unanswered for 5 s is lost (the resolver gives up long before).
        if time.monotonic() >= next_prune:
            next_prune += 1.0
            cut = time.time() - 5.0
            for d in outstanding:
                for qid in [q for q, v in d.items() if v[3] < cut]:
                    d.pop(qid)
                    st["lost"] += 1
    for d in outstanding:
        st["lost"] += len(d)
    lat.sort()
    st["lat_sample"] = [round(x, 3) for x in lat[::5]] + ([round(lat[-1], 3)] if lat else [])
    st["seconds"] = round(time.monotonic() - start, 1)
    with open(a.out, "w") as f:
        json.dump(st, f)


# ------------------------------------------------------------ subscriber
def role_sub(a):
    st = {"lines": 0, "adds": 0, "dels": 0, "synced": 0, "hellos": 0, "connects": 0,
          "disconnects": 0, "acks_sent": 0, "bad": 0, "not_allowed": 0, "bad_addr": 0,
          "examples": [], "addrs": 0}
    published = set()
    stop = [False]

    def on_term(*_):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_term)

    def bad(key, msg):
        st[key] += 1
        if len(st["examples"]) < 20:
            st["examples"].append(key + ": " + msg)

    deadline = time.monotonic() + a.duration
    while not stop[0] and time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(a.socket)
        except OSError:
            s.close()
            time.sleep(0.2)
            continue
        st["connects"] += 1
        # Reconnect now and then: a fresh snapshot of every live address.
        conn_end = time.monotonic() + (a.resub_every if a.resub_every > 0 else 1e9)
        s.sendall(b'{"type":"subscribe","acks":true}\n')
        buf = b""
        expect_seq = 1
        first = True
        last_ack = 0
        last_seq = 0
        s.settimeout(0.05)
        while not stop[0] and time.monotonic() < min(deadline, conn_end):
            try:
                d = s.recv(65536)
            except socket.timeout:
                d = None
            except OSError:
                d = b""
            if d == b"":
                st["disconnects"] += 1
                break
            if d:
                buf += d
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    st["lines"] += 1
                    if len(line) > 1024:
                        bad("bad", "line over 1024 bytes")
                    try:
                        m = json.loads(line)
                    except ValueError:
                        bad("bad", "not JSON: %r" % line[:100])
                        continue
                    t = m.get("type")
                    if first:
                        first = False
                        if t != "hello" or m.get("version") != 1:
                            bad("bad", "first line not hello: %r" % line[:100])
                        else:
                            st["hellos"] += 1
                        continue
                    if m.get("seq") != expect_seq:
                        bad("bad", "seq %r, expected %d" % (m.get("seq"), expect_seq))
                        expect_seq = m.get("seq") if isinstance(m.get("seq"), int) else expect_seq
                    expect_seq += 1
                    last_seq = m.get("seq", last_seq)
                    if t == "synced":
                        st["synced"] += 1
                    elif t in ("add", "del"):
                        st["adds" if t == "add" else "dels"] += 1
                        name, fam, addr = m.get("name"), m.get("family"), m.get("addr")
                        if not isinstance(name, str) or not is_allowed(name):
                            bad("not_allowed", "%s %r" % (t, line[:200]))
                            continue
                        try:
                            ip = ipaddress.ip_address(addr)
                        except ValueError:
                            bad("bad", "addr %r" % (addr,))
                            continue
                        if fam != ip.version:
                            bad("bad", "family %r for %s" % (fam, addr))
                        if ip.compressed not in expected_addrs(name):
                            bad("bad_addr", "%s %s %s" % (t, name, addr))
                        if t == "add":
                            ttl = m.get("ttl")
                            if not isinstance(ttl, int) or ttl < 0 or ttl > HOT_TTL:
                                bad("bad", "ttl %r" % (ttl,))
                            published.add(ip.compressed)
                    else:
                        bad("bad", "unknown message %r" % line[:100])
            if last_seq > last_ack:
                try:
                    s.sendall(b'{"type":"ack","seq":%d}\n' % last_seq)
                    st["acks_sent"] += 1
                    last_ack = last_seq
                except OSError:
                    pass
        s.close()
    st["addrs"] = len(published)
    with open(a.out, "w") as f:
        json.dump(st, f)
    with open(a.out + ".addrs", "w") as f:
        f.write("\n".join(sorted(published)))


# ---------------------------------------------------------- orchestrator
def free_port():
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            t.close()
            u.close()
        return port
    raise RuntimeError("no free port")


def proc_sample(pid):
    rss = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return rss, fds, threads


def wait_dns(port, timeout=10.0):
    q = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + encode_name(HOT[0]) + b"\0\1\0\1"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            try:
                s.sendto(q, ("127.0.0.1", port))
                s.recvfrom(4096)
                return True
            except OSError:
                time.sleep(0.05)
    finally:
        s.close()
    return False


def fetch_metrics(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
    except OSError as e:
        return {"error": str(e)}
    out = {}
    for line in data.decode(errors="replace").split("\r\n\r\n", 1)[-1].splitlines():
        if line.startswith("loki_resolver_") and "_bucket" not in line:
            k, _, v = line.rpartition(" ")
            out[k[len("loki_resolver_"):]] = v
    return out


def orchestrate(a):
    me = os.path.abspath(__file__)
    py = sys.executable
    duration = int(a.minutes * 60)
    warmup = a.warmup if a.warmup is not None else max(15, duration // 5)
    if warmup >= duration:
        print("--warmup must be shorter than the run", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="loki-soak.")
    up_port, dns_port, metrics_port = free_port(), free_port(), free_port()
    sock = os.path.join(work, "fwsync.sock")
    procs = []
    fails = []

    def stop_all():
        # Whatever still runs (an interrupted soak): stop it, by PID.
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()

    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print("soak: %d s (warm-up %d s), %d qps, faults every ~%g s, work dir %s"
          % (duration, warmup, a.qps, a.fault_every, work), flush=True)

    def spawn(args, out_name, **kw):
        f = open(os.path.join(work, out_name), "w")
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, **kw)
        procs.append(p)
        return p

    # Time for the whole run plus shutdown; every helper stops by itself too.
    life = str(duration + 60)
    ready = os.path.join(work, "upstream.ready")
    up = spawn([py, me, "--role", "upstream", "--port", str(up_port), "--duration", life,
                "--fault-every", str(a.fault_every), "--seed", str(a.seed),
                "--ready", ready, "--out", os.path.join(work, "upstream.json")], "upstream.log")
    for _ in range(100):
        if os.path.exists(ready):
            break
        time.sleep(0.05)
    conf = os.path.join(work, "resolver.conf")
    with open(conf, "w") as f:
        f.write("listen = 127.0.0.1:%d\n" % dns_port)
        f.write("upstream = 127.0.0.1:%d\n" % up_port)
        f.write("egress_policy = ai-only\n")
        f.write("allowed_hosts = %s\n" % ALLOWED_HOSTS)
        f.write("fwsync_socket = %s\n" % sock)
        f.write("fwsync_wait_ms = %d\n" % a.wait_ms)
        f.write("metrics_listen = 127.0.0.1:%d\n" % metrics_port)
        f.write("upstream_timeout_ms = 500\n")
        f.write("cache_size = %d\n" % a.cache_size)
        f.write("log_queries = none\n")
    res = spawn([a.resolver, "-c", conf, "--foreground"], "resolver.log")
    if not wait_dns(dns_port):
        print("FAIL: the resolver does not answer (see %s/resolver.log)" % work)
        for p in procs:
            p.terminate()
        return 1
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    subs = [spawn([py, me, "--role", "sub", "--socket", sock, "--duration", life,
                   "--resub-every", str(a.resub_every),
                   "--out", os.path.join(work, "sub.json")], "sub.log")]
    fw = None
    if a.fwsync:
        fw = spawn([a.fwsync, "--socket", sock, "--dry-run"], "fwsync.out")
    time.sleep(0.5)
    loads = []
    for i in range(a.load_procs):
        loads.append(spawn([py, me, "--role", "load", "--port", str(dns_port), "--duration",
                            str(duration), "--qps", str(a.qps / a.load_procs),
                            "--seed", str(a.seed + 100 * i), "--blocked-pct", str(a.blocked_pct),
                            "--hot-pct", str(a.hot_pct),
                            "--out", os.path.join(work, "load%d.json" % i)], "load%d.log" % i))

    t0 = time.monotonic()
    samples = []  # (t, rss_kb, fds, threads)
    warm = None
    hups = 0
    next_hup = a.hup_every if a.hup_every > 0 else None
    crashed = None
    next_print = 0
    while any(p.poll() is None for p in loads):
        t = time.monotonic() - t0
        if res.poll() is not None:
            crashed = res.returncode
            break
        try:
            samples.append((round(t, 1),) + proc_sample(res.pid))
        except OSError:
            pass
        if warm is None and t >= warmup and samples:
            warm = samples[-1]
            print("soak: warm-up over at %.0f s: RSS %d kB, %d fds, %d threads"
                  % (t, warm[1], warm[2], warm[3]), flush=True)
        if next_hup is not None and t >= next_hup:
            res.send_signal(signal.SIGHUP)
            hups += 1
            next_hup += a.hup_every
        if t >= next_print and samples:
            next_print += 60
            print("soak: %4.0f s RSS %d kB, %d fds" % (t, samples[-1][1], samples[-1][2]),
                  flush=True)
        time.sleep(1.0)
    for p in loads:
        if p.poll() is None:
            p.terminate()
        p.wait(timeout=60)
    final = samples[-1] if samples else None
    with open(os.path.join(work, "samples.csv"), "w") as f:
        f.write("seconds,rss_kb,fds,threads\n")
        for smp in samples:
            f.write("%s,%d,%d,%d\n" % smp)
    time.sleep(1.0)
    idle = None
    metrics = {}
    if res.poll() is None:
        idle = proc_sample(res.pid)
        metrics = fetch_metrics(metrics_port)
        res.send_signal(signal.SIGTERM)
        try:
            rc = res.wait(timeout=15)
        except subprocess.TimeoutExpired:
            res.kill()
            rc = "hung (killed)"
    else:
        rc = res.returncode
    for p in subs + ([fw] if fw else []):
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    if up.poll() is None:
        up.terminate()
    up.wait(timeout=10)

    def load_json(name):
        try:
            with open(os.path.join(work, name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    sb, us = load_json("sub.json"), load_json("upstream.json")
    ld = {}
    lat = []
    for i in range(a.load_procs):
        one = load_json("load%d.json" % i)
        lat += one.pop("lat_sample", [])
        for k, v in one.items():
            if isinstance(v, dict):
                d = ld.setdefault(k, {})
                for kk, vv in v.items():
                    d[kk] = d.get(kk, 0) + vv
            elif isinstance(v, list):
                ld.setdefault(k, []).extend(v)
            elif k == "seconds":
                ld[k] = max(ld.get(k, 0), v)
            else:
                ld[k] = ld.get(k, 0) + v
    lat.sort()
    if lat:
        ld["lat_ms"] = [lat[len(lat) // 2], lat[int(len(lat) * 0.9)], lat[int(len(lat) * 0.99)],
                        lat[-1]]

    # ------------------------------------------------------------ verdicts
    def check(ok, what):
        print("%s: %s" % ("PASS" if ok else "FAIL", what))
        if not ok:
            fails.append(what)

    print()
    print("load: sent %s, answered %s, lost %s, send errors %s, %s s, latency ms p50/p90/p99/max %s"
          % (ld.get("sent"), ld.get("answered"), ld.get("lost"), ld.get("send_errors"),
             ld.get("seconds"), ld.get("lat_ms")))
    print("load: rcodes %s" % ld.get("rcodes"))
    print("load: by kind %s" % ld.get("kinds"))
    print("upstream: %s" % us)
    print("stream: %s" % {k: v for k, v in sb.items() if k != "examples"})
    print("resolver metrics: %s" % (metrics or "none"))
    levels = {}
    with open(os.path.join(work, "resolver.log"), errors="replace") as f:
        for line in f:
            lv = line.split("[", 1)[-1].split("]", 1)[0] if line.startswith("loki-") else "other"
            levels[lv] = levels.get(lv, 0) + 1
    print("resolver: SIGHUPs %d; RSS/fd samples %d (%s/samples.csv); log lines by level %s"
          % (hups, len(samples), work, levels))
    check(crashed is None, "resolver alive for the whole run"
          + ("" if crashed is None else " (exited with %s)" % crashed))
    check(rc == 0, "exit status 0 on SIGTERM (got %s)" % rc)
    if warm and final:
        growth = (final[1] - warm[1]) * 100.0 / warm[1]
        what = ("RSS growth %.2f %% (warm-up %d kB -> finish %d kB, max seen %d kB) < %g %%"
                % (growth, warm[1], final[1], max(s[1] for s in samples), a.max_rss_growth))
        if duration < 180:
            # The cache and the address book fill for about 45 s (TTL 30 s,
            # expiry every 10 s): a short run has no steady state to compare.
            print("INFO: %s (not judged in runs under 3 minutes)" % what)
        else:
            check(growth < a.max_rss_growth, what)
        end_fds = idle[1] if idle else final[2]
        check(end_fds <= warm[2],
              "no fd growth (warm-up %d fds -> idle after the load %s, max seen %d)"
              % (warm[2], end_fds, max(s[2] for s in samples)))
    else:
        check(False, "RSS and fd samples taken after the warm-up")
    sent = ld.get("sent", 0)
    check(sent >= 0.9 * a.qps * duration,
          "load reached %d of %d planned queries" % (sent, a.qps * duration))
    check(all(ld.get(k, 1) == 0 for k in ("bad_parse", "bad_id", "bad_question", "bad_rcode")),
          "every answer well-formed, id and question matching, rcode NOERROR/NXDOMAIN/SERVFAIL"
          " (bad parse %s, id %s, question %s, rcode %s)"
          % tuple(ld.get(k) for k in ("bad_parse", "bad_id", "bad_question", "bad_rcode")))
    check(ld.get("blocked_not_nx", 1) == 0 and ld.get("bad_addr", 1) == 0,
          "blocked names always NXDOMAIN (%s violations); no address the upstream does not serve"
          " for the name in any answer (%s)" % (ld.get("blocked_not_nx"), ld.get("bad_addr")))
    lost = ld.get("lost", sent)
    check(sent > 0 and lost * 100.0 / sent <= a.max_lost_pct,
          "unanswered queries %s (%.3f %%) <= %g %%"
          % (lost, lost * 100.0 / max(sent, 1), a.max_lost_pct))
    check(sb.get("adds", 0) > 0 and sb.get("bad", 1) == 0,
          "stream: %s adds, %s lines well-formed with consecutive seqs (%s bad)"
          % (sb.get("adds"), sb.get("lines"), sb.get("bad")))
    check(sb.get("not_allowed", 1) == 0 and sb.get("bad_addr", 1) == 0,
          "stream: no name outside the allowlist (%s) and no address the upstream does not serve"
          " for the name (%s)" % (sb.get("not_allowed"), sb.get("bad_addr")))
    if fw:
        nbad = nlines = 0
        try:
            with open(os.path.join(work, "sub.json.addrs")) as f:
                pub = set(f.read().split())
        except OSError:
            pub = set()
        with open(os.path.join(work, "fwsync.out"), errors="replace") as f:
            for line in f:
                if not line.startswith("add element"):
                    continue
                nlines += 1
                parts = line.split("{", 1)[-1].split()
                addr = parts[0] if parts else ""
                if addr not in pub:
                    nbad += 1
        check(nlines > 0 and nbad == 0,
              "loki-fwsync --dry-run: %d add element lines, %d with an address never published"
              % (nlines, nbad))
        check(fw.returncode in (0, -signal.SIGTERM),
              "loki-fwsync alive until stopped (status %s)" % fw.returncode)
    for ex in (ld.get("examples", []) + sb.get("examples", []))[:20]:
        print("  example: " + ex)
    print()
    print("soak: %d checks failed; work dir %s" % (len(fails), work))
    return 1 if fails else 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--role", default="orchestrate",
                   choices=["orchestrate", "upstream", "load", "sub"])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--warmup", type=int, default=None, help="seconds (default: 20 %%, >= 15)")
    p.add_argument("--qps", type=float, default=2000)
    p.add_argument("--load-procs", type=int, default=2)
    p.add_argument("--blocked-pct", type=int, default=35)
    p.add_argument("--hot-pct", type=int, default=40)
    p.add_argument("--fault-every", type=float, default=3.0)
    p.add_argument("--hup-every", type=float, default=100.0)
    p.add_argument("--resub-every", type=float, default=75.0,
                   help="seconds between reconnects of the stream subscriber")
    p.add_argument("--wait-ms", type=int, default=100, help="fwsync_wait_ms")
    p.add_argument("--cache-size", type=int, default=8192)
    p.add_argument("--max-rss-growth", type=float, default=5.0)
    p.add_argument("--max-lost-pct", type=float, default=0.5)
    p.add_argument("--resolver", default=os.environ.get("LOKI_RESOLVER"))
    p.add_argument("--fwsync", default=os.environ.get("LOKI_FWSYNC"))
    p.add_argument("--seed", type=int, default=6)
    # helper roles
    p.add_argument("--port", type=int)
    p.add_argument("--duration", type=float)
    p.add_argument("--grace", type=float, default=6.0)
    p.add_argument("--socket")
    p.add_argument("--ready")
    p.add_argument("--out")
    a = p.parse_args()
    if a.role == "upstream":
        return role_upstream(a)
    if a.role == "load":
        return role_load(a)
    if a.role == "sub":
        return role_sub(a)
    if not a.resolver:
        p.error("--resolver or LOKI_RESOLVER is required")
    return orchestrate(a)


if __name__ == "__main__":
    sys.exit(main() or 0)
