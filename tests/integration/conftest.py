"""Fixtures for the loki-resolver integration tests.

Every server here runs on 127.0.0.1 (or ::1) on ports picked free at run
time; nothing is ever sent to the nameservers of /etc/resolv.conf. Processes
are stopped by PID.
"""
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
RESOLVER = os.environ.get("LOKI_RESOLVER")


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A port free for both UDP and TCP on host."""
    for _ in range(50):
        u = socket.socket(family, socket.SOCK_DGRAM)
        u.bind((host, 0))
        port = u.getsockname()[1]
        t = socket.socket(family, socket.SOCK_STREAM)
        try:
            t.bind((host, port))
        except OSError:
            continue
        finally:
            t.close()
            u.close()
        return port
    raise RuntimeError("no free port")


def has_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def wait_udp(host, port, name="api.anthropic.com.", timeout=10.0):
    """Waits until a DNS server answers anything on host:port."""
    deadline = time.time() + timeout
    q = dns.message.make_query(name, "SOA")
    while time.time() < deadline:
        try:
            dns.query.udp(q, host, port=port, timeout=0.2)
            return True
        except Exception:
            time.sleep(0.05)
    return False


class Nsd:
    def __init__(self, workdir):
        self.dir = workdir
        self.port = free_port()
        self.proc = None

    def start(self):
        zones = os.path.join(HERE, "zones")
        conf = os.path.join(self.dir, "nsd.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
    ip-address: 127.0.0.1@{self.port}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    database: ""
    zonesdir: "{zones}"
    zonelistfile: "{self.dir}/zone.list"
    xfrdfile: "{self.dir}/xfrd.state"
    xfrdir: "{self.dir}"
    pidfile: ""
    logfile: "{self.dir}/nsd.log"
    cookie-secret-file: "{self.dir}/cookiesecrets.txt"
    verbosity: 1
    minimal-responses: yes
    refuse-any: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
""")
            for z in ("api.anthropic.com", "api.openai.com", "upstream.test"):
                f.write(f'zone:\n    name: "{z}"\n    zonefile: "{z}.zone"\n')
        self.proc = subprocess.Popen(["nsd", "-d", "-c", conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "nsd.err"), "w"))
        if not wait_udp("127.0.0.1", self.port):
            self.stop()
            raise RuntimeError("NSD did not start: " + open(os.path.join(self.dir, "nsd.err")).read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def nsd():
    d = tempfile.mkdtemp(prefix="loki-nsd-")
    n = Nsd(d)
    n.start()
    yield n
    n.stop()


class Resolver:
    """One loki-resolver process on 127.0.0.1:<free port>."""

    def __init__(self, args=(), env=None, upstreams=None, listen=None, config=None, prefix=()):
        assert RESOLVER, "LOKI_RESOLVER is not set"
        self.prefix = list(prefix)  # e.g. ["prlimit", "--nofile=1024:1024", "--"]
        self.port = free_port()
        self.host = "127.0.0.1"
        self.listen = listen or [f"127.0.0.1:{self.port}"]
        self.args = list(args)
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LOKI_THREADS": "2"}
        # ASan/UBSan settings pass through for the sanitizer run.
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                self.env[k] = os.environ[k]
        self.env.update(env or {})
        self.upstreams = upstreams or []
        self.config = config
        self.proc = None
        self.errfile = tempfile.NamedTemporaryFile(prefix="loki-resolver-", suffix=".err",
                                                   delete=False)

    def command(self):
        cmd = self.prefix + [RESOLVER]
        if self.config:
            cmd += ["-c", self.config]
        for l in self.listen:
            cmd += ["--listen", l]
        for u in self.upstreams:
            cmd += ["--upstream", u]
        return cmd + self.args

    def start(self):
        self.proc = subprocess.Popen(self.command(), env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=self.errfile)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"loki-resolver exited {self.proc.returncode}: {self.stderr()}")
            if "listening on" in self.stderr():
                return self
            time.sleep(0.02)
        raise RuntimeError("loki-resolver did not start: " + self.stderr())

    def stderr(self):
        with open(self.errfile.name) as f:
            return f.read()

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    # -- clients -----------------------------------------------------------
    def query(self, name, rdtype="A", tcp=False, edns=0, payload=1232, want_dnssec=False,
              timeout=3.0, options=None):
        q = dns.message.make_query(name, rdtype, use_edns=edns, payload=payload,
                                   want_dnssec=want_dnssec, options=options)
        if tcp:
            return dns.query.tcp(q, self.host, port=self.port, timeout=timeout)
        return dns.query.udp(q, self.host, port=self.port, timeout=timeout)

    def send_raw(self, data, timeout=1.0):
        """Sends raw bytes over UDP; returns the raw answer or None."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.sendto(data, (self.host, self.port))
            return s.recv(65535)
        except socket.timeout:
            return None
        finally:
            s.close()


@pytest.fixture
def resolver_factory(nsd):
    started = []

    def make(args=(), env=None, upstreams=None, **kw):
        r = Resolver(args=args, env=env,
                     upstreams=upstreams if upstreams is not None else [f"127.0.0.1:{nsd.port}"],
                     **kw)
        started.append(r)
        return r.start()

    yield make
    for r in started:
        rc = r.stop()
        assert rc in (0, None), f"loki-resolver exited {rc}: {r.stderr()[-2000:]}"


class StubUpstream:
    """A scripted UDP/TCP upstream on loopback for the failure scenarios
    (STYLE.md point 16). behaviour(query_message, raw, addr) returns the raw
    answer bytes to send, a list of them, or None for silence."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.port = free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.1)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.tcp.settimeout(0.1)
        self.seen = []  # (transport, source address, query message)
        self.running = True
        self.threads = [threading.Thread(target=self._udp_loop, daemon=True),
                        threading.Thread(target=self._tcp_loop, daemon=True)]
        for t in self.threads:
            t.start()

    def _answers(self, raw, addr, transport):
        try:
            q = dns.message.from_wire(raw)
        except Exception:
            return []
        self.seen.append((transport, addr, q))
        out = self.behaviour(q, raw, transport)
        if out is None:
            return []
        return out if isinstance(out, list) else [out]

    def _udp_loop(self):
        while self.running:
            try:
                raw, addr = self.udp.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            for a in self._answers(raw, addr, "udp"):
                self.udp.sendto(a, addr)

    def _tcp_loop(self):
        while self.running:
            try:
                conn, addr = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(2)
            try:
                hdr = conn.recv(2)
                if len(hdr) == 2:
                    n = struct.unpack("!H", hdr)[0]
                    raw = b""
                    while len(raw) < n:
                        chunk = conn.recv(n - len(raw))
                        if not chunk:
                            break
                        raw += chunk
                    for a in self._answers(raw, addr, "tcp"):
                        conn.sendall(struct.pack("!H", len(a)) + a)
            except OSError:
                pass
            finally:
                conn.close()

    def stop(self):
        self.running = False
        for t in self.threads:
            t.join(timeout=2)
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def stub_factory():
    stubs = []

    def make(behaviour):
        s = StubUpstream(behaviour)
        stubs.append(s)
        return s

    yield make
    for s in stubs:
        s.stop()


def ede_codes(msg):
    """Extended DNS Error info codes in an answer (RFC 8914)."""
    out = []
    for opt in msg.options:
        if opt.otype == dns.edns.EDE:
            out.append(int(opt.code))
    return out


def addresses(msg, rdtype="A"):
    t = dns.rdatatype.from_text(rdtype)
    return sorted(r.address for rrset in msg.answer if rrset.rdtype == t for r in rrset)


@pytest.fixture
def scripted_factory():
    """Scripted upstreams (scripted_upstream.py), stopped at the end."""
    from scripted_upstream import ScriptedUpstream
    made = []

    def make(host="127.0.0.1"):
        u = ScriptedUpstream(host)
        made.append(u)
        return u

    yield make
    for u in made:
        u.stop()


def proc_status(pid, key):
    """A field of /proc/PID/status in kB (VmRSS, VmHWM, ...), as an int."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def is_sanitized(binary):
    """True if binary was built with AddressSanitizer (memory bounds are looser)."""
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out or "ASAN_OPTIONS" in os.environ
