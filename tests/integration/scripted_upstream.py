"""A scripted DNS upstream on loopback for the hostile-upstream and fault
tests (issue 6). UDP and TCP on one port; what it does for a query is chosen
per query name by the test:

    up = ScriptedUpstream()
    up.on("late.hostile.test", lambda q, transport: [Delay(10), Reply(answer(q, ...))])
    up.default = lambda q, transport: Reply(answer(q, f"{q.question[0].name} 60 IN A 192.0.2.1"))

A behaviour gets the parsed query (dns.message.Message) and "udp" or "tcp"
and returns None (silence), one action or a list of actions, run in order:

    Reply(msg)          send a message (dns.message.Message or raw bytes);
                        over TCP with its 2-byte length
    FromOtherPort(msg)  UDP: send msg from another socket (another source port)
    Delay(seconds)      wait (interrupted when the upstream stops)
    Raw(data)           TCP: send bytes as they are (no length prefix)
    Rst()               TCP: close with SO_LINGER 0, so the peer gets a RST
    Close()             TCP: close normally (FIN)

Every query is counted in `seen` (transport, lower-case name without the
trailing dot, type, source address, time) before its behaviour runs. Each
UDP query and each TCP connection is handled in its own thread, so a
delayed answer never holds up the others; threads are daemons and every
delay ends when stop() is called. Documentation addresses only; nothing
leaves loopback.
"""
import socket
import struct
import threading
import time

import dns.message
import dns.rcode
import dns.rrset

from conftest import free_port


class Reply:
    def __init__(self, msg):
        # max_size: a response is never cut to the query's EDNS size here;
        # tests that want truncation script it.
        self.data = msg if isinstance(msg, (bytes, bytearray)) else msg.to_wire(max_size=65535)


class FromOtherPort(Reply):
    pass


class Raw:
    def __init__(self, data):
        self.data = data


class Delay:
    def __init__(self, seconds):
        self.seconds = seconds


class Rst:
    pass


class Close:
    pass


def answer(q, *records, rcode=dns.rcode.NOERROR, authority=(), additional=(), flags=0,
           qid=None):
    """A response to q; records are zone-file lines ("name ttl IN type rdata")."""
    a = dns.message.make_response(q)
    a.set_rcode(rcode)
    for section, lines in ((a.answer, records), (a.authority, authority),
                           (a.additional, additional)):
        for text in lines:
            name, ttl, cls, rdtype, *rdata = text.split()
            section.append(dns.rrset.from_text(name, int(ttl), cls, rdtype, " ".join(rdata)))
    a.flags |= flags
    if qid is not None:
        a.id = qid
    return a


def qname(q):
    return str(q.question[0].name).rstrip(".").lower()


class ScriptedUpstream:
    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.port = free_port()
        self.addr = f"{host}:{self.port}"
        self.script = {}
        self.default = lambda q, transport: None
        self.seen = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((host, self.port))
        self.udp.settimeout(0.1)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((host, self.port))
        self.tcp.listen(64)
        self.tcp.settimeout(0.1)
        self.threads = [threading.Thread(target=self._udp_loop, daemon=True),
                        threading.Thread(target=self._tcp_loop, daemon=True)]
        for t in self.threads:
            t.start()

    # -- script --------------------------------------------------------------
    def on(self, name, behaviour):
        self.script[name.rstrip(".").lower()] = behaviour

    def count(self, name=None, transport=None):
        with self.lock:
            return sum(1 for s in self.seen
                       if (name is None or s[1] == name.rstrip(".").lower())
                       and (transport is None or s[0] == transport))

    def _actions(self, raw, addr, transport):
        try:
            q = dns.message.from_wire(raw)
            name = qname(q)
        except Exception:
            return None, []
        with self.lock:
            self.seen.append((transport, name, q.question[0].rdtype, addr, time.time()))
        out = self.script.get(name, self.default)(q, transport)
        if out is None:
            return q, []
        return q, out if isinstance(out, list) else [out]

    # -- UDP -----------------------------------------------------------------
    def _udp_loop(self):
        while not self.stopping.is_set():
            try:
                raw, addr = self.udp.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._udp_one, args=(raw, addr), daemon=True).start()

    def _udp_one(self, raw, addr):
        _, actions = self._actions(raw, addr, "udp")
        for act in actions:
            if self.stopping.is_set():
                return
            try:
                if isinstance(act, Delay):
                    self.stopping.wait(act.seconds)
                elif isinstance(act, FromOtherPort):
                    o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    o.bind((self.host, 0))
                    o.sendto(act.data, addr)
                    o.close()
                elif isinstance(act, (Reply, Raw)):
                    self.udp.sendto(act.data, addr)
            except OSError:
                return

    # -- TCP -----------------------------------------------------------------
    def _tcp_loop(self):
        while not self.stopping.is_set():
            try:
                conn, addr = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._tcp_conn, args=(conn, addr), daemon=True).start()

    @staticmethod
    def _recv_exact(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _tcp_conn(self, conn, addr):
        conn.settimeout(5)
        try:
            while not self.stopping.is_set():
                hdr = self._recv_exact(conn, 2)
                if hdr is None:
                    return
                raw = self._recv_exact(conn, struct.unpack("!H", hdr)[0])
                if raw is None:
                    return
                _, actions = self._actions(raw, addr, "tcp")
                for act in actions:
                    if self.stopping.is_set():
                        return
                    if isinstance(act, Delay):
                        self.stopping.wait(act.seconds)
                    elif isinstance(act, Reply):
                        conn.sendall(struct.pack("!H", len(act.data)) + act.data)
                    elif isinstance(act, Raw):
                        conn.sendall(act.data)
                    elif isinstance(act, Rst):
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                        return
                    elif isinstance(act, Close):
                        return
        except OSError:
            return
        finally:
            conn.close()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=2)
        self.udp.close()
        self.tcp.close()
