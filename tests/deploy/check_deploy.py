#!/usr/bin/env python3
"""Static checks of docker/ and docker/k8s/ (no Docker engine, no cluster).

Usage: check_deploy.py SRCDIR COMPOSE_CONFIG [RESOLVER FWSYNC]

COMPOSE_CONFIG is the output of `docker-compose -f docker/compose.yaml
config`. RESOLVER/FWSYNC, when given, are built binaries: their ELF NEEDED
libraries are checked against the Dockerfile's runtime packages and the
ConfigMap's resolver configuration against `loki-resolver --check-config`.
Prints one `PASS: <check>` or `FAIL: <check>` line per check (details
indented below a FAIL) and exits 1 if any check failed.
"""

import ipaddress
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

RESULTS = []


def check(name, problems):
    """Records one check: `problems` is a list of strings (empty: pass)."""
    if isinstance(problems, bool):
        problems = [] if problems else ["condition false"]
    RESULTS.append((name, list(problems)))
    print("%s: %s" % ("FAIL" if problems else "PASS", name))
    for p in problems:
        print("    " + p)


def guarded(name, fn):
    """Runs fn() -> problems; an exception is a failure of that check."""
    try:
        check(name, fn())
    except Exception as e:  # noqa: BLE001 - any crash is a failed check
        check(name, ["%s: %s" % (type(e).__name__, e)])


def expect(problems, what, got, want):
    if got != want:
        problems.append("%s: %r, expected %r" % (what, got, want))


def nft_check(text, label):
    """`nft -c -f` in a private network namespace; returns problems."""
    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        p = subprocess.run(
            ["unshare", "-n", "nft", "-c", "-f", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60
        )
        return [] if p.returncode == 0 else ["%s: nft -c: %s" % (label, p.stdout.decode(errors="replace"))]
    finally:
        os.unlink(path)


def nft_defines(text):
    return dict(re.findall(r"^\s*define\s+(\w+)\s*=\s*(.+?)\s*$", text, re.M))


def nft_chain(text, name):
    """The body of `chain NAME { ... }` (lines stripped, comments dropped)."""
    m = re.search(r"^\s*chain\s+%s\s*\{\n(.*?)^\s*\}" % re.escape(name), text, re.M | re.S)
    if not m:
        return None
    lines = [ln.strip() for ln in m.group(1).splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


# ------------------------------------------------------------------ compose


def compose_checks(src, config_path):
    with open(config_path) as f:
        cfg = yaml.safe_load(f)
    svc = cfg.get("services", {})
    res, fw, wl = svc.get("resolver", {}), svc.get("fwsync", {}), svc.get("workload", {})
    net = cfg.get("networks", {}).get("loki-isolated", {})
    nft_text = open(os.path.join(src, "docker/loki-egress.nft")).read()
    conf_nft = open(os.path.join(src, "conf/loki-egress.nft")).read()

    def subnet():
        return net["ipam"]["config"][0]["subnet"]

    def res_addr():
        return res["networks"]["loki-isolated"]["ipv4_address"]

    def env(s):
        e = s.get("environment", {})
        if isinstance(e, list):
            e = dict(x.split("=", 1) for x in e)
        return e

    def named_volume_at(s, target):
        for v in s.get("volumes", []):
            if isinstance(v, str):
                parts = v.split(":")
                if len(parts) >= 2 and parts[1] == target and not parts[0].startswith(("/", ".")):
                    return parts[0]
            elif v.get("target") == target and v.get("type", "volume") == "volume":
                return v.get("source")
        return None

    def c_network():
        p = []
        expect(p, "driver", net.get("driver"), "bridge")
        expect(p, "name", net.get("name"), "loki-isolated")
        opts = net.get("driver_opts", {})
        expect(p, "enable_icc", str(opts.get("com.docker.network.bridge.enable_icc")).lower(), "false")
        expect(p, "subnet", subnet(), "172.28.0.0/16")
        return p

    def hardening(s, cap_add, p):
        expect(p, "read_only", s.get("read_only"), True)
        expect(p, "user", str(s.get("user")), "1000:1000")
        expect(p, "cap_drop", s.get("cap_drop"), ["ALL"])
        expect(p, "cap_add", s.get("cap_add"), cap_add)
        if s.get("privileged"):
            p.append("privileged")

    def c_resolver():
        p = []
        hardening(res, ["NET_BIND_SERVICE"], p)
        if not any(str(o).startswith("no-new-privileges") and not str(o).endswith("false") for o in res.get("security_opt", [])):
            p.append("security_opt lacks no-new-privileges")
        start = int(res.get("sysctls", {}).get("net.ipv4.ip_unprivileged_port_start", 1024))
        if start > 53:
            p.append("net.ipv4.ip_unprivileged_port_start %d > 53: uid 1000 cannot bind 53 under no-new-privileges" % start)
        if ipaddress.ip_address(res_addr()) not in ipaddress.ip_network(subnet()):
            p.append("resolver address %s outside %s" % (res_addr(), subnet()))
        if res.get("network_mode") == "host":
            p.append("resolver in the host network")
        return p

    def c_resolver_env():
        p = []
        e = env(res)
        expect(p, "LOKI_NETWORK_EGRESS_POLICY", e.get("LOKI_NETWORK_EGRESS_POLICY"), "ai-only")
        expect(p, "LOKI_BLOCK_METADATA_ENDPOINT", str(e.get("LOKI_BLOCK_METADATA_ENDPOINT")).lower(), "true")
        if not e.get("LOKI_ALLOWED_HOSTS"):
            p.append("LOKI_ALLOWED_HOSTS empty")
        expect(p, "LOKI_LISTEN", e.get("LOKI_LISTEN"), "%s:53" % res_addr())
        sock = e.get("LOKI_FWSYNC_SOCKET", "")
        if not sock.startswith("/run/loki/") or not named_volume_at(res, "/run/loki"):
            p.append("fwsync socket %r not on a named volume at /run/loki" % sock)
        clients = [ipaddress.ip_network(c.strip()) for c in e.get("LOKI_ALLOW_CLIENTS", "172.16.0.0/12").split(",")]
        if not any(ipaddress.ip_network(subnet()).subnet_of(c) for c in clients if c.version == 4):
            p.append("allow_clients does not cover %s" % subnet())
        return p

    def c_fwsync():
        p = []
        hardening(fw, ["NET_ADMIN"], p)
        expect(p, "network_mode", fw.get("network_mode"), "host")
        expect(p, "entrypoint", fw.get("entrypoint"), ["/usr/sbin/loki-fwsync"])
        cmd = fw.get("command", [])
        cmd = shlex.split(cmd) if isinstance(cmd, str) else cmd
        sock = cmd[cmd.index("--socket") + 1] if "--socket" in cmd else "/run/loki/fwsync.sock"
        expect(p, "--socket", sock, env(res).get("LOKI_FWSYNC_SOCKET"))
        vr, vf = named_volume_at(res, "/run/loki"), named_volume_at(fw, "/run/loki")
        if vr is None or vr != vf:
            p.append("resolver and fwsync do not share a named volume at /run/loki (%r, %r)" % (vr, vf))
        if "--install-ruleset" not in cmd:
            p.append("no --install-ruleset")
        else:
            target = cmd[cmd.index("--install-ruleset") + 1]
            srcs = [v.split(":")[0] for v in fw.get("volumes", []) if isinstance(v, str) and v.split(":")[1:2] == [target]]
            if not srcs or os.path.realpath(srcs[0]) != os.path.realpath(os.path.join(src, "docker/loki-egress.nft")):
                p.append("%s is not docker/loki-egress.nft mounted read-only (%r)" % (target, srcs))
        hc = fw.get("healthcheck", {})
        if not (hc.get("disable") or hc.get("test") in (["NONE"], "NONE")):
            p.append("the image's resolver HEALTHCHECK is not disabled for fwsync")
        return p

    def c_workload():
        p = []
        expect(p, "dns", wl.get("dns"), [res_addr()])
        nets = wl.get("networks", {})
        if "loki-isolated" not in nets or len(nets) != 1:
            p.append("workload networks %r, expected only loki-isolated" % (nets,))
        if wl.get("network_mode") or wl.get("cap_add") or wl.get("privileged"):
            p.append("workload has network_mode, cap_add or privileged")
        return p

    def c_nft_defines():
        p = []
        d = nft_defines(nft_text)
        expect(p, "RESOLVER4", d.get("RESOLVER4"), res_addr())
        expect(p, "WORKLOAD4", d.get("WORKLOAD4"), subnet())
        fwd, inp = nft_chain(nft_text, "forward"), nft_chain(nft_text, "input")
        for name, ch in (("forward", fwd), ("input", inp)):
            if not ch:
                p.append("no chain %s" % name)
                continue
            rj = "ip saddr $RESOLVER4 jump resolver"
            wj = "ip saddr $WORKLOAD4 jump workload"
            if rj not in ch or wj not in ch or ch.index(rj) > ch.index(wj):
                p.append("chain %s: %r must come before %r" % (name, rj, wj))
        return p

    def c_nft_same():
        a, b = nft_chain(conf_nft, "workload"), nft_chain(nft_text, "workload")
        if a is None or b is None:
            return ["chain workload missing"]
        return [] if a == b else ["chain workload differs from conf/loki-egress.nft"]

    def c_host_setup():
        p = []
        text = open(os.path.join(src, "docker/host-setup.sh")).read()
        m1 = re.search(r"LOKI_BRIDGE:-([^}]+)\}", text)
        m2 = re.search(r"LOKI_RESOLVER4:-([^}]+)\}", text)
        expect(p, "bridge", m1 and m1.group(1), net.get("driver_opts", {}).get("com.docker.network.bridge.name"))
        expect(p, "resolver", m2 and m2.group(1), res_addr())
        return p

    guarded("compose: network loki-isolated (bridge, icc off, 172.28.0.0/16)", c_network)
    guarded("compose: resolver hardening (read_only, 1000:1000, cap_drop ALL, NET_BIND_SERVICE, no-new-privileges)", c_resolver)
    guarded("compose: resolver policy environment (ai-only, allowed hosts, metadata block, listen, socket)", c_resolver_env)
    guarded("compose: fwsync (host network, NET_ADMIN only, shared socket volume, ruleset)", c_fwsync)
    guarded("compose: workload uses the resolver (dns) on loki-isolated only", c_workload)
    guarded("compose: docker/loki-egress.nft defines match the compose addresses", c_nft_defines)
    guarded("compose: docker/loki-egress.nft chain workload equals conf/loki-egress.nft", c_nft_same)
    guarded("compose: docker/loki-egress.nft passes nft -c", lambda: nft_check(nft_text, "docker/loki-egress.nft"))
    guarded("compose: docker/host-setup.sh defaults match the compose file", c_host_setup)


# --------------------------------------------------------------- Dockerfile


def dockerfile_instructions(text):
    """[(stage_index, INSTRUCTION, args)] with continuation lines joined and
    comments dropped."""
    out, buf, stage = [], "", -1
    for line in text.splitlines():
        s = line.strip()
        if not buf and (not s or s.startswith("#")):
            continue
        if buf and s.startswith("#"):
            continue
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        buf += s
        instr, _, args = buf.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stage += 1
        out.append((stage, instr, args.strip()))
        buf = ""
    return out


RUNTIME_PACKAGES = {"libldns3", "libuv1", "libsodium23", "libnftables1", "libgnutls30"}


def dockerfile_checks(src, resolver, fwsync):
    text = open(os.path.join(src, "docker/Dockerfile")).read()
    ins = dockerfile_instructions(text)
    stages = max(s for s, _, _ in ins) + 1
    final = [(i, a) for s, i, a in ins if s == stages - 1]

    def c_from():
        p = []
        for s, i, a in ins:
            if i == "FROM":
                image = a.split()[0]
                if not re.fullmatch(r"debian:(bookworm|12)(-slim)?(@sha256:[0-9a-f]{64})?", image):
                    p.append("FROM %s is not debian:bookworm(-slim) / debian:12(-slim)" % image)
        return p

    def c_multistage():
        p = []
        if stages < 2:
            p.append("one stage only")
        if not any(i == "COPY" and a.startswith("--from=") for i, a in final):
            p.append("final stage copies nothing from the build stage")
        if any(i == "RUN" and re.search(r"\b(gcc|make|configure|autogen)\b", a) for i, a in final):
            p.append("final stage compiles")
        return p

    def c_user():
        users = [a for i, a in final if i == "USER"]
        if not users:
            return ["no USER in the final stage"]
        return [] if re.fullmatch(r"1000(:1000)?", users[-1]) else ["final USER %s, expected 1000" % users[-1]]

    def c_add():
        return ["ADD %s (use COPY; no URLs)" % a for s, i, a in ins if i == "ADD"]

    def c_apt():
        p = []
        for s, i, a in ins:
            if i != "RUN" or "apt-get" not in a:
                continue
            if "apt-get install" in a:
                if "apt-get update" not in a:
                    p.append("stage %d: apt-get install without apt-get update in the same RUN" % s)
                if "--no-install-recommends" not in a:
                    p.append("stage %d: apt-get install without --no-install-recommends" % s)
                if not re.search(r"apt-get install\s+(-\S+\s+)*-y\b|-y\s", a):
                    p.append("stage %d: apt-get install without -y" % s)
                if "rm -rf /var/lib/apt/lists/*" not in a:
                    p.append("stage %d: apt lists not removed in the same RUN" % s)
            elif "apt-get update" in a:
                p.append("stage %d: apt-get update in a RUN of its own" % s)
        return p

    def runtime_install():
        pk = set()
        for i, a in final:
            if i == "RUN" and "apt-get install" in a:
                seg = a.split("apt-get install", 1)[1].split("&&")[0]
                pk |= {w for w in seg.split() if not w.startswith("-")}
        return pk

    def c_runtime_packages():
        pk = runtime_install()
        p = ["runtime stage lacks %s" % m for m in sorted(RUNTIME_PACKAGES - pk)]
        p += ["runtime stage installs build package %s" % x for x in sorted(pk) if x.endswith("-dev") or x in ("build-essential", "gcc", "make")]
        extra = pk - RUNTIME_PACKAGES - {"libcap2-bin"}
        p += ["runtime stage installs %s (not a runtime library)" % x for x in sorted(extra)]
        if "libcap2-bin" in pk and not any(i == "RUN" and "purge" in a and "libcap2-bin" in a for i, a in final):
            p.append("libcap2-bin installed and not purged")
        return p

    def c_contract():
        p = []
        exposes = " ".join(a for i, a in final if i == "EXPOSE").split()
        for port in ("53/udp", "53/tcp"):
            if port not in exposes:
                p.append("EXPOSE lacks %s" % port)
        if not any(i == "HEALTHCHECK" and "/health" in a for i, a in final):
            p.append("no HEALTHCHECK on /health")
        ep = [a for i, a in final if i == "ENTRYPOINT"]
        if not ep or not ep[-1].startswith("[") or yaml.safe_load(ep[-1]) != ["/usr/sbin/loki-resolver"]:
            p.append("ENTRYPOINT is not exec-form /usr/sbin/loki-resolver: %r" % ep)
        runs = " ".join(a for i, a in final if i == "RUN")
        for cap, prog in (("cap_net_bind_service=+ep", "/usr/sbin/loki-resolver"), ("cap_net_admin=+ep", "/usr/sbin/loki-fwsync")):
            if "setcap %s %s" % (cap, prog) not in runs:
                p.append("no setcap %s %s" % (cap, prog))
        if "chmod ug-s" not in runs and "chmod a-s" not in runs:
            p.append("set-user-ID bits not removed")
        if not re.search(r"useradd .*--uid 1000", runs):
            p.append("no user with uid 1000")
        return p

    guarded("dockerfile: FROM pinned to Debian 12 bookworm", c_from)
    guarded("dockerfile: multi-stage, runtime stage only copies the build", c_multistage)
    guarded("dockerfile: USER 1000 in the final stage", c_user)
    guarded("dockerfile: no ADD (no remote URLs)", c_add)
    guarded("dockerfile: apt-get update+install+list removal in one RUN, no recommends", c_apt)
    guarded("dockerfile: runtime stage installs only the runtime libraries", c_runtime_packages)
    guarded("dockerfile: EXPOSE 53, HEALTHCHECK, ENTRYPOINT, file capabilities, uid 1000", c_contract)
    guarded("dockerignore: keeps every source file, drops generated ones", lambda: dockerignore_check(src))
    if resolver and fwsync:
        guarded("dockerfile: runtime packages provide every NEEDED library of the binaries", lambda: needed_check([resolver, fwsync], runtime_install()))
    else:
        print("SKIP: dockerfile: NEEDED libraries (no built binaries given)")


def dockerignore_patterns(src):
    pats = []
    for line in open(os.path.join(src, ".dockerignore")):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        neg = s.startswith("!")
        s = s.lstrip("!").strip("/")
        pats.append((neg, s))
    return pats


def dockerignore_excluded(pats, path):
    """Docker's rule: the last pattern matching the path or one of its
    parents decides ("**" matches any number of directories)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for neg, pat in pats:
        rx = re.escape(pat).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(rx, pre) for pre in prefixes):
            excluded = not neg
    return excluded


def dockerignore_check(src):
    pats = dockerignore_patterns(src)
    p = []
    listed = subprocess.run(
        ["git", "-C", src, "ls-files", "--cached", "--others", "--exclude-standard"], stdout=subprocess.PIPE, check=True
    ).stdout.decode().split("\n")
    for f in listed:
        if not f or f.startswith(".ci/") or f.startswith(".git"):
            continue
        if not os.path.exists(os.path.join(src, f)):
            continue
        if dockerignore_excluded(pats, f):
            p.append("source file excluded from the build context: %s" % f)
    for gen in ("configure", "Makefile", "resolver/Makefile", "resolver/x.o", "build-aux/compile", "autom4te.cache/x",
                "resolver/loki-resolver", "fwsync/loki-fwsync", "tests/check_wire", "build-x/Makefile", ".git/HEAD"):
        if not dockerignore_excluded(pats, gen):
            p.append("generated file not excluded: %s" % gen)
    for need in ("docker/loki-resolver.conf", "resolver/main.c", "fwsync/main.c", "configure.ac", "Makefile.am", "autogen.sh", "zones/ai-apis.rpz",
                 "tests/check_wire.c", "tests/fuzz/fuzz_query.in/x"):
        if dockerignore_excluded(pats, need):
            p.append("needed file excluded: %s" % need)
    return p


def needed_check(binaries, packages):
    p = []
    for b in binaries:
        out = subprocess.run(["readelf", "-d", b], stdout=subprocess.PIPE, check=True).stdout.decode()
        sonames = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
        ldd = subprocess.run(["ldd", b], stdout=subprocess.PIPE, check=True).stdout.decode()
        paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
        for so in sonames:
            path = paths.get(so)
            if not path:
                p.append("%s: %s not found by ldd" % (b, so))
                continue
            q = subprocess.run(["dpkg", "-S", os.path.realpath(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if q.returncode != 0:
                q = subprocess.run(["dpkg", "-S", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            pkg = q.stdout.decode().split(":")[0].strip()
            if pkg not in packages and pkg not in ("libc6",):
                p.append("%s needs %s from package %r, not installed by the runtime stage" % (os.path.basename(b), so, pkg))
    return p


# --------------------------------------------------------------- Kubernetes

SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 1000,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "seccompProfile": {"type": "RuntimeDefault"},
}
POD_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def schema_problems(data, typ, path):
    """Every key of data must be a field of the python3-kubernetes model
    `typ` (recursively), with the right JSON type."""
    from kubernetes.client import models

    p = []
    if data is None:
        return p
    if typ.startswith("list["):
        if not isinstance(data, list):
            return ["%s: %r is not a list" % (path, data)]
        for i, x in enumerate(data):
            p += schema_problems(x, typ[5:-1], "%s[%d]" % (path, i))
        return p
    if typ.startswith("dict("):
        if not isinstance(data, dict):
            return ["%s: not a mapping" % path]
        inner = typ[5:-1].split(", ", 1)[1]
        for k, v in data.items():
            p += schema_problems(v, inner, "%s.%s" % (path, k))
        return p
    prim = {"str": str, "bool": bool, "float": (int, float), "datetime": str, "date": str}
    if typ == "int":
        return [] if isinstance(data, int) and not isinstance(data, bool) else ["%s: %r is not an integer" % (path, data)]
    if typ in prim:
        return [] if isinstance(data, prim[typ]) else ["%s: %r is not %s" % (path, data, typ)]
    if typ == "object":
        return p
    cls = getattr(models, typ, None)
    if cls is None:
        return ["%s: unknown model %s" % (path, typ)]
    if not isinstance(data, dict):
        return ["%s: %r is not a %s object" % (path, data, typ)]
    by_json = {v: k for k, v in cls.attribute_map.items()}
    for k, v in data.items():
        if k not in by_json:
            p.append("%s: unknown field %r of %s" % (path, k, typ))
            continue
        p += schema_problems(v, cls.openapi_types[by_json[k]], "%s.%s" % (path, k))
    return p


def model_name(doc):
    group_version = doc.get("apiVersion", "")
    version = group_version.split("/")[-1]
    return version[0].upper() + version[1:] + doc.get("kind", "")


def k8s_checks(src, resolver):
    k8s = os.path.join(src, "docker/k8s")
    files = sorted(
        os.path.relpath(os.path.join(d, f), k8s) for d, _, fs in os.walk(k8s) for f in fs if f.endswith((".yaml", ".yml"))
    )
    docs = {}

    def c_parse():
        p = []
        for f in files:
            try:
                ds = [d for d in yaml.safe_load_all(open(os.path.join(k8s, f))) if d is not None]
            except yaml.YAMLError as e:
                p.append("%s: %s" % (f, e))
                continue
            for d in ds:
                if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind"):
                    p.append("%s: a document without apiVersion/kind" % f)
                elif d["kind"] != "Kustomization" and not d.get("metadata", {}).get("name"):
                    p.append("%s: %s without metadata.name" % (f, d["kind"]))
            docs[f] = ds
        if not files:
            p.append("no manifests")
        return p

    guarded("k8s: every manifest parses (%d files)" % len(files), c_parse)

    def objs(kind):
        return [d for ds in docs.values() for d in ds if d.get("kind") == kind]

    def one(kind, name=None):
        found = [d for d in objs(kind) if name is None or d["metadata"]["name"] == name]
        if len(found) != 1:
            raise AssertionError("%d %s objects%s" % (len(found), kind, " named " + name if name else ""))
        return found[0]

    def c_schema():
        p = []
        try:
            import kubernetes.client  # noqa: F401
        except ImportError:
            return ["python3-kubernetes is not installed"]
        from kubernetes.client import ApiClient

        client = ApiClient()
        for f, ds in docs.items():
            for d in ds:
                if d["kind"] == "Kustomization":
                    continue
                name = "%s %s/%s" % (f, d["kind"], d.get("metadata", {}).get("name"))
                p += ["%s: %s" % (name, x) for x in schema_problems(d, model_name(d), "")]
                try:  # required fields: the models raise ValueError for them
                    client._ApiClient__deserialize(d, model_name(d))
                except (ValueError, TypeError) as e:
                    p.append("%s: %s" % (name, e))
        return p

    def c_kustomization():
        k = one("Kustomization")
        res = k.get("resources", [])
        p = ["kustomization: %s missing" % r for r in res if not os.path.exists(os.path.join(k8s, r))]
        want = {f for f in files if f != "kustomization.yaml" and not f.startswith("coredns/")}
        p += ["kustomization does not list %s" % f for f in sorted(want - set(res))]
        return p

    def ds():
        return one("DaemonSet")

    def containers():
        return {c["name"]: c for c in ds()["spec"]["template"]["spec"]["containers"]}

    def resolver_conf():
        cm = one("ConfigMap", "loki-egress")
        return cm["data"]["loki-resolver.conf"]

    def conf_value(key):
        m = re.findall(r"^\s*%s\s*=\s*(\S+)" % key, resolver_conf(), re.M)
        return m[-1] if m else None

    def c_daemonset():
        p = []
        spec = ds()["spec"]["template"]["spec"]
        expect(p, "hostNetwork", spec.get("hostNetwork"), True)
        expect(p, "dnsPolicy", spec.get("dnsPolicy"), "Default")
        expect(p, "containers", sorted(containers()), ["fwsync", "resolver"])
        sel = ds()["spec"]["selector"]["matchLabels"]
        labels = ds()["spec"]["template"]["metadata"]["labels"]
        if any(labels.get(k) != v for k, v in sel.items()):
            p.append("selector %r does not match the pod labels %r" % (sel, labels))
        return p

    def c_pod_sc():
        p = []
        expect(p, "pod securityContext", ds()["spec"]["template"]["spec"].get("securityContext"), POD_SECURITY_CONTEXT)
        return p

    def c_container_sc():
        p = []
        for name, cap in (("resolver", "NET_BIND_SERVICE"), ("fwsync", "NET_ADMIN")):
            want = dict(SECURITY_CONTEXT, capabilities={"drop": ["ALL"], "add": [cap]})
            expect(p, name + " securityContext", containers()[name].get("securityContext"), want)
        return p

    def c_probes():
        p = []
        ml = conf_value("metrics_listen")
        if not ml:
            return ["the ConfigMap's resolver config has no metrics_listen"]
        host, port = ml.rsplit(":", 1)
        c = containers()["resolver"]
        for probe in ("livenessProbe", "readinessProbe"):
            g = c.get(probe, {}).get("httpGet", {})
            expect(p, probe + " path", g.get("path"), "/health")
            expect(p, probe + " port", g.get("port"), int(port))
            expect(p, probe + " host", g.get("host", "POD_IP"), host)
        return p

    def c_resources():
        p = []
        for name, c in containers().items():
            r = c.get("resources", {})
            for kind in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if res not in r.get(kind, {}):
                        p.append("%s: no %s.%s" % (name, kind, res))
        return p

    def c_socket():
        p = []
        sock = conf_value("fwsync_socket")
        cs = containers()
        vols = {v["name"]: v for v in ds()["spec"]["template"]["spec"].get("volumes", [])}
        sockdir = os.path.dirname(sock or "")
        mounts = {}
        for name, c in cs.items():
            m = [vm["name"] for vm in c.get("volumeMounts", []) if vm["mountPath"] == sockdir]
            mounts[name] = m[0] if m else None
        if not mounts["resolver"] or mounts["resolver"] != mounts["fwsync"]:
            p.append("resolver and fwsync do not mount one volume at %s: %r" % (sockdir, mounts))
        elif "emptyDir" not in vols.get(mounts["resolver"], {}):
            p.append("the socket volume is not an emptyDir")
        args = cs["fwsync"].get("args", [])
        expect(p, "fwsync --socket", args[args.index("--socket") + 1] if "--socket" in args else "/run/loki/fwsync.sock", sock)
        rs = [a for a in cs["fwsync"].get("args", []) if a.endswith(".nft")]
        cm_mounts = [vm["mountPath"] for vm in cs["fwsync"]["volumeMounts"] if "configMap" in vols.get(vm["name"], {})]
        if not rs or not any(rs[0] == os.path.join(m, "loki-egress.nft") for m in cm_mounts):
            p.append("fwsync --install-ruleset %r is not the ConfigMap's loki-egress.nft" % rs)
        for c in cs.values():
            if c.get("image") != cs["resolver"].get("image"):
                p.append("the containers use different images")
        return p

    def c_configmap_nft():
        cm = one("ConfigMap", "loki-egress")
        text = cm["data"]["loki-egress.nft"]
        p = nft_check(text, "configmap loki-egress.nft")
        wl = nft_chain(text, "workload") or []
        for rule in ("ip daddr 169.254.169.254 drop", "ip daddr @allow4 tcp dport 443 accept",
                     "ip6 daddr @allow6 tcp dport 443 accept", "drop"):
            if rule not in wl:
                p.append("chain workload lacks %r" % rule)
        if wl and wl[-1] != "drop":
            p.append("chain workload does not end with drop")
        return p

    def c_configmap_conf():
        if not resolver:
            return None
        cm = one("ConfigMap", "loki-egress")
        with tempfile.TemporaryDirectory() as d:
            conf = cm["data"]["loki-resolver.conf"]
            for k, v in cm["data"].items():
                open(os.path.join(d, k), "w").write(v)
                conf = conf.replace("/etc/loki-egress/" + k, os.path.join(d, k))
            open(os.path.join(d, "loki-resolver.conf"), "w").write(conf)
            pr = subprocess.run(
                [resolver, "-c", os.path.join(d, "loki-resolver.conf"), "--upstream", "192.0.2.1", "--check-config"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30, env={"PATH": os.environ.get("PATH", "")},
            )
            out = pr.stdout.decode(errors="replace")
            p = [] if pr.returncode == 0 else ["--check-config exit %d: %s" % (pr.returncode, out)]
            if "egress_policy = ai-only" not in out or "block_metadata_endpoint = true" not in out:
                p.append("not ai-only with the metadata block: %s" % out)
            return p

    def c_service():
        p = []
        svc = one("Service", "loki-resolver")
        spec = svc["spec"]
        expect(p, "internalTrafficPolicy", spec.get("internalTrafficPolicy"), "Local")
        labels = ds()["spec"]["template"]["metadata"]["labels"]
        if any(labels.get(k) != v for k, v in spec.get("selector", {}).items()) or not spec.get("selector"):
            p.append("selector %r does not select the DaemonSet's pods" % spec.get("selector"))
        expect(p, "ports", sorted((x["protocol"], x["port"], x.get("targetPort")) for x in spec["ports"]), [("TCP", 53, 53), ("UDP", 53, 53)])
        return p

    def c_addresses():
        p = []
        ip = one("Service", "loki-resolver")["spec"].get("clusterIP")
        np_ = one("NetworkPolicy")
        blocks = [t["ipBlock"]["cidr"] for r in np_["spec"]["egress"] for t in r.get("to", []) if "ipBlock" in t]
        if "%s/32" % ip not in blocks:
            p.append("NetworkPolicy does not allow the Service address %s" % ip)
        cm = one("ConfigMap", "coredns")
        fwd = re.findall(r"forward\s+\.\s+(\S+)", cm["data"]["Corefile"])
        if ip not in fwd:
            p.append("the Corefile does not forward to %s: %r" % (ip, fwd))
        nodes = nft_defines(one("ConfigMap", "loki-egress")["data"]["loki-egress.nft"]).get("NODES4")
        if nodes not in blocks:
            p.append("NetworkPolicy does not allow the nodes' network NODES4=%s (the Service endpoints)" % nodes)
        readme = open(os.path.join(k8s, "README.md")).read()
        if ip not in readme:
            p.append("README.md does not name %s" % ip)
        zones = re.search(r"^\s*([a-z0-9.\- ]+)\s*\{\s*$", cm["data"]["Corefile"], re.M)
        if not zones or "api.anthropic.com" not in zones.group(1).split():
            p.append("the Corefile's first server block is not the allowlist block")
        return p

    def c_networkpolicy():
        p = []
        np_ = one("NetworkPolicy")
        spec = np_["spec"]
        expect(p, "policyTypes", spec.get("policyTypes"), ["Egress"])
        dns_ok = https_ok = False
        for r in spec.get("egress", []):
            ports = sorted((x.get("protocol", "TCP"), x.get("port")) for x in r.get("ports", []))
            if ports == [("TCP", 53), ("UDP", 53)] and r.get("to"):
                dns_ok = True
            elif ports == [("TCP", 443)] and not r.get("to"):
                https_ok = True
            else:
                p.append("unexpected egress rule %r" % r)
        if not dns_ok:
            p.append("no DNS rule (UDP+TCP 53 to listed peers)")
        if not https_ok:
            p.append("no TCP 443 rule to anywhere")
        peers = [t for r in spec.get("egress", []) for t in r.get("to", [])]
        if not any(t.get("podSelector", {}).get("matchLabels", {}).get("k8s-app") == "kube-dns" for t in peers):
            p.append("CoreDNS (k8s-app: kube-dns) not among the DNS peers")
        return p

    def c_namespaces():
        p = []
        for d in objs("Namespace"):
            if "pod-security.kubernetes.io/enforce" not in d["metadata"].get("labels", {}):
                p.append("namespace %s without a Pod Security label" % d["metadata"]["name"])
        names = {d["metadata"]["name"] for d in objs("Namespace")}
        for f, ds_ in docs.items():
            for d in ds_:
                ns = d.get("metadata", {}).get("namespace")
                if ns and ns not in names and ns != "kube-system":
                    p.append("%s: namespace %s not created" % (f, ns))
        return p

    guarded("k8s: every field is in the Kubernetes API (python3-kubernetes models)", c_schema)
    guarded("k8s: kustomization lists every manifest", c_kustomization)
    guarded("k8s: DaemonSet hostNetwork, containers resolver and fwsync", c_daemonset)
    guarded("k8s: pod securityContext exactly as required", c_pod_sc)
    guarded("k8s: container securityContexts exactly as required (one capability each)", c_container_sc)
    guarded("k8s: liveness/readiness probes on metrics_listen /health", c_probes)
    guarded("k8s: resource requests and limits on both containers", c_resources)
    guarded("k8s: socket shared through an emptyDir, ruleset from the ConfigMap", c_socket)
    guarded("k8s: ConfigMap ruleset passes nft -c and drops all but 443 to the sets", c_configmap_nft)
    if resolver:
        guarded("k8s: ConfigMap resolver configuration passes --check-config", c_configmap_conf)
    else:
        print("SKIP: k8s: ConfigMap resolver configuration (no built resolver given)")
    guarded("k8s: Service node-local (internalTrafficPolicy Local), selects the DaemonSet", c_service)
    guarded("k8s: Service address agrees with the NetworkPolicy, the Corefile and README", c_addresses)
    guarded("k8s: NetworkPolicy allows DNS to the resolver/CoreDNS and TCP 443 only", c_networkpolicy)
    guarded("k8s: namespaces exist and carry Pod Security labels", c_namespaces)


def main():
    if len(sys.argv) not in (3, 5):
        print(__doc__, file=sys.stderr)
        return 2
    src, compose_config = sys.argv[1], sys.argv[2]
    resolver, fwsync = (sys.argv[3], sys.argv[4]) if len(sys.argv) == 5 else (None, None)
    compose_checks(src, compose_config)
    dockerfile_checks(src, resolver, fwsync)
    k8s_checks(src, resolver)
    return 1 if any(p for _, p in RESULTS) else 0


if __name__ == "__main__":
    sys.exit(main())
