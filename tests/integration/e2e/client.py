"""Runs inside the client namespace: resolve with the resolver, then connect
to TCP 443 at once. Prints one JSON object with the results."""
import json
import socket
import sys
import time

import dns.message
import dns.query
import dns.rcode

RESOLVER = "192.0.2.1"


def resolve(name):
    q = dns.message.make_query(name, "A")
    a = dns.query.udp(q, RESOLVER, port=53, timeout=3)
    addrs = [r.address for rrset in a.answer for r in rrset if rrset.rdtype == 1]
    return dns.rcode.to_text(a.rcode()), addrs


def connect(addr, timeout=1.0):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((addr, 443))
        return True
    except OSError:
        return False
    finally:
        s.close()


def main():
    cmd = sys.argv[1]
    out = {}
    if cmd == "resolve-connect":
        rcode, addrs = resolve(sys.argv[2])
        out = {"rcode": rcode, "addrs": addrs,
               "connected": connect(addrs[0]) if addrs else None}
    elif cmd == "connect":
        out = {"connected": connect(sys.argv[2])}
    elif cmd == "trials":
        failures, took = [], []
        for name in sys.argv[2:]:
            t = time.time()
            rcode, addrs = resolve(name)
            ok = bool(addrs) and connect(addrs[0])
            took.append(time.time() - t)
            if not ok:
                failures.append([name, rcode, addrs])
        took.sort()
        out = {"trials": len(sys.argv) - 2, "failures": failures,
               "p50_ms": round(took[len(took) // 2] * 1000, 2),
               "p99_ms": round(took[int(len(took) * 0.99) - 1] * 1000, 2)}
    print(json.dumps(out))


main()
