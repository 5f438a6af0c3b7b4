"""Shared fixtures for tests against the REAL services that ``.ci/services-up.sh`` starts.

``.ci/services-up.sh`` writes ``$CI_RUN/env`` (``CI_RUN`` defaults to ``/tmp/ci-run``):
``DOCKER_HOST`` (a private dockerd), ``NMA_JOURNAL_DIR`` / ``NMA_JOURNAL_STDOUT`` (the
journald namespace ``ci``). Variables already set in the environment win over the file.

A test that needs a service which is not up FAILS with a message saying to run
``.ci/services-up.sh``; with ``NMA_NO_SERVICES=1`` it is skipped instead. No mocks.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest

#: systemd-journal-remote writes journal files from the journal export format
JOURNAL_REMOTE = "/usr/lib/systemd/systemd-journal-remote"


def _not_up(what: str, detail: str) -> NoReturn:
    if os.environ.get("NMA_NO_SERVICES") == "1":
        pytest.skip(f"{what} not available ({detail}); NMA_NO_SERVICES=1")
    pytest.fail(f"{what} is not up ({detail}): run .ci/services-up.sh first "
                f"(or set NMA_NO_SERVICES=1 to skip these tests)", pytrace=False)


@pytest.fixture(scope="session")
def services_env() -> Mapping[str, str]:
    """The environment written by ``.ci/services-up.sh``, overridden by ``os.environ``."""
    env: dict[str, str] = {}
    path = Path(os.environ.get("CI_RUN", "/tmp/ci-run")) / "env"
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() and not key.startswith("#"):
                env[key.strip()] = value.strip()
    for key in ("DOCKER_HOST", "NMA_JOURNAL_DIR", "NMA_JOURNAL_STDOUT"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    env["CI_RUN"] = os.environ.get("CI_RUN", "/tmp/ci-run")
    return env


# ----------------------------------------------------------------------------- docker


@pytest.fixture(scope="session")
def docker_url(services_env: Mapping[str, str]) -> str:
    """URL of the running test engine (``unix://$CI_RUN/docker/docker.sock``)."""
    url = services_env.get("DOCKER_HOST")
    if not url:
        _not_up("dockerd", "no DOCKER_HOST in the environment or in $CI_RUN/env")
    return url


@pytest.fixture(scope="session")
def docker_client(docker_url: str) -> Iterator[Any]:
    """A docker SDK client on the test engine, which has the image ``ci/busybox:latest``."""
    import docker

    try:
        client = docker.DockerClient(base_url=docker_url, timeout=30)
        client.ping()
    except Exception as exc:
        _not_up("dockerd", f"{docker_url}: {exc}")
    try:
        client.images.get("ci/busybox:latest")
    except docker.errors.ImageNotFound:
        _not_up("the image ci/busybox:latest", f"not on {docker_url}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def kolla_names_lock(services_env: Mapping[str, str]) -> Iterator[None]:
    """Hold while a module creates containers with Kolla's fixed names (``nova_compute``...).

    Two test runs on one engine would otherwise remove each other's containers.
    """
    path = Path(services_env["CI_RUN"]) / "kolla-names.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ----------------------------------------------------------------------------- journal


@pytest.fixture(scope="session")
def journal_dir(services_env: Mapping[str, str]) -> str:
    """The live journald namespace's directory (``/run/log/journal/<machine-id>.ci``)."""
    d = services_env.get("NMA_JOURNAL_DIR")
    if not d or not os.path.isdir(d):
        _not_up("journald namespace 'ci'", f"NMA_JOURNAL_DIR={d!r} is not a directory")
    sock = services_env.get("NMA_JOURNAL_STDOUT", "")
    try:  # a socket file may outlive its journald: connect to be sure
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(sock)
    except OSError as exc:
        _not_up("journald namespace 'ci'", f"stdout socket {sock!r}: {exc.strerror or exc}")
    return d


@pytest.fixture(scope="session")
def write_live_journal(journal_dir: str, services_env: Mapping[str, str]) -> Callable[[str, str, bytes], None]:
    """``write(unit, ident, data)``: what systemd does for a unit's ``StandardOutput=journal``.

    A forked child sends the stdout-stream header (ident, unit id, priority, level prefix,
    forwards) and ``data``: journald caches unit metadata per sender PID, so each fake unit
    needs its own process. journald reads ``_PID``/``_SYSTEMD_UNIT`` from ``/proc/PID`` when
    it stores an entry, so the child stays alive until the last line is in the journal.
    """
    from systemd import journal

    sock_path = services_env["NMA_JOURNAL_STDOUT"]

    def write(unit: str, ident: str, data: bytes) -> None:
        last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if last[:1] == b"<" and b">" in last[:4]:
            last = last[last.index(b">") + 1:]
        release_r, release_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 0
            try:
                os.close(release_w)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sock_path)
                s.shutdown(socket.SHUT_RD)
                s.sendall(f"{ident}\n{unit}\n6\n1\n0\n0\n0\n".encode() + data)
                os.read(release_r, 1)  # until the parent saw the entry (or gave up)
                s.close()
            except BaseException:
                code = 1
            os._exit(code)
        os.close(release_r)
        try:
            deadline = time.monotonic() + 10
            seen = False
            while not seen and time.monotonic() < deadline:
                reader = journal.Reader(path=journal_dir, converters={"MESSAGE": bytes})
                reader.add_match(SYSLOG_IDENTIFIER=ident)
                seen = any(e.get("MESSAGE") == last for e in reader)
                reader.close()
                if not seen:
                    time.sleep(0.05)
        finally:
            os.close(release_w)
            _, status = os.waitpid(pid, 0)
        assert status == 0, f"writing to {sock_path} failed"
        assert seen, f"journald did not store {last!r} within 10 s"

    return write


def _export_field(key: str, value: str | bytes) -> bytes:
    v = value.encode() if isinstance(value, str) else value
    if b"\n" in v:  # binary form: KEY\n<le64 length><bytes>\n
        return key.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
    return key.encode() + b"=" + v + b"\n"


@pytest.fixture(scope="session")
def make_journal_file() -> Callable[[Sequence[Mapping[str, str | bytes]], Path], Path]:
    """``make(entries, out)``: a real journal file written by systemd-journal-remote.

    Each entry maps journal fields to values; ``__REALTIME_TIMESTAMP`` (µs),
    ``__MONOTONIC_TIMESTAMP`` and ``_BOOT_ID`` are kept exactly as given.
    """
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        _not_up("systemd-journal-remote", f"{JOURNAL_REMOTE} missing (apt package systemd-journal-remote)")

    def make(entries: Sequence[Mapping[str, str | bytes]], out: Path) -> Path:
        assert out.name.endswith(".journal"), "journal-remote needs a *.journal output name"
        out.parent.mkdir(parents=True, exist_ok=True)
        export = b"".join(b"".join(_export_field(k, v) for k, v in e.items()) + b"\n" for e in entries)
        proc = subprocess.run([JOURNAL_REMOTE, f"--output={out}", "-"], input=export,
                              capture_output=True, timeout=30)
        assert proc.returncode == 0 and out.exists(), proc.stderr.decode(errors="replace")
        return out

    return make
