"""Command line, configuration layering and --check-config (DESIGN.md)."""
import os
import subprocess
import tempfile

from conftest import RESOLVER


def run(args, env=None, timeout=10):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    e.update(env or {})
    return subprocess.run([RESOLVER] + args, env=e, capture_output=True, text=True,
                          timeout=timeout)


def write(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    f.write(text)
    f.close()
    return f.name


def test_version():
    r = run(["--version"])
    assert r.returncode == 0
    assert r.stdout.startswith("loki-resolver ")


def test_help_documents_every_option():
    r = run(["--help"])
    assert r.returncode == 0
    for opt in ("-c", "--listen", "--upstream", "--fwsync-socket", "--metrics",
                "--foreground", "--check-config", "--version", "--help",
                "LOKI_NETWORK_EGRESS_POLICY", "LOKI_ALLOWED_HOSTS",
                "LOKI_BLOCK_METADATA_ENDPOINT"):
        assert opt in r.stdout, opt


def test_unknown_option_exits_2():
    r = run(["--no-such-option"])
    assert r.returncode == 2
    assert "--no-such-option" in r.stderr


def test_check_config_valid_file():
    path = write("listen = 127.0.0.1:5399\nupstream = 127.0.0.1:5300\n"
                 "egress_policy = ai-only\nallowed_hosts = *.example.com, www.example.org\n")
    r = run(["-c", path, "--check-config"])
    assert r.returncode == 0, r.stderr
    assert "ai-only" in r.stdout
    # three built-in names + two allowed hosts
    assert "5 allowlist entries" in r.stdout


def test_check_config_unknown_key_names_file_line_key():
    path = write("# comment\nlisten = 127.0.0.1:5399\nupstream = 127.0.0.1:5300\nbogus_key = 1\n")
    r = run(["-c", path, "--check-config"])
    assert r.returncode == 2
    assert f"{path}:4:" in r.stderr and "bogus_key" in r.stderr


def test_check_config_bad_value():
    path = write("upstream = 127.0.0.1:5300\nblocked_ttl = forty\n")
    r = run(["-c", path, "--check-config"])
    assert r.returncode == 2
    assert f"{path}:2:" in r.stderr and "blocked_ttl" in r.stderr


def test_unreadable_config_file():
    r = run(["-c", "/nonexistent/loki.conf", "--check-config"])
    assert r.returncode == 2
    assert "/nonexistent/loki.conf" in r.stderr


def test_bad_environment_value():
    r = run(["--upstream", "127.0.0.1:5300", "--check-config"],
            env={"LOKI_NETWORK_EGRESS_POLICY": "sometimes"})
    assert r.returncode == 2
    assert "LOKI_NETWORK_EGRESS_POLICY" in r.stderr


def test_bad_allowed_host():
    r = run(["--upstream", "127.0.0.1:5300", "--check-config"],
            env={"LOKI_ALLOWED_HOSTS": "good.example.com,bad..name"})
    assert r.returncode == 2
    assert "LOKI_ALLOWED_HOSTS" in r.stderr


def test_layers_env_over_file_argv_over_env():
    path = write("upstream = 127.0.0.1:5300\nlisten = 127.0.0.1:5001\n"
                 "egress_policy = none\nblocked_ttl = 10\n")
    r = run(["-c", path, "--check-config"],
            env={"LOKI_NETWORK_EGRESS_POLICY": "ai-only", "LOKI_LISTEN": "127.0.0.1:5002"})
    assert r.returncode == 0, r.stderr
    assert "egress_policy = ai-only" in r.stdout
    assert "listen = 127.0.0.1:5002" in r.stdout
    assert "listen = 127.0.0.1:5001" not in r.stdout
    assert "blocked_ttl = 10" in r.stdout
    r = run(["-c", path, "--listen", "[::1]:5003", "--check-config"],
            env={"LOKI_LISTEN": "127.0.0.1:5002"})
    assert r.returncode == 0, r.stderr
    assert "listen = [::1]:5003" in r.stdout
    assert "5002" not in r.stdout


def test_example_config_is_valid():
    src = os.environ.get("LOKI_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    r = run(["-c", os.path.join(src, "conf", "loki-resolver.conf"), "--upstream",
             "127.0.0.1:5300", "--check-config"])
    assert r.returncode == 0, r.stderr


def test_bad_zone_file_exits_2():
    z = write("$ORIGIN allow.rpz.\n@ SOA a. b. 1 1 1 1 1\nwww.example.com A 192.0.2.1\n")
    r = run(["--upstream", "127.0.0.1:5300", "--check-config"], env={"LOKI_ZONE": z})
    assert r.returncode == 2
    assert z in r.stderr and ":3" in r.stderr


def test_listen_bind_failure_exits_1():
    # 192.0.2.1 is not configured on this machine: bind fails clearly.
    r = run(["--listen", "192.0.2.1:53", "--upstream", "127.0.0.1:5300"])
    assert r.returncode == 1
    assert "192.0.2.1:53" in r.stderr
