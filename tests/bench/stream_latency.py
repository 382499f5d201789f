#!/usr/bin/python3
"""stream_latency.py BUILDDIR: time from the upstream's answer to the nft
commit of its address, over 1,000 distinct addresses (issue 4).

A scripted upstream on 127.0.0.1 stamps the moment it sends each answer;
loki-resolver (fwsync_wait_ms = 5000) holds the reply until loki-fwsync,
running in a private network namespace with its own nftables, has committed
the address and acked it; the client stamps the reply's arrival. The
difference bounds answer -> publish -> nft commit -> ack from above. The
same run with no agent connected gives the resolver's own share, printed
for comparison. Needs root (unshare -n). Loopback only.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import dns.message
import dns.query
import dns.rrset

build = sys.argv[1] if len(sys.argv) > 1 else "."
resolver = os.path.join(build, "resolver", "loki-resolver")
fwsync = os.path.join(build, "fwsync", "loki-fwsync")
N = 1000

sent_at = {}
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
up.bind(("127.0.0.1", 0))
up_port = up.getsockname()[1]


def upstream():
    while True:
        try:
            raw, addr = up.recvfrom(4096)
        except OSError:
            return
        q = dns.message.from_wire(raw)
        name = str(q.question[0].name)
        i = int(name.split(".")[0][1:])
        a = dns.message.make_response(q)
        a.answer.append(dns.rrset.from_text(q.question[0].name, 300, "IN", "AAAA",
                                            f"2001:db8:77::{i:x}"))
        sent_at[name] = time.monotonic()
        up.sendto(a.to_wire(), addr)


threading.Thread(target=upstream, daemon=True).start()


def run(with_agent, tag):
    d = tempfile.mkdtemp()
    sock = os.path.join(d, "s.sock")
    port = 5390
    env = {"PATH": os.environ["PATH"], "LOKI_FWSYNC_WAIT_MS": "5000", "LOKI_THREADS": "1",
           "LOKI_LOG_QUERIES": "none", "LOKI_FWSYNC_SOCKET": sock}
    r = subprocess.Popen([resolver, "--listen", f"127.0.0.1:{port}", "--upstream",
                          f"127.0.0.1:{up_port}"], env=env, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    agent = None
    if with_agent:
        agent = subprocess.Popen(["unshare", "-n", fwsync, "--socket", sock],
                                 stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    lat = []
    for i in range(N):
        name = f"h{i}.{tag}.example."
        q = dns.message.make_query(name, "AAAA")
        dns.query.udp(q, "127.0.0.1", port=port, timeout=6)
        lat.append((time.monotonic() - sent_at[name]) * 1000)
    for p in (agent, r):
        if p is not None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
    lat.sort()
    return lat[N // 2], lat[int(N * 0.99) - 1]


base = run(False, "base")
full = run(True, "agent")
print(f"upstream answer -> client reply, {N} distinct addresses, reply held for the ack:")
print(f"  no agent (resolver only):        median {base[0]:.3f} ms, p99 {base[1]:.3f} ms")
print(f"  with loki-fwsync committing:     median {full[0]:.3f} ms, p99 {full[1]:.3f} ms")
