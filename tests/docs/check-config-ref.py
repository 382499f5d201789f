#!/usr/bin/env python3
"""The configuration reference cannot drift from the code.

Takes the truth from the code itself:
  * loki-resolver's keys and their environment variables from the key table
    of resolver/config.c (and the second names of its env_aliases table),
    cross-checked with the keys the built binary prints under --check-config;
  * loki-resolver's options from its --help and the long_opts table of
    resolver/config.c; loki-fwsync's from its --help and the longopts table
    of fwsync/main.c;
and checks, both ways, that
  * every key appears with its variables in README.md's "Configuration
    reference" table and in man/loki-resolver.8 (CONFIGURATION and
    ENVIRONMENT), and that these documents name no key or LOKI_ variable the
    code does not know;
  * every option appears in the OPTIONS section of the program's man page
    (and, for loki-fwsync, in README.md's option table), and no documented
    option is unknown to the code.

Each problem is one "FAIL: ..." line naming the key, variable or option and
the file; exit status 1 if there is any, 0 otherwise (automake test
protocol). Environment: LOKI_SRCDIR (default: two levels above this file),
LOKI_RESOLVER and LOKI_FWSYNC (the built binaries; default
./resolver/loki-resolver and ./fwsync/loki-fwsync).
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("LOKI_SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
RESOLVER = os.environ.get("LOKI_RESOLVER") or "./resolver/loki-resolver"
FWSYNC = os.environ.get("LOKI_FWSYNC") or "./fwsync/loki-fwsync"

failures = []
passes = 0


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def ok(msg):
    global passes
    passes += 1
    print("PASS: " + msg)


def read(rel):
    with open(os.path.join(SRCDIR, rel), encoding="utf-8") as f:
        return f.read()


def run(argv, env=None):
    """stdout of argv; a program that cannot run is a failure, not a skip."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
    except OSError as e:
        fail("cannot run %s: %s (build it first, or set LOKI_RESOLVER/LOKI_FWSYNC)" % (argv[0], e))
        return None
    if p.returncode != 0:
        fail("%s exited %d: %s" % (" ".join(argv), p.returncode, p.stderr.strip()[:300]))
        return None
    return p.stdout


# ------------------------------------------------------------------ the code

def code_keys():
    """[(key, env)] from the key table of resolver/config.c, in order."""
    src = read("resolver/config.c")
    m = re.search(r"static const struct key_def keys\[[^]]*\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if not m:
        fail("resolver/config.c: key table `static const struct key_def keys[]` not found")
        return []
    pairs = re.findall(r'\[KEY_[A-Z0-9_]+\]\s*=\s*\{\s*"([a-z0-9_]+)"\s*,\s*"([A-Z0-9_]+)"', m.group(1))
    if not pairs:
        fail("resolver/config.c: no entry parsed from the key table")
    return pairs


def code_aliases(keys):
    """{key: [second variable, ...]} from the env_aliases table of resolver/config.c."""
    src = read("resolver/config.c")
    ids = {}
    for m in re.finditer(r'\[(KEY_[A-Z0-9_]+)\]\s*=\s*\{\s*"([a-z0-9_]+)"', src):
        ids[m.group(1)] = m.group(2)
    out = {}
    m = re.search(r"\}\s*env_aliases\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if m:
        for kid, env in re.findall(r'\{\s*(KEY_[A-Z0-9_]+)\s*,\s*"([A-Z0-9_]+)"\s*\}', m.group(1)):
            if kid not in ids:
                fail("resolver/config.c: env_aliases names %s, not in the key table" % kid)
                continue
            out.setdefault(ids[kid], []).append(env)
    return out


def binary_keys():
    """Key names printed by loki-resolver --check-config (set or unset)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKI_")}
    # An upstream of our own, so that /etc/resolv.conf plays no part;
    # --check-config sends nothing.
    env["LOKI_UPSTREAM"] = "192.0.2.1"
    out = run([RESOLVER, "--check-config"], env)
    if out is None:
        return None
    keys = []
    for line in out.splitlines():
        m = re.match(r"^([a-z0-9_]+) = ", line) or re.match(r"^# ([a-z0-9_]+): ", line)
        if m and m.group(1) not in keys:
            keys.append(m.group(1))
    return keys


def help_options(prog):
    """Long options (and -c style short ones) listed in the Options part of --help."""
    out = run([prog, "--help"])
    if out is None:
        return None
    opts = set()
    for line in out.splitlines():
        m = re.match(r"^\s{2,}(?:(-[a-zA-Z]),\s+)?(--[a-z0-9-]+)", line)
        if m:
            opts.add(m.group(2))
    return opts


def table_options(rel, table_re):
    """Long option names of a getopt_long `struct option` table in a C file."""
    src = read(rel)
    m = re.search(table_re + r"\s*=\s*\{(.*?)\n\s*\};", src, re.S)
    if not m:
        fail("%s: option table not found" % rel)
        return set()
    return {"--" + n for n in re.findall(r'\{\s*"([a-z0-9-]+)"\s*,', m.group(1))}


# ------------------------------------------------------------------ the documents

def md_section(text, title):
    m = re.search(r"^## " + re.escape(title) + r"\s*$(.*?)(?=^## |\Z)", text, re.S | re.M)
    return m.group(1) if m else None


def md_table_rows(section):
    """The cells of every table row of a Markdown section, header excluded."""
    rows = []
    for line in section.splitlines():
        line = line.strip()
        if not line.startswith("|") or re.match(r"^\|[\s:|-]+\|$", line):
            continue
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[1:] if rows else rows


def roff_sections(text):
    """{SECTION NAME: source text} of a man(7) page."""
    parts = {}
    name = None
    for line in text.splitlines():
        m = re.match(r'^\.SH\s+"?([^"]+?)"?\s*$', line)
        if m:
            name = m.group(1)
            parts[name] = ""
        elif name is not None:
            parts[name] += line + "\n"
    return parts


def roff_plain(s):
    """Roff escapes that matter for names: \\- is '-', \\& and fonts vanish."""
    s = s.replace("\\-", "-").replace("\\&", "")
    return re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]", "", s)


def roff_items(section):
    """[(tag line, body)] of the .TP items of a section."""
    items = []
    lines = section.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith(".TP") and i + 1 < len(lines):
            tag = roff_plain(lines[i + 1])
            body = []
            j = i + 2
            while j < len(lines) and not re.match(r"^\.(TP|PP|SH|SS)\b", lines[j]):
                body.append(lines[j])
                j += 1
            items.append((tag, roff_plain("\n".join(body))))
            i = j
        else:
            i += 1
    return items


def tag_options(tag):
    return set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*|-[a-zA-Z])(?![\w-])", tag))


# ------------------------------------------------------------------ checks

def check_keys(keys):
    names = [k for k, _ in keys]
    by_name = dict(keys)
    aliases = code_aliases(keys)
    # Every variable a key is read from: its own, then its second names.
    env_of = {k: [e] + aliases.get(k, []) for k, e in keys}
    envs = {e for k in names for e in env_of[k]}

    bkeys = binary_keys()
    if bkeys is not None:
        missing = [k for k in names if k not in bkeys]
        extra = [k for k in bkeys if k not in names]
        for k in missing:
            fail("key %s is in resolver/config.c's table but loki-resolver --check-config "
                 "does not print it" % k)
        for k in extra:
            fail("loki-resolver --check-config prints key %s, which resolver/config.c's "
                 "table does not have" % k)
        if not missing and not extra:
            ok("resolver/config.c's key table and --check-config agree (%d keys)" % len(names))

    # README.md, "Configuration reference": | `key`* | `LOKI_VAR` | default | meaning |
    readme = read("README.md")
    sec = md_section(readme, "Configuration reference")
    if sec is None:
        fail("README.md: no '## Configuration reference' section")
    else:
        doc = {}
        for cells in md_table_rows(sec):
            if len(cells) < 2:
                continue
            for k in re.findall(r"`([a-z0-9_]+)`", cells[0]):
                doc[k] = set(re.findall(r"LOKI_[A-Z0-9_]+", cells[1]))
        bad = 0
        for k in names:
            if k not in doc:
                fail("key %s (%s) is missing from README.md's Configuration reference table"
                     % (k, by_name[k]))
                bad += 1
            else:
                for e in env_of[k]:
                    if e not in doc[k]:
                        fail("README.md's Configuration reference: key %s lacks its variable "
                             "%s (documented: %s)" % (k, e, ", ".join(sorted(doc[k])) or "none"))
                        bad += 1
        for k in doc:
            if k not in by_name:
                fail("README.md's Configuration reference documents key %s, which "
                     "resolver/config.c does not know" % k)
                bad += 1
        for e in sorted(set(re.findall(r"LOKI_[A-Z0-9_]+", sec)) - envs):
            fail("README.md's Configuration reference names %s, which no key of "
                 "resolver/config.c reads" % e)
            bad += 1
        if not bad:
            ok("README.md's Configuration reference: %d keys with their variables, "
               "nothing unknown" % len(names))

    # man/loki-resolver.8, CONFIGURATION and ENVIRONMENT.
    man = read("man/loki-resolver.8")
    secs = roff_sections(man)
    conf = secs.get("CONFIGURATION")
    if conf is None:
        fail("man/loki-resolver.8: no CONFIGURATION section")
    else:
        doc = {}
        for tag, body in roff_items(conf):
            m = re.match(r'^\.BI?\s+"?([a-z0-9_]+) = ', tag)
            if m:
                doc[m.group(1)] = set(re.findall(r"LOKI_[A-Z0-9_]+", body))
        bad = 0
        for k in names:
            if k not in doc:
                fail("key %s (%s) is missing from man/loki-resolver.8, CONFIGURATION"
                     % (k, by_name[k]))
                bad += 1
            else:
                for e in env_of[k]:
                    if e not in doc[k]:
                        fail("man/loki-resolver.8, CONFIGURATION: key %s lacks its variable %s"
                             % (k, e))
                        bad += 1
        for k in doc:
            if k not in by_name:
                fail("man/loki-resolver.8, CONFIGURATION documents key %s, which "
                     "resolver/config.c does not know" % k)
                bad += 1
        if not bad:
            ok("man/loki-resolver.8 CONFIGURATION: %d keys with their variables, "
               "nothing unknown" % len(names))
    envsec = secs.get("ENVIRONMENT")
    if envsec is None:
        fail("man/loki-resolver.8: no ENVIRONMENT section")
    else:
        listed = set(re.findall(r"LOKI_[A-Z0-9_]+", envsec))
        bad = 0
        for k in names:
            for e in env_of[k]:
                if e not in listed:
                    fail("variable %s (key %s) is missing from man/loki-resolver.8, ENVIRONMENT"
                         % (e, k))
                    bad += 1
        if not bad:
            ok("man/loki-resolver.8 ENVIRONMENT names all %d variables" % len(envs))
    bad = 0
    for e in sorted(set(re.findall(r"LOKI_[A-Z0-9_]+", man)) - envs):
        fail("man/loki-resolver.8 names %s, which no key of resolver/config.c reads" % e)
        bad += 1
    if not bad:
        ok("man/loki-resolver.8 names no unknown LOKI_ variable")
    # The seed variables are the contract: each must be a key's variable.
    for e in ("LOKI_NETWORK_EGRESS_POLICY", "LOKI_ALLOWED_HOSTS", "LOKI_BLOCK_METADATA_ENDPOINT"):
        if e not in envs:
            fail("seed variable %s is read by no key of resolver/config.c" % e)


def check_options(prog, page, code_opts, readme_opts=None):
    name = os.path.basename(page)[:-2]
    helped = help_options(prog)
    if helped is not None:
        for o in sorted(code_opts - helped):
            fail("%s: option %s is in the code's option table but not in --help" % (name, o))
        for o in sorted(helped - code_opts):
            fail("%s: --help lists %s, which the code's option table does not have"
                 % (name, o))
        if helped == code_opts:
            ok("%s: --help and the option table agree (%d options)" % (name, len(code_opts)))
    secs = roff_sections(read(page))
    opts = secs.get("OPTIONS")
    if opts is None:
        fail("%s: no OPTIONS section" % page)
        return
    doc = set()
    for tag, _ in roff_items(opts):
        doc |= tag_options(tag)
    known = code_opts | {"-c", "-h"} if name == "loki-resolver" else code_opts
    bad = 0
    for o in sorted(code_opts):
        if o not in doc:
            fail("option %s is missing from %s, OPTIONS" % (o, page))
            bad += 1
    for o in sorted(doc - known):
        fail("%s, OPTIONS documents %s, which %s does not know" % (page, o, name))
        bad += 1
    synopsis = roff_plain(secs.get("SYNOPSIS", ""))
    for o in sorted(set(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", synopsis)) - known):
        fail("%s, SYNOPSIS shows %s, which %s does not know" % (page, o, name))
        bad += 1
    if not bad:
        ok("%s OPTIONS: all %d options, nothing unknown" % (page, len(code_opts)))
    if readme_opts is not None:
        bad = 0
        for o in sorted(code_opts):
            if o not in readme_opts:
                fail("option %s of %s is missing from README.md's option table" % (o, name))
                bad += 1
        for o in sorted(readme_opts - code_opts):
            fail("README.md's %s option table documents %s, which %s does not know"
                 % (name, o, name))
            bad += 1
        if not bad:
            ok("README.md's %s option table: all %d options, nothing unknown"
               % (name, len(code_opts)))


def readme_fwsync_options():
    sec = md_section(read("README.md"), "loki-fwsync")
    if sec is None:
        fail("README.md: no '## loki-fwsync' section")
        return set()
    opts = set()
    for cells in md_table_rows(sec):
        opts |= set(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", cells[0]))
    return opts


def check_lint(page):
    """The page renders without a warning: mandoc -Tlint, else groff -ww."""
    path = os.path.join(SRCDIR, page)
    for argv in (["mandoc", "-Tlint", "-W", "warning", path],
                 ["groff", "-man", "-ww", "-z", path]):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        out = (p.stdout + p.stderr).strip()
        if p.returncode == 0 and not out:
            ok("%s: %s reports nothing" % (page, argv[0]))
        else:
            fail("%s: %s: %s" % (page, " ".join(argv[:-1]), out[:500]))
        return
    print("SKIP: %s: neither mandoc nor groff found, not linted" % page)


def main():
    print("# srcdir %s, resolver %s, fwsync %s" % (SRCDIR, RESOLVER, FWSYNC))
    check_lint("man/loki-resolver.8")
    check_lint("man/loki-fwsync.8")
    keys = code_keys()
    if keys:
        check_keys(keys)
    check_options(RESOLVER, "man/loki-resolver.8",
                  table_options("resolver/config.c", r"static const struct option long_opts\[\]"))
    check_options(FWSYNC, "man/loki-fwsync.8",
                  table_options("fwsync/main.c", r"static const struct option longopts\[\]"),
                  readme_fwsync_options())
    print("%d passed, %d failed" % (passes, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
