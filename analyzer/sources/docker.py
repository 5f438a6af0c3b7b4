"""Kolla / TripleO containers read through the Docker Engine API (docker SDK).

``docker_sources(url, since=..., until=...)`` connects to one engine (``unix://``,
``tcp://`` or ``ssh://``, or ``DOCKER_HOST`` / the default socket when ``url`` is None),
finds the OpenStack containers that carry live-migration evidence and yields, per
container:

* its own stdout/stderr (``container.logs(timestamps=True, since=, until=)``), as a
  streamed :class:`~analyzer.records.LogSource` named ``docker://<host>/<container>``;
  every line keeps dockerd's RFC3339Nano prefix (``2026-11-27T21:56:39.964087903Z ``),
  which the parsers skip like any other prefix;
* the service log files the container writes to its log volume (Kolla: the
  ``kolla_logs`` volume at ``/var/log/kolla/<service>/``; TripleO: bind mounts such as
  ``/var/log/nova``), rotated ``.1`` and compressed ones included (gzip/bzip2/xz,
  recognised by their magic bytes and decompressed while reading by
  :func:`analyzer.sources.files.open_decompressed`), each a streamed source named
  ``docker://<host>/<container>:<path>``.

``<host>`` is the engine's own name (``client.info()["Name"]``), not the URL.

Which containers (the rule)
---------------------------
1. The *service name* of a container is its ``container_name`` label when present
   (TripleO/EDPM set it), else the container's name.
2. The container is selected when the service name is ``nova_<x>`` or ``neutron_<x>``
   (Kolla-Ansible and TripleO both name them so: ``nova_compute``, ``nova_libvirt``,
   ``nova_conductor``, ``nova_ssh``, ``nova_api``, ``nova_scheduler``,
   ``nova_virtqemud``, ``neutron_server``, ``neutron_openvswitch_agent`` ...).
3. A container with another name is still selected when it carries an OpenStack image
   label (``kolla_version``, any ``io.openstack.*`` label, or ``com.redhat.component``
   starting with ``openstack-``) and its image is a ``[openstack-]nova-<x>`` or
   ``[openstack-]neutron-<x>`` image (a renamed container): its service name is then the
   image's basename with ``-`` turned into ``_``
   (``quay.io/openstack.kolla/nova-compute:2024.1`` -> ``nova_compute``).

Stopped containers are included (their logs and files are still readable); a restarting
one is read too, with a warning. The kind of the stdout stream follows the service name
(``nova_compute`` -> nova-compute, ``nova_libvirt``/``nova_virt*`` -> libvirtd, ...); the
kind of a file follows its path (``nova-compute.log*`` -> nova-compute, ``libvirtd.log``
-> libvirtd, ``.../qemu/instance-*.log`` -> qemu, ...).

Which files
-----------
Kolla mounts the *same* ``kolla_logs`` volume into every container of a host, so each
container reads only its own service's directory (``nova_*`` -> ``/var/log/kolla/nova``,
``nova_libvirt``/``nova_virt*`` -> ``/var/log/kolla/libvirt``, ``neutron_*`` ->
``/var/log/kolla/neutron``), and a directory of one volume is read once per run (by the
first container that maps to it; ``nova_compute`` and ``nova_libvirt`` come first).
TripleO-style containers read their bind-mounted ``/var/log/{nova,libvirt,neutron}`` (or
``/var/log/containers/...``). Only names containing ``.log`` are taken (``nova-compute.log``,
``nova-compute.log.1``, ``nova-compute.log.2.gz``, ``qemu/instance-00000001.log``).

Time window
-----------
``since``/``until`` (float epoch seconds; sub-second precision is kept -- the SDK would
truncate a ``datetime`` to whole seconds) are applied by the engine for the stdout/stderr
streams. Log *files* are handed on whole: their lines carry the service's own
timestamps, and the scan applies the window to every record.

ssh:// engines
--------------
``ssh://[user@]host[:port]`` reads a remote host's engine the way ``docker -H ssh://...``
does: it logs in over SSH and runs ``docker system dial-stdio`` there, which relays the
Engine API to the remote engine (so that host needs the docker CLI, and the user must
be allowed on its socket: root or the ``docker`` group). The SSH client is paramiko
(the ``docker[ssh]`` extra), driven by the docker SDK; it reads, from ``~/.ssh/config``
(``~`` is ``$HOME``), the ``HostName``, ``Port``, ``User``, ``IdentityFile`` and
``ProxyCommand`` of the host (not ``ProxyJump``: write ``ProxyCommand ssh -W %h:%p
bastion``), and also tries ssh-agent keys and ``~/.ssh/id_*``. Host keys are checked
against ``~/.ssh/known_hosts`` only (not ``UserKnownHostsFile`` nor
``/etc/ssh/ssh_known_hosts``); an unknown or changed host key is refused, never accepted
blindly. An operator on compute-01 sets up compute-02 once::

    ssh-keyscan -t ed25519 compute-02 >> ~/.ssh/known_hosts  # then compare with the host:
    ssh-keygen -lf ~/.ssh/known_hosts -F compute-02          #   ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub
    cat >> ~/.ssh/config <<EOF
    Host compute-02
        User root
        IdentityFile ~/.ssh/nma_ed25519
    EOF
    nma analyze --docker --docker ssh://compute-02

(a port other than 22 is written ``[compute-02]:2222`` in known_hosts, as ``ssh-keyscan
-p 2222`` prints it). A failed login, an unknown host key or a remote host whose
``docker system dial-stdio`` fails (no docker CLI, engine down) is a Problem saying
which, with the remote error text.

Faults never raise: an unreachable engine, permission denied on the socket, a missing or
restarting container, an absent log directory or an ssh engine that does not answer all
become :class:`~analyzer.records.Problem` items naming the engine URL, container and path.
Errors while a stream is read are raised from ``open()``/``read()`` as
:class:`~analyzer.errors.CollectorError`, which the scan records as a problem of that
source.
"""

from __future__ import annotations

import errno
import io
import os
import posixpath
import re
import socket
import tarfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlsplit

from analyzer.errors import CollectorError
from analyzer.records import LogSource, Problem, SourceInfo, SourceKind
from analyzer._streams import ChunkReader, short_error as _short
from analyzer.sources.files import open_decompressed

if TYPE_CHECKING:  # the SDK is imported lazily: reading plain files must not need it
    import docker
    from docker.models.containers import Container

__all__ = ["docker_sources", "kind_for_container", "kind_for_log_path"]

#: seconds to wait for the engine (connect and each non-streaming API call)
DEFAULT_TIMEOUT = 10.0
#: bytes per chunk read from the engine's HTTP responses: the memory bound of a stream
CHUNK_SIZE = 64 * 1024
#: the directory of Kolla's shared ``kolla_logs`` volume inside every container
KOLLA_LOG_DIR = "/var/log/kolla"

_SERVICE_RE = re.compile(r"^(?:nova|neutron)_[a-z0-9_]+$")
_IMAGE_SERVICE_RE = re.compile(r"^(?:openstack-)?((?:nova|neutron)-[a-z0-9-]+)$")
#: TripleO / EDPM log directories (bind mounts from /var/log/containers/<service>)
_BIND_LOG_DIR_RE = re.compile(r"^/var/log/(?:containers/)?(?:nova|libvirt|neutron)(?:/.*)?$")
#: log files: "nova-compute.log", ".log.1", ".log.2.gz", "libvirtd.log-20240101.xz"
_LOG_NAME_RE = re.compile(r"\.log(?:$|[.\-_])")


# --------------------------------------------------------------------------- kinds


def kind_for_container(service: str) -> SourceKind:
    """The kind of a container's stdout/stderr, from its service name.

    >>> kind_for_container("nova_compute"), kind_for_container("nova_virtqemud")
    (<SourceKind.NOVA_COMPUTE: 'nova-compute'>, <SourceKind.LIBVIRTD: 'libvirtd'>)
    """
    if service.startswith("nova_compute"):
        return SourceKind.NOVA_COMPUTE
    if service == "nova_libvirt" or service.startswith("nova_virt"):
        return SourceKind.LIBVIRTD
    if service.startswith("nova_conductor"):
        return SourceKind.NOVA_CONDUCTOR
    if service.startswith("nova_scheduler"):
        return SourceKind.NOVA_SCHEDULER
    if service.startswith(("nova_api", "nova_metadata")):
        return SourceKind.NOVA_API
    if service in ("nova_ssh", "nova_migration_target"):
        return SourceKind.UNKNOWN  # sshd's own output, not an oslo.log stream
    if service.startswith("nova_"):
        return SourceKind.NOVA
    if service.startswith("neutron_"):
        return SourceKind.NEUTRON
    return SourceKind.UNKNOWN


def kind_for_log_path(path: str) -> SourceKind:
    """The kind of a log file, from its path: the file collector's rule
    (:func:`analyzer.sources.bundles.kind_from_path`), UNKNOWN when the path says nothing.

    >>> kind_for_log_path("/var/log/kolla/nova/nova-compute.log.2.gz")
    <SourceKind.NOVA_COMPUTE: 'nova-compute'>
    >>> kind_for_log_path("/var/log/kolla/libvirt/qemu/instance-0000002a.log")
    <SourceKind.QEMU: 'qemu'>
    """
    from analyzer.sources.bundles import kind_from_path

    return kind_from_path(path) or SourceKind.UNKNOWN


# --------------------------------------------------------------------------- streams


def _iter_file(f: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    while chunk := f.read(size):
        yield chunk


# --------------------------------------------------------------------------- sources


class ContainerLogSource(LogSource):
    """stdout+stderr of one container, streamed from ``GET /containers/{id}/logs``.

    Lines carry dockerd's timestamp prefix (``timestamps=True``); ``since``/``until`` are
    applied by the engine.
    """

    def __init__(self, client: docker.DockerClient, container_id: str, info: SourceInfo,
                 *, since: float | None, until: float | None) -> None:
        self.info = info
        self.path = None
        self._client = client
        self._id = container_id
        self._since = since
        self._until = until

    def open(self) -> AbstractContextManager[BinaryIO]:
        import docker.errors

        kwargs: dict[str, Any] = {"stdout": True, "stderr": True, "stream": True,
                                  "timestamps": True, "follow": False}
        # The SDK rejects 0/negative values; an epoch <= 0 means "no bound" anyway.
        if self._since is not None and self._since > 0:
            kwargs["since"] = float(self._since)
        if self._until is not None and self._until > 0:
            kwargs["until"] = float(self._until)
        try:
            stream = self._client.api.logs(self._id, **kwargs)
        except docker.errors.NotFound as exc:
            raise CollectorError(self.info.name, "container no longer exists") from exc
        except Exception as exc:
            raise CollectorError(self.info.name, f"cannot read the container's logs: {_short(exc)}") from exc
        raw = ChunkReader(stream, self.info.name, on_close=stream.close)
        return cast(BinaryIO, io.BufferedReader(raw, CHUNK_SIZE))


class ContainerFileSource(LogSource):
    """One log file inside a container, streamed from ``GET /containers/{id}/archive``.

    Why the archive endpoint and not ``exec_run(["cat", path])``: it works on stopped
    containers too (the evidence of a crashed ``nova_compute`` is most wanted), needs no
    program inside the image, carries the bytes untouched (no exec TTY/multiplexing
    layer) and creates no exec instance on the engine. The tar stream is read
    member-by-member in stream mode (``tarfile`` mode ``"r|"``), so at most one HTTP chunk
    plus tarfile's 10 KiB record buffer are in memory; compressed rotations are
    decompressed while reading.
    """

    def __init__(self, client: docker.DockerClient, container_id: str, file_path: str,
                 info: SourceInfo) -> None:
        self.info = info
        self.path = None  # not a local file: no mmap
        self._client = client
        self._id = container_id
        self._file = file_path

    def open(self) -> AbstractContextManager[BinaryIO]:
        import docker.errors

        name = self.info.name
        try:
            chunks, _stat = self._client.api.get_archive(self._id, self._file, chunk_size=CHUNK_SIZE)
        except docker.errors.NotFound as exc:
            raise CollectorError(name, f"no such file or container ({_short(exc)})") from exc
        except Exception as exc:
            raise CollectorError(name, f"cannot fetch the file from the engine: {_short(exc)}") from exc
        http = ChunkReader(chunks, name, on_close=getattr(chunks, "close", None))
        try:
            tar = tarfile.open(fileobj=cast(BinaryIO, http), mode="r|")
            member = tar.next()
            if member is None or not member.isfile():
                what = "nothing" if member is None else ("a symlink" if member.issym() else "not a regular file")
                raise CollectorError(name, f"the engine returned {what} for {self._file}")
            data = tar.extractfile(member)
            assert data is not None  # isfile() was checked
        except CollectorError:
            http.close()
            raise
        except Exception as exc:
            http.close()
            raise CollectorError(name, f"unreadable archive stream: {_short(exc)}") from exc
        try:
            # gzip/bzip2/xz by magic bytes, decompressed while reading (isal when present);
            # corrupt data raises StreamReadError with offsets; zstd/lz4: CollectorError.
            body = open_decompressed(cast(BinaryIO, data), name)
        except Exception:
            tar.close()
            http.close()
            raise

        def close() -> None:
            for thing in (body, tar):
                try:
                    thing.close()
                except Exception:
                    pass
            http.close()

        raw = ChunkReader(_iter_file(body), name, on_close=close)
        return cast(BinaryIO, io.BufferedReader(raw, CHUNK_SIZE))


# --------------------------------------------------------------------------- discovery


def service_name(attrs: Mapping[str, Any]) -> str | None:
    """The OpenStack service a container runs (see the module docstring), or None."""
    labels: Mapping[str, str] = (attrs.get("Config") or {}).get("Labels") or {}
    name = str(labels.get("container_name") or attrs.get("Name", "")).lstrip("/")
    if _SERVICE_RE.match(name):
        return name
    openstack = ("kolla_version" in labels
                 or any(k.startswith("io.openstack") for k in labels)
                 or str(labels.get("com.redhat.component", "")).startswith("openstack-"))
    if openstack:
        image = str((attrs.get("Config") or {}).get("Image") or "")
        base = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
        m = _IMAGE_SERVICE_RE.match(base)
        if m:
            return m.group(1).replace("-", "_")
    return None


def _kolla_subdir(service: str) -> str:
    if service == "nova_libvirt" or service.startswith("nova_virt"):
        return "libvirt"
    return service.split("_", 1)[0]  # nova_* -> nova, neutron_* -> neutron


def _log_dirs(attrs: Mapping[str, Any], service: str) -> tuple[list[tuple[str, str]], bool]:
    """``([(dir in container, dedup key)], has_kolla_mount)`` for one container."""
    dirs: list[tuple[str, str]] = []
    kolla = False
    for m in attrs.get("Mounts") or []:
        dest = str(m.get("Destination", "")).rstrip("/")
        origin = str(m.get("Name") or m.get("Source") or dest)
        if dest == KOLLA_LOG_DIR:
            kolla = True
            sub = _kolla_subdir(service)
            dirs.append((f"{KOLLA_LOG_DIR}/{sub}", f"{origin}/{sub}"))
        elif _BIND_LOG_DIR_RE.match(dest):
            dirs.append((dest, origin))
    return dirs, kolla


def _order(service: str) -> tuple[int, str]:
    # nova_compute and nova_libvirt first: shared log directories get their names.
    return ({"nova_compute": 0, "nova_libvirt": 1}.get(service, 2), service)


def _engine_label(url: str | None) -> str:
    if url:
        return url
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _reason(exc: BaseException, timeout: float) -> str:
    """Classify a connection failure by the OSError at the root of the exception chain."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    text = str(exc)
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (socket.timeout, TimeoutError)) or "timed out" in str(e).lower():
            return f"no answer within {timeout:g} s"
        if isinstance(e, OSError) and e.errno in (errno.EACCES, errno.EPERM):
            return ("permission denied on the engine socket (run as root or as a member of "
                    "the 'docker' group)")
        if isinstance(e, OSError) and e.errno == errno.ENOENT:
            return "no such socket (is dockerd running?)"
        if isinstance(e, OSError) and e.errno == errno.ECONNREFUSED:
            return "connection refused (is dockerd listening there?)"
        stack += [e.__cause__, e.__context__, *[a for a in e.args if isinstance(a, BaseException)]]
    low = text.lower()
    if "paramiko" in low:
        return "ssh:// engines need the paramiko package (pip install 'docker[ssh]')"
    if "permission denied" in low:
        return "permission denied on the engine socket (run as root or as a member of the 'docker' group)"
    if "no such file" in low:
        return "no such socket (is dockerd running?)"
    if "connection refused" in low:
        return "connection refused (is dockerd listening there?)"
    if "timed out" in low or "timeout" in low:
        return f"no answer within {timeout:g} s"
    return _short(exc)


def _ssh_target(url: str) -> tuple[str, int, bool]:
    """``(host, port, via_proxy)`` that the ssh transport connects to for ``url``.

    ``HostName`` and (when the URL has none) ``Port`` from ``~/.ssh/config``, as the SDK's
    ``SSHHTTPAdapter`` looks them up (the port through :func:`_ssh_sdk_url`); ``via_proxy``
    when a ``ProxyCommand`` makes the connection (then there is no direct TCP target).
    """
    parts = urlsplit(url)
    host, port, proxy = parts.hostname or "", parts.port, False
    config_file = os.path.expanduser("~/.ssh/config")
    if os.path.exists(config_file):
        try:
            import paramiko

            conf = paramiko.SSHConfig.from_path(config_file)
            found = conf.lookup(host)
            proxy = "proxycommand" in found
            host = str(found.get("hostname") or host)
            if port is None and found.get("port"):
                port = int(found["port"])
        except Exception:  # no paramiko / unreadable config: the connect itself will say
            pass
    return host, port or 22, proxy


def _ssh_sdk_url(url: str) -> str:
    """``url`` with the ``Port`` of ``~/.ssh/config`` written in when it has none.

    The SDK normalises ``ssh://host`` to ``ssh://host:22`` before it reads the config,
    so a ``Port`` line would be ignored (``HostName`` and ``User`` are honoured).
    """
    parts = urlsplit(url)
    if parts.port is not None:
        return url
    _, port, _ = _ssh_target(url)
    return url if port == 22 else parts._replace(netloc=f"{parts.netloc}:{port}").geturl()


def _ssh_precheck(url: str, timeout: float) -> str | None:
    """Fail fast on an ssh engine that does not answer: TCP connect + SSH banner.

    The SDK's ssh transport has no connect timeout of its own (paramiko waits for the
    OS TCP timeout, minutes on a black-holed address); this costs one extra TCP
    handshake. Returns an error message, or None when an SSH server answered (or a
    ``ProxyCommand`` makes the connection, which only the transport can check).
    """
    host, port, proxy = _ssh_target(url)
    if proxy:
        return None
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            banner = s.recv(256)
    except (socket.timeout, TimeoutError):
        return f"ssh engine {url}: no SSH banner within {timeout:g} s"
    except OSError as exc:
        return f"ssh engine {url}: cannot connect to {host}:{port}: {exc.strerror or exc}"
    if not banner.startswith(b"SSH-"):
        return f"ssh engine {url}: {host}:{port} is not an SSH server (got {banner[:40]!r})"
    return None


def _ssh_reason(url: str, exc: BaseException, timeout: float) -> str:
    """Why an ssh engine could not be used: the SSH layer (login, host key) or, when the
    login worked, the remote ``docker system dial-stdio`` (probed for its error text)."""
    try:
        import paramiko
    except ImportError:
        return _reason(exc, timeout)  # "needs the paramiko package (docker[ssh])"
    parts = urlsplit(url)
    user = parts.username or "the configured user"
    host, port, _ = _ssh_target(url)
    known = f"[{host}]:{port}" if port != 22 else host
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, paramiko.BadHostKeyException):
            return (f"the host key of {known} does NOT match ~/.ssh/known_hosts (host reinstalled, or "
                    f"someone in between): check it, then fix that entry")
        if isinstance(e, paramiko.AuthenticationException):
            return (f"ssh login as {user} to {host}:{port} failed ({_short(e)}): none of the keys offered "
                    f"(IdentityFile for {parts.hostname} in ~/.ssh/config, ssh-agent, ~/.ssh/id_*) "
                    f"is authorized there")
        if isinstance(e, paramiko.SSHException) and "known_hosts" in str(e):
            return (f"the host key of {known} is not in ~/.ssh/known_hosts (host keys are checked): "
                    f"add it, e.g. ssh-keyscan -p {port} {host} >> ~/.ssh/known_hosts, after "
                    f"comparing its fingerprint with the host's")
        if isinstance(e, (paramiko.SSHException, EOFError)):
            return f"ssh handshake with {host}:{port} failed: {_short(e)}"
        if isinstance(e, paramiko.ssh_exception.NoValidConnectionsError):  # an OSError, errno None
            return f"cannot connect to {host}:{port}: {_short(e)}"
        # A socket error or timeout; not http.client.RemoteDisconnected (an OSError without
        # errno): that is the relay closing after a good login, probed below.
        if isinstance(e, TimeoutError) or (isinstance(e, OSError) and e.errno is not None):
            return _reason(e, timeout)
        stack += [e.__cause__, e.__context__, *[a for a in e.args if isinstance(a, BaseException)]]
    # No SSH error: the login worked and the HTTP relay failed. Ask the remote side why.
    remote = _dial_stdio_error(url, timeout)
    if remote:
        return f"ssh login worked, but `docker system dial-stdio` on {host} failed: {remote}"
    return _reason(exc, timeout)


def _dial_stdio_error(url: str, timeout: float) -> str | None:
    """Run ``docker system dial-stdio`` once more over ssh, with stdin closed at once, and
    return its exit status and first stderr line ("docker: not found", "dial unix
    /var/run/docker.sock: connect: permission denied" ...), or None when it exits cleanly.

    Only on the error path: one more SSH login, through the SDK's own adapter so that the
    same config, keys and host key checks apply.
    """
    try:
        from docker.transport.sshconn import SSHHTTPAdapter

        adapter = SSHHTTPAdapter(_ssh_sdk_url(url), timeout=timeout)
    except Exception:
        return None
    try:
        transport = adapter.ssh_client.get_transport() if adapter.ssh_client else None
        if transport is None:
            return None
        chan = transport.open_session(timeout=timeout)
        chan.settimeout(timeout)
        chan.exec_command("docker system dial-stdio")
        chan.shutdown_write()  # a working dial-stdio exits at EOF
        err = b""
        while len(err) < 4096:
            data = chan.recv_stderr(4096)
            if not data:
                break
            err += data
        deadline = time.monotonic() + timeout
        while not chan.exit_status_ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        status = chan.recv_exit_status() if chan.exit_status_ready() else -1
        chan.close()
    except Exception:
        return None
    finally:
        adapter.close()
    first = next((ln.strip() for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()), "")
    if status == 0 and not first:
        return None
    hint = " (is the docker CLI installed there?)" if status == 127 else ""
    return f"exit status {status}{hint}: {first or 'no error text'}"


def _one_ssh_pool(client: docker.DockerClient) -> None:
    """Make the SDK's ssh adapter keep ONE connection pool instead of one per request URL.

    Why: the SDK keys its pools by the full request URL (``/containers/<id>/json``,
    ``.../archive?path=...`` are all different), and each new connection of an ssh engine
    is a new SSH channel running a new remote ``docker system dial-stdio`` (plus the
    remote shell's start-up files): 0.2-0.3 s each here. Reading 7 containers with 22 log
    files took 13.9 s that way, 3.7 s with one pool (2.4 s through the unix socket of the
    same engine; loopback sshd with the default MaxSessions). Every request goes to the
    same engine, so one pool is exactly right; it still holds at most ``max_pool_size``
    (10) idle channels, within sshd's default ``MaxSessions 10``.
    """
    adapter = getattr(client.api, "_custom_adapter", None)
    get = getattr(adapter, "get_connection", None)
    if adapter is None or get is None:
        return  # another SDK layout: keep its behaviour (slower, still correct)

    def one_pool(url: str, proxies: Any = None) -> Any:
        return get("http+docker://ssh/", proxies)

    adapter.get_connection = one_pool


def _connect(url: str | None, timeout: float) -> docker.DockerClient:
    import docker

    # ssh:// goes through paramiko (the SDK's default), not the SDK's use_ssh_client=True
    # mode that runs the system `ssh`. Both were tried against a real sshd + dockerd (docker
    # 7.2): use_ssh_client=True still needs paramiko installed (sshconn imports it), starts
    # one ssh process per HTTP connection and leaves them running ("subprocess is still
    # running" warnings), reads with no timeout, and took 2.8 s instead of 1.2 s for the
    # same calls. paramiko: one SSH login per client, a channel per connection, the
    # client's timeout on every read, RejectPolicy for unknown host keys.
    # version="auto" contacts the engine now, so failures surface here, not mid-run.
    if url is None:
        client = docker.from_env(timeout=timeout)  # DOCKER_HOST may be ssh:// too
    else:
        base = _ssh_sdk_url(url) if url.startswith("ssh://") else url
        client = docker.DockerClient(base_url=base, timeout=timeout, version="auto")
    if str(client.api.base_url).startswith("http+docker://ssh"):
        _one_ssh_pool(client)
    return client


def _list_dir(container: Container, path: str, running: bool) -> list[str] | None:
    """Regular files under ``path`` in the container; None when ``path`` is absent.

    A running container lists with ``find`` through exec (cheap: only names travel).
    A stopped one (or an image without ``find``) is listed from the archive stream's tar
    headers: this reads the directory's bytes once through the engine, bounded in memory,
    which is the only way the Engine API offers for a stopped container.
    """
    import docker.errors

    if running:
        try:
            res = container.exec_run(["find", path, "-type", "f"], stdout=True, stderr=True, demux=True)
            out, err = res.output if isinstance(res.output, tuple) else (res.output, b"")
            if res.exit_code == 0:
                return sorted(line for line in (out or b"").decode("utf-8", "surrogateescape").split("\n") if line)
            if b"No such file or directory" in (err or b"") and b"find" in (err or b""):
                return None
            # 126/127: no find in the image -> fall back to the archive listing below
        except docker.errors.APIError:
            pass  # stopped meanwhile / exec refused: fall back
    try:
        chunks, _stat = container.client.api.get_archive(container.id, path, chunk_size=CHUNK_SIZE)
    except docker.errors.NotFound:
        return None
    parent = posixpath.dirname(path.rstrip("/"))
    reader = ChunkReader(chunks, path, on_close=getattr(chunks, "close", None))
    files: list[str] = []
    try:
        with tarfile.open(fileobj=cast(BinaryIO, reader), mode="r|") as tar:
            for member in tar:
                if member.isfile():
                    files.append(posixpath.join(parent, member.name))
    finally:
        reader.close()
    return sorted(files)


def docker_sources(url: str | None, *, since: float | None, until: float | None,
                   containers: Sequence[str] | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> Iterator[LogSource | Problem]:
    """Yield the log streams of the OpenStack containers of one Docker engine.

    ``url``: ``unix:///path.sock``, ``tcp://host:port``, ``ssh://user@host[:port]`` (needs
    the ``paramiko`` package, i.e. ``docker[ssh]``; see "ssh:// engines" above) or None for ``DOCKER_HOST``/the
    default socket. ``since``/``until``: float epoch seconds, applied by the engine to the
    containers' stdout/stderr only; log files are yielded whole and the scan filters
    their records by time. ``containers``: read exactly these containers (by name or id)
    instead of discovering them; a missing one becomes a Problem. ``timeout``: seconds
    to wait for the engine.
    """
    engine = _engine_label(url)
    ssh = engine.startswith("ssh://")  # also DOCKER_HOST=ssh://... when url is None
    if ssh:
        msg = _ssh_precheck(engine, timeout)
        if msg:
            yield Problem(source=engine, message=msg, severity="error")
            return
    try:
        client = _connect(url, timeout)
        # The engine's own name, not the URL's host: ssh://root@10.0.0.12 reads as compute-02.
        host = str(client.info().get("Name") or "") or urlsplit(engine).hostname or "localhost"
    except Exception as exc:
        why = _ssh_reason(engine, exc, timeout) if ssh else _reason(exc, timeout)
        yield Problem(source=engine, message=f"cannot reach the Docker engine at {engine}: {why}",
                      severity="error")
        return
    try:
        yield from _engine_sources(client, engine, host, since=since, until=until, containers=containers,
                                   timeout=timeout)
    finally:
        client.close()


def _engine_sources(client: docker.DockerClient, engine: str, host: str, *, since: float | None,
                    until: float | None, containers: Sequence[str] | None,
                    timeout: float) -> Iterator[LogSource | Problem]:
    import docker.errors

    prefix = f"docker://{host}"
    chosen: list[tuple[str, Container]] = []
    try:
        if containers is not None:
            for ref in containers:
                try:
                    c = client.containers.get(ref)
                except docker.errors.NotFound:
                    yield Problem(source=f"{prefix}/{ref}", severity="error",
                                  message=f"no container {ref!r} on the engine {engine}")
                    continue
                chosen.append((service_name(c.attrs) or c.name or ref, c))
        else:
            for c in client.containers.list(all=True, ignore_removed=True):
                svc = service_name(c.attrs)
                if svc is not None:
                    chosen.append((svc, c))
            if not chosen:
                yield Problem(source=engine, message=f"no nova_*/neutron_* (Kolla/TripleO) containers on {host} ({engine})")
    except Exception as exc:
        yield Problem(source=engine, severity="error",
                      message=f"cannot list the containers of {engine}: {_reason(exc, timeout)}")
        return

    read_dirs: set[str] = set()
    for svc, c in sorted(chosen, key=lambda sc: _order(sc[0])):
        yield from _container_sources(client, c, svc, host, read_dirs, since=since, until=until)


def _container_sources(client: docker.DockerClient, c: Container, svc: str, host: str,
                       read_dirs: set[str], *, since: float | None,
                       until: float | None) -> Iterator[LogSource | Problem]:
    import docker.errors

    name = c.name or c.id or "?"
    origin = f"docker://{host}"
    where = f"{origin}/{name}"
    attrs = c.attrs
    state = (attrs.get("State") or {})
    status = str(state.get("Status") or c.status)
    if status == "restarting":
        yield Problem(source=where, message=(f"container is restarting (restart count "
                                             f"{attrs.get('RestartCount', '?')}, exit code "
                                             f"{state.get('ExitCode', '?')}): read as far as possible"))
    elif status in ("dead", "removing"):
        yield Problem(source=where, message=f"container is {status}: its logs may be incomplete")

    driver = str(((attrs.get("HostConfig") or {}).get("LogConfig") or {}).get("Type") or "")
    if driver == "none":
        yield Problem(source=where, message="logging driver 'none': the container's stdout/stderr was not kept")
    else:
        yield ContainerLogSource(client, c.id or name,
                                 SourceInfo(name=where, host=host,
                                            kind=kind_for_container(svc), origin=origin),
                                 since=since, until=until)

    dirs, kolla = _log_dirs(attrs, svc)
    if not dirs:
        yield Problem(source=where, message=(f"no log volume mounted (expected kolla_logs at {KOLLA_LOG_DIR} "
                                             f"or /var/log/<service>): only stdout/stderr was read"))
        return
    for path, key in dirs:
        if key in read_dirs:
            continue  # the same volume directory was read through another container
        read_dirs.add(key)
        try:
            files = _list_dir(c, path, running=status == "running")
        except docker.errors.NotFound:
            yield Problem(source=where, severity="error", message="container disappeared while being read")
            return
        except Exception as exc:
            yield Problem(source=f"{where}:{path}", message=f"cannot list the log directory: {_short(exc)}")
            continue
        if files is None:
            what = f"the {KOLLA_LOG_DIR} volume" if kolla else "the log mount"
            yield Problem(source=f"{where}:{path}",
                          message=f"log directory {path} is absent in {what} of container {name}")
            continue
        for f in files:
            if not _LOG_NAME_RE.search(posixpath.basename(f)):
                continue
            yield ContainerFileSource(client, c.id or name, f,
                                      SourceInfo(name=f"{where}:{f}", host=host,
                                                 kind=kind_for_log_path(f), origin=origin))
