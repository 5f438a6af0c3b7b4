"""analyzer.sources.docker against a REAL Docker Engine (``.ci/services-up.sh``).

Kolla-named containers (``nova_compute``, ``nova_libvirt``, ...) are made from
``ci/busybox:latest`` with a ``kolla_logs``-style volume holding log files with known
bytes, and stdout/stderr lines whose engine timestamps are captured during the run.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import socket
import tarfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from analyzer.errors import CollectorError
from analyzer.records import Problem, SourceKind
from analyzer.sources.docker import (
    docker_sources,
    kind_for_container,
    kind_for_log_path,
    service_name,
)
from tests.sources._common import read_all, split_by_name

IMAGE = "ci/busybox:latest"
NAMES = ("nova_compute", "nova_libvirt", "nova_conductor", "neutron_server", "nova_ssh", "nova_api")
VOLUME = "nma_test_kolla_logs"
EMPTY_VOLUME = "nma_test_kolla_logs_empty"
OTHER_VOLUME = "nma_test_kolla_logs_api"

# Lines in the formats of /work/shared/notes/messages.md §1 (rendered templates).
NOVA_COMPUTE_LOG = (
    b"2026-01-02 03:04:05.123 1234 INFO nova.compute.manager [None req-590602d0-1111-4c7e-9a51-2b7f0c4d9e10 "
    b"- - - - - -] [instance: 7b7edae6-0000-4000-8000-000000000001] Took 2.31 seconds for pre_live_migration "
    b"on destination host compute-2.\n"
    b"2026-01-02 03:04:09.946 1234 ERROR nova.virt.libvirt.driver [None req-590602d0-1111-4c7e-9a51-2b7f0c4d9e10 "
    b"- - - - - -] [instance: 7b7edae6-0000-4000-8000-000000000001] Live Migration failure: operation failed: "
    b"job 'migration out' failed: Unable to write to socket: Broken pipe: libvirt.libvirtError: operation failed: "
    b"job 'migration out' failed: Unable to write to socket: Broken pipe\n"
    b"2026-01-02 03:04:10.001 1234 ERROR nova.virt.libvirt.driver [None req-590602d0-1111-4c7e-9a51-2b7f0c4d9e10 "
    b"- - - - - -] [instance: 7b7edae6-0000-4000-8000-000000000001] Migration operation has aborted\n"
    b"non-UTF-8 byte kept as is: \xff\n"
)
NOVA_COMPUTE_LOG_1 = (
    b"2026-01-01 23:59:59.999 1234 INFO nova.compute.manager [-] [instance: 7b7edae6-0000-4000-8000-000000000001] "
    b"VM Resumed (Lifecycle Event)\n"
)
NOVA_COMPUTE_LOG_2 = b"2026-01-01 12:00:00.000 1234 INFO nova.compute.manager [-] rotated and compressed\n" * 50
NOVA_CONDUCTOR_LOG = (
    b"2026-01-02 03:04:01.000 77 DEBUG nova.conductor.tasks.live_migrate [None req-590602d0-1111-4c7e-9a51-"
    b"2b7f0c4d9e10 - - - - - -] [instance: 7b7edae6-0000-4000-8000-000000000001] Start binding ports on "
    b"destination host: compute-2\n"
)
LIBVIRTD_LOG = (
    b"2026-01-02 03:04:09.900+0000: 1234: error : qemuMigrationJobCheckStatus:1774 : operation failed: job "
    b"'migration out' failed: Unable to write to socket: Broken pipe\n"
)
QEMU_LOG = (
    b"2026-01-02 03:04:01.000+0000: initiating migration\n"
    b"2026-01-02T03:04:09.800000Z qemu-system-x86_64: terminating on signal 15 from pid 1234 (/usr/sbin/libvirtd)\n"
)
FILES: dict[str, bytes] = {
    "nova/nova-compute.log": NOVA_COMPUTE_LOG,
    "nova/nova-compute.log.1": NOVA_COMPUTE_LOG_1,
    "nova/nova-compute.log.2.gz": gzip.compress(NOVA_COMPUTE_LOG_2),
    "nova/nova-conductor.log": NOVA_CONDUCTOR_LOG,
    "nova/README": b"not a log file\n",
    "libvirt/libvirtd.log": LIBVIRTD_LOG,
    "libvirt/qemu/instance-0000002a.log": QEMU_LOG,
}
#: what each log file reads as (decompressed)
EXPECTED = {
    "/var/log/kolla/nova/nova-compute.log": (NOVA_COMPUTE_LOG, SourceKind.NOVA_COMPUTE),
    "/var/log/kolla/nova/nova-compute.log.1": (NOVA_COMPUTE_LOG_1, SourceKind.NOVA_COMPUTE),
    "/var/log/kolla/nova/nova-compute.log.2.gz": (NOVA_COMPUTE_LOG_2, SourceKind.NOVA_COMPUTE),
    "/var/log/kolla/nova/nova-conductor.log": (NOVA_CONDUCTOR_LOG, SourceKind.NOVA_CONDUCTOR),
    "/var/log/kolla/libvirt/libvirtd.log": (LIBVIRTD_LOG, SourceKind.LIBVIRTD),
    "/var/log/kolla/libvirt/qemu/instance-0000002a.log": (QEMU_LOG, SourceKind.QEMU),
}
BIG = "/var/log/kolla/nova/nova-scheduler.log"  # written by `seq` inside the container
BIG_N = 600_000
STDOUT_SCRIPT = ('for i in 1 2 3 4 5 6; do echo "stdout line $i"; echo "stderr line $i" >&2; sleep 0.25; done; '
                 'exec sleep 600')


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _remove(client: Any, names: tuple[str, ...], volumes: tuple[str, ...]) -> None:
    import docker

    for n in names:
        try:
            client.containers.get(n).remove(force=True, v=False)
        except docker.errors.NotFound:
            pass
    for v in volumes:
        try:
            client.volumes.get(v).remove(force=True)
        except docker.errors.NotFound:
            pass


def _parse_ts(stamp: bytes) -> float:
    """dockerd's RFC3339Nano stamp -> float epoch (µs precision is enough here)."""
    base, _, frac = stamp.decode().rstrip("Z").partition(".")
    dt = datetime.fromisoformat(base).replace(tzinfo=timezone.utc)
    return dt.timestamp() + int((frac + "000000")[:6]) / 1e6


@pytest.fixture(scope="module")
def kolla(docker_client: Any, kolla_names_lock: None) -> Iterator[dict[str, Any]]:
    """nova_compute + nova_libvirt (running) and nova_conductor (exited) sharing one
    kolla_logs volume; neutron_server with an empty one; nova_ssh without any."""
    c = docker_client
    _remove(c, NAMES, (VOLUME, EMPTY_VOLUME, OTHER_VOLUME))
    kolla_vol = {VOLUME: {"bind": "/var/log/kolla", "mode": "rw"}}
    common: dict[str, Any] = {"network_mode": "none", "detach": True}
    try:
        compute = c.containers.create(IMAGE, ["sh", "-c", STDOUT_SCRIPT], name="nova_compute",
                                      volumes=kolla_vol, **common)
        assert compute.put_archive("/var/log/kolla", _tar(FILES))
        compute.start()
        c.containers.run(IMAGE, ["sh", "-c", f"seq 1 {BIG_N} > {BIG}; echo libvirt up; exec sleep 600"],
                         name="nova_libvirt", volumes=kolla_vol, **common)
        conductor = c.containers.run(IMAGE, ["sh", "-c", "echo conductor started"], name="nova_conductor",
                                     volumes=kolla_vol, **common)
        c.containers.run(IMAGE, ["sleep", "600"], name="neutron_server",
                         volumes={EMPTY_VOLUME: {"bind": "/var/log/kolla", "mode": "rw"}}, **common)
        c.containers.run(IMAGE, ["sleep", "600"], name="nova_ssh", **common)
        conductor.wait(timeout=20)
        # Wait for all 12 stdout/stderr lines and the big file (written by nova_libvirt).
        deadline = time.time() + 20
        while time.time() < deadline:
            lines = compute.logs(timestamps=True).splitlines()
            big = c.containers.get("nova_libvirt").logs()
            if len(lines) >= 12 and b"libvirt up" in big:
                break
            time.sleep(0.1)
        assert len(lines) == 12, lines
        host = c.info()["Name"]
        yield {"host": host, "stdout": lines}
    finally:
        _remove(c, NAMES, (VOLUME, EMPTY_VOLUME, OTHER_VOLUME))




def test_discovery_names_hosts_kinds(kolla: dict[str, Any], docker_url: str) -> None:
    host = kolla["host"]
    sources, problems = split_by_name(list(docker_sources(docker_url, since=None, until=None)))
    pre = f"docker://{host}/"
    mine = {n: s for n, s in sources.items() if n.split("/")[3].split(":")[0] in NAMES}
    stdout = {n[len(pre):]: s.info.kind for n, s in mine.items() if ":" not in n[len(pre):]}
    assert stdout == {"nova_compute": SourceKind.NOVA_COMPUTE, "nova_libvirt": SourceKind.LIBVIRTD,
                      "nova_conductor": SourceKind.NOVA_CONDUCTOR, "neutron_server": SourceKind.NEUTRON,
                      "nova_ssh": SourceKind.UNKNOWN}
    # The shared volume is read once per directory: nova/ through nova_compute, libvirt/
    # through nova_libvirt (not again through nova_conductor); README is not a log.
    files = {n[len(pre):]: s.info.kind for n, s in mine.items() if ":" in n[len(pre):]}
    expected = {f"nova_compute:{p}": k for p, (_, k) in EXPECTED.items() if "/nova/" in p}
    expected |= {f"nova_libvirt:{p}": k for p, (_, k) in EXPECTED.items() if "/libvirt/" in p}
    expected[f"nova_compute:{BIG}"] = SourceKind.NOVA_SCHEDULER
    assert files == expected
    assert {s.info.host for s in mine.values()} == {host}
    assert {s.info.origin for s in mine.values()} == {f"docker://{host}"}
    assert all(s.path is None for s in mine.values())
    # neutron_server: its kolla volume has no neutron/ directory; nova_ssh: no volume at all.
    absent = [p for p in problems if p.source == f"{pre}neutron_server:/var/log/kolla/neutron"]
    assert len(absent) == 1 and "absent" in absent[0].message and "neutron_server" in absent[0].message
    novol = [p for p in problems if p.source == f"{pre}nova_ssh"]
    assert len(novol) == 1 and "no log volume" in novol[0].message


def test_log_files_exact_bytes_and_gzip(kolla: dict[str, Any], docker_url: str) -> None:
    pre = f"docker://{kolla['host']}/"
    sources, problems = split_by_name(list(docker_sources(docker_url, since=None, until=None,
                                                   containers=["nova_compute", "nova_libvirt"])))
    assert problems == []
    for path, (data, _kind) in EXPECTED.items():
        owner = "nova_libvirt" if "/libvirt/" in path else "nova_compute"
        assert read_all(sources[f"{pre}{owner}:{path}"]) == data, path


def test_big_file_streams_in_bounded_memory(kolla: dict[str, Any], docker_url: str) -> None:
    pre = f"docker://{kolla['host']}/"
    sources, _ = split_by_name(list(docker_sources(docker_url, since=None, until=None, containers=["nova_compute"])))
    src = sources[f"{pre}nova_compute:{BIG}"]
    want = hashlib.sha256("".join(f"{i}\n" for i in range(1, BIG_N + 1)).encode()).hexdigest()
    size = len("".join(f"{i}\n" for i in range(1, BIG_N + 1)))
    got = hashlib.sha256()
    n = 0
    tracemalloc.start()
    try:
        with src.open() as f:
            while chunk := f.read(32 * 1024):
                got.update(chunk)
                n += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (n, got.hexdigest()) == (size, want)
    # Measured: ~0.5 MB whatever the file size (4 MB here, 18 MB gives the same); a
    # whole-file read would peak above the file's size.
    assert size > 4_000_000 and peak < 1_500_000, f"peak {peak} bytes while streaming a {size}-byte file"


def test_stdout_exact_lines_and_subsecond_window(kolla: dict[str, Any], docker_url: str) -> None:
    name = f"docker://{kolla['host']}/nova_compute"

    def stdout(since: float | None, until: float | None) -> list[bytes]:
        items = list(docker_sources(docker_url, since=since, until=until, containers=["nova_compute"]))
        return read_all(split_by_name(items)[0][name]).splitlines()

    everything = stdout(None, None)
    assert everything == kolla["stdout"]
    payload = sorted(line.split(b" ", 1)[1] for line in everything)
    assert payload == sorted([b"stdout line %d" % i for i in range(1, 7)] + [b"stderr line %d" % i for i in range(1, 7)])
    # Lines come in pairs 0.25 s apart: cut the window in the middle of the 2nd and 5th gaps.
    ts = sorted(_parse_ts(line.split(b" ", 1)[0]) for line in everything)
    gaps = [i for i in range(1, len(ts)) if ts[i] - ts[i - 1] > 0.1]
    assert len(gaps) == 5, ts
    since = (ts[gaps[0] - 1] + ts[gaps[0]]) / 2
    until = (ts[gaps[3] - 1] + ts[gaps[3]]) / 2
    assert since % 1 and until % 1  # sub-second epochs
    window = stdout(since, until)
    assert sorted(line.split(b" ", 1)[1] for line in window) == sorted(
        [b"stdout line %d" % i for i in (2, 3, 4)] + [b"stderr line %d" % i for i in (2, 3, 4)])


def test_stopped_container(kolla: dict[str, Any], docker_url: str, docker_client: Any) -> None:
    assert docker_client.containers.get("nova_conductor").status == "exited"
    pre = f"docker://{kolla['host']}/nova_conductor"
    sources, problems = split_by_name(list(docker_sources(docker_url, since=None, until=None,
                                                   containers=["nova_conductor"])))
    assert problems == []
    assert [line.split(b" ", 1)[1] for line in read_all(sources[pre]).splitlines()] == [b"conductor started"]
    assert sources[pre].info.kind is SourceKind.NOVA_CONDUCTOR
    # Listed from the archive (no exec in a stopped container): the same nova/ files.
    files = {n[len(pre) + 1:] for n in sources if n != pre}
    assert files == {p for p in EXPECTED if "/nova/" in p} | {BIG}
    path = "/var/log/kolla/nova/nova-compute.log.2.gz"
    assert read_all(sources[f"{pre}:{path}"]) == NOVA_COMPUTE_LOG_2


def test_missing_container_is_a_problem(kolla: dict[str, Any], docker_url: str) -> None:
    items = list(docker_sources(docker_url, since=None, until=None, containers=["nova_compute", "nova_nope_xyz"]))
    sources, problems = split_by_name(items)
    assert [(p.source, p.severity) for p in problems] == [(f"docker://{kolla['host']}/nova_nope_xyz", "error")]
    assert "nova_nope_xyz" in problems[0].message and docker_url in problems[0].message
    assert f"docker://{kolla['host']}/nova_compute" in sources  # the others are still read


def test_container_removed_after_discovery(kolla: dict[str, Any], docker_url: str, docker_client: Any) -> None:
    c = docker_client.containers.create(IMAGE, ["sh", "-c", "echo api"], name="nova_api", network_mode="none",
                                        volumes={OTHER_VOLUME: {"bind": "/var/log/kolla", "mode": "rw"}})
    assert c.put_archive("/var/log/kolla", _tar({"nova/nova-api.log": b"x\n"}))
    items = list(docker_sources(docker_url, since=None, until=None, containers=["nova_api"]))
    sources, problems = split_by_name(items)
    pre = f"docker://{kolla['host']}/nova_api"
    assert problems == [] and set(sources) == {pre, f"{pre}:/var/log/kolla/nova/nova-api.log"}
    assert sources[pre].info.kind is SourceKind.NOVA_API
    c.remove(force=True)
    for name, src in sources.items():
        with pytest.raises(CollectorError) as err:
            read_all(src)
        assert err.value.source == name


def test_no_url_uses_docker_host(kolla: dict[str, Any], docker_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", docker_url)
    sources, problems = split_by_name(list(docker_sources(None, since=None, until=None, containers=["nova_libvirt"])))
    assert problems == []
    assert f"docker://{kolla['host']}/nova_libvirt" in sources
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    items = list(docker_sources(None, since=None, until=None))
    assert [(p.source, p.severity) for p in items if isinstance(p, Problem)] == [("unix:///nonexistent.sock", "error")]


@pytest.mark.parametrize("url", ["unix:///nonexistent.sock", "tcp://127.0.0.1:1"])
def test_unreachable_engine(url: str) -> None:
    t0 = time.monotonic()
    items = list(docker_sources(url, since=None, until=None, timeout=3))
    assert time.monotonic() - t0 < 5
    assert len(items) == 1 and isinstance(items[0], Problem)
    p = items[0]
    assert (p.source, p.severity) == (url, "error")
    assert url in p.message
    assert ("no such socket" if url.startswith("unix") else "connection refused") in p.message


def test_ssh_engine_that_does_not_answer_times_out() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    url = f"ssh://root@127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        items = list(docker_sources(url, since=None, until=None, timeout=0.5))
        elapsed = time.monotonic() - t0
    finally:
        thread.join(2)
        for s in accepted + [server]:
            s.close()
    assert 0.4 < elapsed < 3
    assert len(items) == 1 and isinstance(items[0], Problem)
    assert items[0].source == url and "no SSH banner within 0.5 s" in items[0].message


def test_ssh_server_without_a_usable_engine_is_a_problem() -> None:
    """An SSH server answers but no engine can be reached through it (without paramiko:
    the SDK's ssh transport is missing; with it: the handshake fails)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        conn.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n")
        time.sleep(1)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"ssh://root@127.0.0.1:{port}"
    try:
        items = list(docker_sources(url, since=None, until=None, timeout=2))
    finally:
        thread.join(3)
        server.close()
    assert len(items) == 1 and isinstance(items[0], Problem)
    assert (items[0].source, items[0].severity) == (url, "error")
    assert items[0].message.startswith(f"cannot reach the Docker engine at {url}: ")


def test_permission_denied_on_the_socket(docker_url: str, docker_client: Any) -> None:
    """A non-root user (nobody) on the root-only socket of the test engine.

    A forked child drops to uid/gid 65534 after everything is imported (the venv's
    interpreter under /root is not reachable for nobody) and reports what it got.
    """
    import docker  # noqa: F401  (imported before the fork: nobody cannot read the venv)
    import docker.errors  # noqa: F401

    list(docker_sources("unix:///nonexistent.sock", since=None, until=None))  # warm lazy imports
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            out = "\n".join(str(p) for p in docker_sources(docker_url, since=None, until=None, timeout=5))
            os.write(wfd, out.encode())
        finally:
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as fh:
        out = fh.read().decode()
    os.waitpid(pid, 0)
    assert out.startswith(f"error: {docker_url}: cannot reach the Docker engine at {docker_url}: "
                          f"permission denied on the engine socket"), out


# ----------------------------------------------------------------------------- the rule


def test_selection_rule_and_kinds() -> None:
    def attrs(name: str, labels: dict[str, str] | None = None, image: str = "x") -> dict[str, Any]:
        return {"Name": "/" + name, "Config": {"Labels": labels or {}, "Image": image}}

    assert service_name(attrs("nova_compute")) == "nova_compute"
    assert service_name(attrs("neutron_openvswitch_agent")) == "neutron_openvswitch_agent"
    assert service_name(attrs("keystone")) is None
    assert service_name(attrs("nova")) is None  # needs nova_<service>
    # TripleO/EDPM: the container_name label is the service name
    assert service_name(attrs("3f2a1b", {"container_name": "nova_libvirt"})) == "nova_libvirt"
    # A renamed Kolla container: kolla_version label + nova-<x> image
    assert service_name(attrs("compute", {"kolla_version": "18.1.0"},
                              "quay.io/openstack.kolla/nova-compute:2024.1-ubuntu-jammy")) == "nova_compute"
    assert service_name(attrs("compute", {}, "quay.io/openstack.kolla/nova-compute:2024.1")) is None
    assert service_name(attrs("x", {"com.redhat.component": "openstack-nova-compute-container"},
                              "registry.example/rhosp17/openstack-nova-compute:17.1")) == "nova_compute"
    assert kind_for_container("nova_compute_ironic") is SourceKind.NOVA_COMPUTE
    assert kind_for_container("nova_virtqemud") is SourceKind.LIBVIRTD
    assert kind_for_container("nova_scheduler") is SourceKind.NOVA_SCHEDULER
    assert kind_for_container("nova_novncproxy") is SourceKind.NOVA
    assert kind_for_container("neutron_server") is SourceKind.NEUTRON
    assert kind_for_log_path("/var/log/kolla/nova/nova-compute.log-20260102.gz") is SourceKind.NOVA_COMPUTE
    assert kind_for_log_path("/var/log/kolla/libvirt/virtqemud.log.1") is SourceKind.LIBVIRTD
    assert kind_for_log_path("/var/log/kolla/nova/nova-manage.log") is SourceKind.NOVA
    assert kind_for_log_path("/var/log/kolla/neutron/neutron-server.log") is SourceKind.NEUTRON
    assert kind_for_log_path("/var/log/kolla/nova/privsep-helper.log") is SourceKind.NOVA

