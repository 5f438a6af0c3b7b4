"""analyzer.sources.docker through a REAL ``ssh://`` engine.

``.ci/services-up.sh`` runs an sshd on 127.0.0.1:2222 whose sessions get
``DOCKER_HOST=<the private dockerd>`` (``SetEnv`` in its sshd_config), so
``ssh://root@127.0.0.1:2222`` reaches the same engine as the unix socket, through a real
SSH login (paramiko, the ``docker[ssh]`` extra) and the real ``docker system dial-stdio``.
It writes ``NMA_SSH_ENGINE``, ``NMA_SSH_KEY`` and ``NMA_SSH_KNOWN_HOSTS`` to ``$CI_RUN/env``.

Each test points ``HOME`` at a directory of its own holding ``.ssh/config`` (``IdentityFile``)
and ``.ssh/known_hosts`` -- what an operator writes once per remote host (see the module
docstring of analyzer.sources.docker) -- so the real ``~/.ssh`` is never read or written.

The Kolla-named containers (``nova_compute``...) are made on the private dockerd under the
lock that tests/sources/test_docker.py also takes (same names, same engine).
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import pytest

from analyzer.records import LogSource, Problem, SourceKind
from analyzer.sources.docker import docker_sources

# the same Kolla log lines as the unix-socket tests (rendered from the templates of
# /work/shared/notes/messages.md §1; the nova-compute log ends in a non-UTF-8 byte)
from tests.sources.test_docker import IMAGE, LIBVIRTD_LOG, NOVA_COMPUTE_LOG, QEMU_LOG

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("nova_compute", "nova_libvirt", "nova_conductor")
VOLUME = "nma_test_ssh_kolla_logs"
SSHD = "/usr/sbin/sshd"


NOVA_COMPUTE_LOG_1 = b"2026-01-01 12:00:00.000 1234 INFO nova.compute.manager [-] rotated and compressed\n" * 40
#: path under the kolla_logs volume -> (bytes stored, bytes read back, kind)
FILES: dict[str, tuple[bytes, bytes, SourceKind]] = {
    "nova/nova-compute.log": (NOVA_COMPUTE_LOG, NOVA_COMPUTE_LOG, SourceKind.NOVA_COMPUTE),
    "nova/nova-compute.log.1.gz": (gzip.compress(NOVA_COMPUTE_LOG_1), NOVA_COMPUTE_LOG_1, SourceKind.NOVA_COMPUTE),
    "libvirt/libvirtd.log": (LIBVIRTD_LOG, LIBVIRTD_LOG, SourceKind.LIBVIRTD),
    "libvirt/qemu/instance-0000002a.log": (QEMU_LOG, QEMU_LOG, SourceKind.QEMU),
}
#: nova_compute's stdout/stderr: two bursts 0.4 s apart, to cut a time window between them
STDOUT_SCRIPT = ('echo "early out"; echo "early err" >&2; sleep 0.4; '
                 'echo "late out"; echo "late err" >&2; exec sleep 600')


# ----------------------------------------------------------------------------- ssh side


def _fail_not_up(detail: str) -> NoReturn:
    if os.environ.get("NMA_NO_SERVICES") == "1":
        pytest.skip(f"ssh engine not available ({detail}); NMA_NO_SERVICES=1")
    pytest.fail(f"the ssh engine is not up ({detail}): run .ci/services-up.sh first "
                f"(or set NMA_NO_SERVICES=1 to skip these tests)", pytrace=False)


def _banner(host: str, port: int) -> bytes:
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.settimeout(2)
            return s.recv(64)
    except OSError:
        return b""


@pytest.fixture(scope="session")
def ssh_engine(services_env: Mapping[str, str]) -> dict[str, str]:
    """``{"url", "key", "known_hosts", "port"}`` of the loopback sshd that reaches the private dockerd."""
    env = {k: os.environ.get(k) or services_env.get(k, "")
           for k in ("NMA_SSH_ENGINE", "NMA_SSH_KEY", "NMA_SSH_KNOWN_HOSTS")}
    url, key, known = env["NMA_SSH_ENGINE"], env["NMA_SSH_KEY"], env["NMA_SSH_KNOWN_HOSTS"]
    if not (url and os.path.isfile(key) and os.path.isfile(known)):
        _fail_not_up(f"NMA_SSH_ENGINE={url!r}, NMA_SSH_KEY={key!r}, NMA_SSH_KNOWN_HOSTS={known!r}")
    assert url.startswith("ssh://root@127.0.0.1:"), url
    if not _banner("127.0.0.1", int(url.rsplit(":", 1)[1])).startswith(b"SSH-"):
        _fail_not_up(f"no SSH server answers at {url}")
    try:
        import paramiko  # noqa: F401
    except ImportError:
        pytest.fail("paramiko is missing: ssh:// engines need docker[ssh] (pip install -e '.[test]')",
                    pytrace=False)
    return {"url": url, "key": key, "known_hosts": known, "port": url.rsplit(":", 1)[1]}


def _make_home(home: Path, key: str, known_hosts: str) -> Path:
    """What an operator sets up: ``~/.ssh/config`` naming the key, ``~/.ssh/known_hosts``."""
    ssh = home / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    (ssh / "config").write_text(f"Host 127.0.0.1\n    User root\n    IdentityFile {key}\n")
    (ssh / "known_hosts").write_text(known_hosts)
    return home


@pytest.fixture()
def ssh_home(ssh_engine: Mapping[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME with the CI client key and the server's host key; no ssh-agent."""
    home = _make_home(tmp_path / "home", ssh_engine["key"], Path(ssh_engine["known_hosts"]).read_text())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)  # only the configured key may log in
    return home


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nma-test", "-f", str(path)],
                   check=True, capture_output=True, timeout=10)
    return str(path)


# ----------------------------------------------------------------------------- containers


def _tar(files: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _remove(client: Any) -> None:
    import docker

    for n in NAMES:
        try:
            client.containers.get(n).remove(force=True, v=False)
        except docker.errors.NotFound:
            pass
    try:
        client.volumes.get(VOLUME).remove(force=True)
    except docker.errors.NotFound:
        pass


def _parse_ts(stamp: bytes) -> float:
    base, _, frac = stamp.decode().rstrip("Z").partition(".")
    return datetime.fromisoformat(base).replace(tzinfo=timezone.utc).timestamp() + int((frac + "000000")[:6]) / 1e6


@pytest.fixture(scope="module")
def kolla(docker_client: Any, docker_url: str, kolla_names_lock: None) -> Iterator[dict[str, Any]]:
    """nova_compute and nova_libvirt (running) and nova_conductor (exited) sharing one
    kolla_logs volume, on the private dockerd."""
    c = docker_client
    _remove(c)
    vol = {VOLUME: {"bind": "/var/log/kolla", "mode": "rw"}}
    common: dict[str, Any] = {"network_mode": "none", "detach": True, "volumes": vol}
    try:
        compute = c.containers.create(IMAGE, ["sh", "-c", STDOUT_SCRIPT], name="nova_compute", **common)
        assert compute.put_archive("/var/log/kolla", _tar({p: stored for p, (stored, _, _) in FILES.items()}))
        compute.start()
        c.containers.run(IMAGE, ["sleep", "600"], name="nova_libvirt", **common)
        c.containers.run(IMAGE, ["sh", "-c", "echo conductor started"], name="nova_conductor",
                         **common).wait(timeout=20)
        deadline = time.time() + 20
        while len(lines := compute.logs(timestamps=True).splitlines()) < 4 and time.time() < deadline:
            time.sleep(0.05)
        assert len(lines) == 4, lines
        yield {"host": c.info()["Name"], "stdout": lines, "unix": docker_url}
    finally:
        _remove(c)


def _ours(items: list[LogSource | Problem]) -> tuple[dict[str, LogSource], list[Problem]]:
    """Sources and problems of this module's containers (others may be on the engine)."""
    def mine(name: str) -> bool:
        parts = name.split("/")
        return len(parts) > 3 and parts[3].split(":")[0] in NAMES

    sources = {s.info.name: s for s in items if isinstance(s, LogSource) and mine(s.info.name)}
    problems = [p for p in items if isinstance(p, Problem) and mine(p.source)]
    return sources, problems


def _read(src: LogSource) -> bytes:
    with src.open() as f:
        return f.read()


# ----------------------------------------------------------------------------- tests


def test_ssh_engine_reads_what_the_unix_socket_reads(kolla: dict[str, Any], ssh_engine: Mapping[str, str],
                                                     ssh_home: Path) -> None:
    host = kolla["host"]
    via_ssh, ssh_problems = _ours(list(docker_sources(ssh_engine["url"], since=None, until=None)))
    via_unix, unix_problems = _ours(list(docker_sources(kolla["unix"], since=None, until=None)))

    # Names and hosts come from the engine (its info()["Name"]), not from the URL.
    assert host and host != "127.0.0.1"
    pre = f"docker://{host}/"
    expected = {f"{pre}nova_compute", f"{pre}nova_libvirt", f"{pre}nova_conductor"}
    expected |= {f"{pre}{'nova_libvirt' if p.startswith('libvirt/') else 'nova_compute'}:/var/log/kolla/{p}"
                 for p in FILES}
    assert set(via_ssh) == expected
    assert set(via_unix) == expected
    assert ssh_problems == unix_problems == []
    for name, src in via_ssh.items():
        other = via_unix[name]
        assert (src.info.host, src.info.origin, src.info.kind) == (host, f"docker://{host}", other.info.kind), name
        assert _read(src) == _read(other), name  # byte for byte, stdout timestamps included
    for path, (_, content, kind) in FILES.items():
        owner = "nova_libvirt" if path.startswith("libvirt/") else "nova_compute"
        src = via_ssh[f"{pre}{owner}:/var/log/kolla/{path}"]
        assert (_read(src), src.info.kind) == (content, kind), path  # .gz decompressed on the way
    assert _read(via_ssh[f"{pre}nova_compute"]).splitlines() == kolla["stdout"]
    stopped = [line.split(b" ", 1)[1] for line in _read(via_ssh[f"{pre}nova_conductor"]).splitlines()]
    assert stopped == [b"conductor started"]


def test_host_alias_from_ssh_config(kolla: dict[str, Any], ssh_engine: Mapping[str, str], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``ssh://compute-02`` with HostName/Port/User from ~/.ssh/config, as an operator writes
    it: the fail-fast check and the login both go where the config says."""
    home = _make_home(tmp_path / "home", ssh_engine["key"], Path(ssh_engine["known_hosts"]).read_text())
    (home / ".ssh" / "config").write_text(
        f"Host compute-02\n    HostName 127.0.0.1\n    Port {ssh_engine['port']}\n    User root\n"
        f"    IdentityFile {ssh_engine['key']}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    items = list(docker_sources("ssh://compute-02", since=None, until=None, containers=["nova_libvirt"]))
    sources, problems = _ours(items)
    assert [p for p in items if isinstance(p, Problem)] == []
    assert set(sources) == {f"docker://{kolla['host']}/nova_libvirt",
                            f"docker://{kolla['host']}/nova_libvirt:/var/log/kolla/libvirt/libvirtd.log",
                            f"docker://{kolla['host']}/nova_libvirt:/var/log/kolla/libvirt/qemu/instance-0000002a.log"}


def test_time_window_over_ssh(kolla: dict[str, Any], ssh_engine: Mapping[str, str], ssh_home: Path) -> None:
    """since/until travel to the remote engine with sub-second precision."""
    stamps = sorted((_parse_ts(line.split(b" ", 1)[0]), line.split(b" ", 1)[1]) for line in kolla["stdout"])
    assert sorted(p for _, p in stamps[:2]) == [b"early err", b"early out"]  # two bursts
    cut = (stamps[1][0] + stamps[2][0]) / 2
    assert stamps[2][0] - stamps[1][0] > 0.2 and cut % 1
    name = f"docker://{kolla['host']}/nova_compute"

    def payload(since: float | None, until: float | None) -> list[bytes]:
        items = list(docker_sources(ssh_engine["url"], since=since, until=until, containers=["nova_compute"]))
        return sorted(line.split(b" ", 1)[1] for line in _read(_ours(items)[0][name]).splitlines())

    assert payload(cut, None) == [b"late err", b"late out"]
    assert payload(None, cut) == [b"early err", b"early out"]


def test_wrong_key_is_a_clear_problem(ssh_engine: Mapping[str, str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url = ssh_engine["url"]
    home = _make_home(tmp_path / "home", _keygen(tmp_path / "not_authorized"),
                      Path(ssh_engine["known_hosts"]).read_text())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    t0 = time.monotonic()
    items = list(docker_sources(url, since=None, until=None, timeout=5))
    assert time.monotonic() - t0 < 5
    assert len(items) == 1 and isinstance(items[0], Problem), items
    p = items[0]
    assert (p.source, p.severity) == (url, "error")
    assert p.message.startswith(f"cannot reach the Docker engine at {url}: ssh login as root to "
                                f"127.0.0.1:{ssh_engine['port']} failed"), p.message
    assert "IdentityFile" in p.message


@pytest.mark.parametrize("entry", ["absent", "changed"])
def test_host_key_is_checked(entry: str, ssh_engine: Mapping[str, str], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown or different host key refuses the engine (the key itself is valid)."""
    url, port = ssh_engine["url"], ssh_engine["port"]
    known = ""
    if entry == "changed":
        other = Path(_keygen(tmp_path / "other_host_key") + ".pub").read_text().split()
        known = f"[127.0.0.1]:{port} {other[0]} {other[1]}\n"
    monkeypatch.setenv("HOME", str(_make_home(tmp_path / "home", ssh_engine["key"], known)))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    items = list(docker_sources(url, since=None, until=None, timeout=5))
    assert len(items) == 1 and isinstance(items[0], Problem), items
    assert (items[0].source, items[0].severity) == (url, "error")
    want = (f"the host key of [127.0.0.1]:{port} is not in ~/.ssh/known_hosts" if entry == "absent"
            else f"the host key of [127.0.0.1]:{port} does NOT match ~/.ssh/known_hosts")
    assert want in items[0].message, items[0].message


@pytest.fixture()
def broken_remote(ssh_engine: Mapping[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second real sshd (same host key and authorized key) whose sessions get the
    environment in ``request.param``: a remote host where `docker system dial-stdio` fails."""
    if not os.access(SSHD, os.X_OK):
        _fail_not_up(f"{SSHD} missing (apt package openssh-server)")
    ci_sshd = Path(ssh_engine["key"]).parent
    with socket.socket() as s:  # a free loopback port (released just before sshd binds it)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bin_dir = tmp_path / "bin"  # a PATH with a shell but no docker CLI
    bin_dir.mkdir()
    for prog in ("/bin/bash", "/bin/sh", "/usr/bin/env"):
        (bin_dir / os.path.basename(prog)).symlink_to(prog)
    cfg = tmp_path / "sshd_config"
    cfg.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {ci_sshd}/ssh_host_ed25519_key\n"
                   f"AuthorizedKeysFile {ci_sshd}/authorized_keys\nPidFile {tmp_path}/sshd.pid\n"
                   "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                   "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                   f"SetEnv {request.param.format(bin=bin_dir)}\n")
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-f", str(cfg), "-E", str(tmp_path / "sshd.log")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _banner("127.0.0.1", port).startswith(b"SSH-"):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "sshd.log").read_text()
            time.sleep(0.05)
        yield f"ssh://root@127.0.0.1:{port}"
    finally:
        proc.terminate()  # our own sshd, by its PID
        proc.wait(10)


@pytest.mark.parametrize("broken_remote, remote_error", [
    ("DOCKER_HOST=unix:///nonexistent.sock", "exit status 1: failed to open the raw stream connection: "
                                             "dial unix /nonexistent.sock: connect: no such file or directory"),
    ("PATH={bin}", "exit status 127 (is the docker CLI installed there?): "),
], indirect=["broken_remote"], ids=["engine-down", "no-docker-cli"])
def test_remote_dial_stdio_failure_says_why(broken_remote: str, remote_error: str, ssh_engine: Mapping[str, str],
                                            ssh_home: Path) -> None:
    url = broken_remote
    port = url.rsplit(":", 1)[1]
    known = ssh_home / ".ssh" / "known_hosts"  # same host key, another port
    key = Path(ssh_engine["known_hosts"]).read_text().split()[1:3]
    known.write_text(known.read_text() + f"[127.0.0.1]:{port} {key[0]} {key[1]}\n")
    items = list(docker_sources(url, since=None, until=None, timeout=5))
    assert len(items) == 1 and isinstance(items[0], Problem), items
    p = items[0]
    assert (p.source, p.severity) == (url, "error")
    assert p.message.startswith(f"cannot reach the Docker engine at {url}: ssh login worked, but "
                                f"`docker system dial-stdio` on 127.0.0.1 failed: {remote_error}"), p.message
    if "127" in remote_error:
        assert "docker: " in p.message and "not found" in p.message  # the remote shell's own words


def test_cli_scan_count_over_ssh(kolla: dict[str, Any], ssh_engine: Mapping[str, str], ssh_home: Path,
                                 tmp_path: Path) -> None:
    """`python -m analyzer scan --docker ssh://... --count` counts what the same files count
    when read from disk."""
    from analyzer.catalogue import load_catalogue
    from analyzer.scan import scan
    from analyzer.sources import collect

    local = tmp_path / "kolla"
    for path, (stored, _, _) in FILES.items():
        (local / path).parent.mkdir(parents=True, exist_ok=True)
        (local / path).write_bytes(stored)
    want = sum(i.matched_lines for i in scan(collect([str(local)]), load_catalogue()).inputs)
    assert want >= 4  # the catalogue knows these lines

    env = dict(os.environ, HOME=str(ssh_home), PYTHONPATH=str(ROOT))
    env.pop("SSH_AUTH_SOCK", None)
    proc = subprocess.run([sys.executable, "-m", "analyzer", "scan", "--docker", ssh_engine["url"], "--count"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr  # 1: causes were found
    assert proc.stdout.strip() == str(want), (proc.stdout, proc.stderr)
    assert "cannot reach" not in proc.stderr, proc.stderr


def test_operator_ssh_client_agrees(ssh_engine: Mapping[str, str], ssh_home: Path) -> None:
    """The files services-up writes work with OpenSSH itself, with strict host key checking:
    the setup the module docstring of analyzer.sources.docker tells operators to do."""
    if shutil.which("ssh") is None:
        _fail_not_up("no ssh client (apt package openssh-client)")
    port = ssh_engine["port"]
    proc = subprocess.run(["ssh", "-F", "none", "-p", port, "-i", ssh_engine["key"], "-o", "IdentitiesOnly=yes",
                           "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                           "-o", f"UserKnownHostsFile={ssh_home}/.ssh/known_hosts",
                           "root@127.0.0.1", "docker", "info", "--format", "{{.Name}}"],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    import docker

    client = docker.DockerClient(base_url=ssh_engine["url"], timeout=10)
    try:
        assert proc.stdout.strip() == client.info()["Name"]
    finally:
        client.close()
