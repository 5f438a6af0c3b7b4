"""Bundle layout and host identity: what a path is, which host it came from, what a bundle held.

A *bundle* is everything collected from one host: a sosreport (directory or tarball), a Kolla
or TripleO log tree, a plain copy of ``/var/log``, or an ``nma collect`` tarball. An input can
also be a *collection*: a directory or archive holding the bundles of many hosts, one per
top-level subdirectory or tarball. This module only reasons about *paths* (``/``-separated,
relative to the directory or archive being read) and a few small identity files, so the same
rules serve directories, tar streams and zip archives; :mod:`analyzer.sources.files` does the
reading.

Path rules (all case-insensitive, rotation and compression suffixes ignored)::

    nova-compute.log.3.gz            -> nova-compute      (also nova_compute.log: TripleO stdouts)
    nova-conductor.log / nova-api.log / nova-scheduler.log -> their service
    other nova-*.log, anything under nova/                  -> nova
    libvirtd.log virtqemud.log virtproxyd.log                -> libvirtd
    .../libvirt/qemu/instance-00000042.log                   -> qemu
    audit/audit.log.1                                        -> audit
    messages-20240102  syslog.1                              -> syslog
    kern.log  sos_commands/kernel/dmesg                      -> kernel
    neutron/*.log  neutron-*.log                             -> neutron
    sos_commands/logs/journalctl_--no-pager  *.export        -> journal
    *.journal  *.journal~                                    -> binary journal: not read here

Host identity, strongest first (:func:`choose_host`):

1. ``HOST=PATH`` on the command line;
2. a hostname file inside the bundle: ``hostname`` at a sosreport root,
   ``sos_commands/host/hostname``, ``sos_commands/general/hostname``, ``etc/hostname``
   (and, for a tree whose root is a ``var/log`` directory, ``../../etc/hostname``);
3. the host part of a sosreport name (``sosreport-compute-01-2024-05-01-abcdefg``), or the name
   of a bundle directory that is one host among several in a collection;
4. ``--host`` (``default_host``);
5. the name of a lone bundle directory or archive when it looks like a host name and is not a
   generic word (``log``, ``logs``, ``var``, ``nova``, ...).

Sosreport names are parsed best-effort: sos writes
``sosreport-{name}[-{label}][-{case}]-YYYY-MM-DD-{7 letters}`` (``friendly``) or
``sosreport-{name}[.{case}]-YYYYmmddHHMMSS`` (``legacy``); a label cannot be told apart from a
dash in the host name, so a hostname file, when present, always wins.

:func:`inventory` and :class:`Bundle` tell the report what evidence each bundle held, and
:func:`lacking` what a compute host's bundle is missing.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from ..records import LogSource, SourceInfo, SourceKind

__all__ = [
    "COMPRESSION_SUFFIXES",
    "ARCHIVE_SUFFIXES",
    "IDENTITY_FILES",
    "EVIDENCE",
    "BundleRoot",
    "Bundle",
    "ManifestEntry",
    "strip_compression",
    "rotation_stem",
    "rotation_key",
    "archive_suffix",
    "is_journal_file",
    "is_log_name",
    "structured_candidate",
    "kind_from_path",
    "detect_bundles",
    "find_root",
    "parse_hostname_file",
    "host_from_sosreport_name",
    "hostlike",
    "choose_host",
    "read_nma_manifest",
    "inventory",
    "lacking",
]

#: Single-file compression suffixes (decompression itself is chosen by magic bytes).
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4")

#: Archive suffixes, longest first so ``.tar.gz`` wins over ``.gz``.
ARCHIVE_SUFFIXES = (".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tgz", ".txz", ".tbz2",
                    ".tbz", ".tar", ".zip")

#: Files that name the host, relative to a bundle root, strongest first.
IDENTITY_FILES = ("hostname", "sos_commands/host/hostname", "sos_commands/general/hostname",
                  "etc/hostname")

_SOS_DIRS = frozenset({"sos_commands", "sos_reports", "sos_logs"})

#: Directory names that mark a copy of /var/log (or of Kolla's / TripleO's log volume).
_LOG_DIR_NAMES = frozenset({"nova", "libvirt", "audit", "kolla", "containers", "neutron",
                            "openvswitch", "journal"})

#: Words that are never host names, whatever the directory layout suggests.
_GENERIC_NAMES = _LOG_DIR_NAMES | frozenset({
    "log", "logs", "var", "tmp", "temp", "data", "_data", "export", "exports", "bundle",
    "bundles", "sosreport", "sosreports", "sos", "hosts", "nodes", "collected", "collection",
    "input", "inputs", "files", "archive", "archives", "qemu", "stdouts", "kolla_logs",
    "localhost", "localhost.localdomain", "none", "root", "home", "backup", "incident",
})

_COMPRESSION_RE = re.compile(r"\.(?:gz|bz2|xz|zst|lz4)$", re.IGNORECASE)
# logrotate ".N" and dateext "-YYYYMMDD[HH]", Python's TimedRotatingFileHandler ".YYYY-MM-DD"
_ROTATION_RE = re.compile(
    r"(?:\.(?P<n>\d{1,5})|[.-](?P<date>\d{4}-?\d{2}-?\d{2}(?:[-_]?\d{2,6})?))$")
_HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*")
_SOS_FRIENDLY_RE = re.compile(r"sosreport-(?P<name>.+)-\d{4}-\d{2}-\d{2}-[a-z]{7}")
_SOS_LEGACY_RE = re.compile(r"sosreport-(?P<name>[^.]+?)(?:\.[^-]+)?-\d{14}")
_CASE_ID_RE = re.compile(r"-\d{5,}$")


# --------------------------------------------------------------------------- path rules


def strip_compression(name: str) -> str:
    """``nova-compute.log.1.gz`` -> ``nova-compute.log.1``."""
    return _COMPRESSION_RE.sub("", name)


def rotation_stem(name: str) -> str:
    """The live file name behind a rotation: ``messages-20240102.gz`` -> ``messages``."""
    return _ROTATION_RE.sub("", strip_compression(name))


def rotation_key(name: str) -> tuple[str, int, int, str]:
    """Sort key putting rotations oldest first and the live file last.

    ``x.log.3.gz, x.log.2.gz, x.log.1, x.log`` and ``messages-20240101, messages-20240108,
    messages`` come out in that order, so a reader sees time moving forward.
    """
    base = strip_compression(name)
    m = _ROTATION_RE.search(base)
    if m is None:
        return (base, 2, 0, "")
    stem = base[: m.start()]
    if m.group("n") is not None:
        return (stem, 0, -int(m.group("n")), "")
    return (stem, 1, 0, re.sub(r"\D", "", m.group("date")))


def archive_suffix(name: str) -> str | None:
    """The archive suffix of a file name (``.tar.gz``, ``.zip``, ...), or None."""
    low = name.lower()
    for sfx in ARCHIVE_SUFFIXES:
        if low.endswith(sfx) and len(low) > len(sfx):
            return sfx
    return None


def strip_archive_suffix(name: str) -> str:
    sfx = archive_suffix(name)
    return name[: -len(sfx)] if sfx else name


def is_journal_file(name: str) -> bool:
    """A binary systemd journal file: the journal collector reads those, not this one."""
    low = posixpath.basename(name).lower()
    return low.endswith(".journal") or low.endswith(".journal~")


def is_log_name(path: str) -> bool:
    """Whether a file found by walking a tree is worth scanning, judged by its name alone."""
    stem = rotation_stem(posixpath.basename(path)).lower()
    return (stem.endswith(".log") or stem in ("messages", "syslog", "dmesg")
            or stem.startswith("journalctl"))


def structured_candidate(path: str) -> str | None:
    """``'json'`` / ``'export'`` for names that may hold journal or docker exports, ``'text'``
    for ``.txt``/``.out``/``.paste`` files that may hold pasted or grep-collected log lines.

    Such files are taken only when their first bytes look like an export or like log lines
    (the caller checks with :func:`looks_structured`); a sosreport holds many unrelated
    ``.json`` and ``.txt`` files.
    """
    stem = rotation_stem(posixpath.basename(path)).lower()
    if stem.endswith(".json"):
        return "json"
    if stem.endswith(".export"):
        return "export"
    if stem.endswith((".txt", ".out", ".paste")):
        return "text"  # pasted or grep-collected logs: taken when their lines look like logs
    return None


def looks_structured(head: bytes, what: str) -> bool:
    """Whether the first bytes of a ``.json`` / ``.export`` file are a log export."""
    if what == "export":
        return b"__CURSOR=" in head or b"__REALTIME_TIMESTAMP=" in head
    if what == "text":
        from ..parsers import is_record_start

        lines = [ln for ln in head.decode("latin-1").splitlines()[:-1] if ln.strip()][:5]
        return bool(lines) and sum(map(is_record_start, lines)) * 2 > len(lines)
    return (b'"__REALTIME_TIMESTAMP"' in head or b'"__CURSOR"' in head
            or head.lstrip().startswith(b'{"log":'))


def kind_from_path(path: str) -> SourceKind | None:
    """The :class:`SourceKind` a file's path implies, or None when the path says nothing.

    >>> kind_from_path("var/log/kolla/nova/nova-compute.log.2.gz")
    <SourceKind.NOVA_COMPUTE: 'nova-compute'>
    >>> kind_from_path("var/log/containers/libvirt/qemu/instance-0000002a.log").value
    'qemu'
    >>> kind_from_path("README") is None
    True
    """
    parts = [p for p in path.replace("\\", "/").lower().split("/") if p not in ("", ".")]
    if not parts:
        return None
    name, dirs = parts[-1], parts[:-1]
    if is_journal_file(name):
        return None
    stem = rotation_stem(name).replace("_", "-")
    if stem.endswith(".export"):
        return SourceKind.JOURNAL
    base = stem[:-4] if stem.endswith(".log") else stem
    if dirs and dirs[-1] == "qemu":
        return SourceKind.QEMU
    if base in ("libvirtd", "virtqemud", "virtproxyd", "nova-libvirt", "nova-virtqemud",
                "nova-virtproxyd"):
        return SourceKind.LIBVIRTD
    if base.startswith("nova-compute"):
        return SourceKind.NOVA_COMPUTE
    if base.startswith("nova-conductor"):
        return SourceKind.NOVA_CONDUCTOR
    if base.startswith("nova-scheduler"):
        return SourceKind.NOVA_SCHEDULER
    if base.startswith("nova-api") and "metadata" not in base:
        return SourceKind.NOVA_API
    if base.startswith("nova-") or base == "nova" or (dirs and dirs[-1] == "nova"):
        return SourceKind.NOVA
    if base == "audit":
        return SourceKind.AUDIT
    if base in ("messages", "syslog"):
        return SourceKind.SYSLOG
    if base in ("kern", "dmesg"):
        return SourceKind.KERNEL
    if base.startswith("journalctl"):
        return SourceKind.JOURNAL
    if "neutron" in dirs or base.startswith("neutron"):
        return SourceKind.NEUTRON
    return None


# --------------------------------------------------------------------------- bundle roots


@dataclass(frozen=True, slots=True)
class BundleRoot:
    """Where one bundle starts inside a tree.

    ``prefix`` is ``/``-separated and relative to the directory or archive read ('' = its top).
    ``layout``: ``sosreport`` | ``var-log`` (a filesystem copy holding ``var/log``) |
    ``log-dir`` (a copy of a log directory itself) | ``files`` (nothing recognisable).
    ``deployment``: ``kolla`` | ``tripleo`` | None. ``in_collection``: one host among several.
    ``leftover``: the files of a collection that sit outside every host bundle.
    """

    prefix: str
    layout: str = "files"
    deployment: str | None = None
    in_collection: bool = False
    leftover: bool = False


_STRONG = frozenset({"identity", "sos", "var-log", "log-dir"})


def _markers(paths: Iterable[Sequence[str]]) -> set[str]:
    marks: set[str] = set()
    for parts in paths:
        first = parts[0].lower()
        if len(parts) == 1:
            if first == "hostname":
                marks.add("identity")
            elif is_log_name(first) and kind_from_path(first) is not None:
                marks.add("loose-log")
            continue
        second = parts[1].lower()
        if first in _SOS_DIRS:
            marks.add("sos")
        elif first == "var" and second == "log":
            marks.add("var-log")
            if len(parts) > 3:
                if parts[2].lower() == "kolla":
                    marks.add("kolla")
                elif parts[2].lower() == "containers":
                    marks.add("tripleo")
        elif first == "etc" and second == "hostname" and len(parts) == 2:
            marks.add("identity")
        elif first in _LOG_DIR_NAMES:
            marks.add("log-dir")
            if first == "kolla":
                marks.add("kolla")
            elif first == "containers":
                marks.add("tripleo")
        elif first == "kolla_logs":  # docker volume copy: kolla_logs/_data/<service>/...
            marks.update(("log-dir", "kolla"))
    return marks


def _root(prefix: str, marks: set[str], *, in_collection: bool = False,
          leftover: bool = False) -> BundleRoot:
    if "sos" in marks:
        layout = "sosreport"
    elif "var-log" in marks:
        layout = "var-log"
    elif marks & {"log-dir", "loose-log"}:
        layout = "log-dir"
    else:
        layout = "files"
    deployment = "kolla" if "kolla" in marks else "tripleo" if "tripleo" in marks else None
    return BundleRoot(prefix, layout, deployment, in_collection, leftover)


def detect_bundles(paths: Iterable[str]) -> list[BundleRoot]:
    """Split a tree (its regular files' relative paths) into bundle roots.

    A tree whose top looks like a bundle (hostname file, ``sos_commands``, ``var/log``, or log
    directories such as ``nova/`` and ``libvirt/``) is one bundle. Otherwise each top-level
    directory that looks like a bundle is one host of a collection, and files outside them
    form a ``leftover`` bundle at the top. A tree that is a single wrapper directory is looked
    through (``export/compute-1/var/log/...``).

    >>> [r.prefix for r in detect_bundles(["c1/var/log/messages", "c2/nova/nova-compute.log"])]
    ['c1', 'c2']
    >>> detect_bundles(["sosreport-c1-2024-01-01-abcdefg/sos_commands/host/hostname"])[0].layout
    'sosreport'
    """
    split = [p.split("/") for p in paths if p]
    return _detect(split, "", 0)


def _detect(split: list[list[str]], prefix: str, depth: int) -> list[BundleRoot]:
    marks = _markers(split)
    if marks & _STRONG:
        return [_root(prefix, marks)]
    groups: dict[str, list[list[str]]] = {}
    loose = False
    for parts in split:
        if len(parts) == 1:
            loose = True
        else:
            groups.setdefault(parts[0], []).append(parts[1:])
    hosts: list[BundleRoot] = []
    for name in sorted(groups):
        if name.lower() in _GENERIC_NAMES:
            continue
        sub = _markers(groups[name])
        if sub & (_STRONG | {"loose-log"}):
            hosts.append(_root(posixpath.join(prefix, name), sub, in_collection=True))
    if len(hosts) == 1 and not loose and len(groups) == 1:
        return [BundleRoot(hosts[0].prefix, hosts[0].layout, hosts[0].deployment)]
    if hosts:
        taken = {posixpath.basename(h.prefix) for h in hosts}
        rest = [p for p in split if len(p) == 1 or p[0] not in taken]
        if len(hosts) == 1:  # one host plus loose files: not a collection of several
            hosts = [BundleRoot(hosts[0].prefix, hosts[0].layout, hosts[0].deployment)]
        if rest:
            hosts.append(_root(prefix, _markers(rest), leftover=True))
        return hosts
    if len(groups) == 1 and not loose and depth < 4:
        ((name, sub_paths),) = groups.items()
        return _detect(sub_paths, posixpath.join(prefix, name), depth + 1)
    return [_root(prefix, marks)]


def find_root(path: str, roots: Sequence[BundleRoot]) -> tuple[BundleRoot | None, str]:
    """The bundle a path belongs to (longest prefix) and the path relative to it."""
    best: BundleRoot | None = None
    for root in roots:
        p = root.prefix
        if (not p or path == p or path.startswith(p + "/")) and (
                best is None or len(p) > len(best.prefix)):
            best = root
    if best is None or not best.prefix:
        return best, path
    return best, path[len(best.prefix) + 1:]


# --------------------------------------------------------------------------- host identity


def parse_hostname_file(data: bytes) -> str | None:
    """The host name in a ``hostname`` file, or None (empty, ``localhost``, not a name)."""
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _HOST_RE.fullmatch(line) and line.lower() not in ("localhost", "localhost.localdomain"):
            return line
        return None
    return None


def host_from_sosreport_name(name: str) -> str | None:
    """``sosreport-compute-01-01234567-2024-05-01-abcdefg.tar.xz`` -> ``compute-01``.

    >>> host_from_sosreport_name("sosreport-cmp-2-2024-05-01-qwertyu.tar.xz")
    'cmp-2'
    >>> host_from_sosreport_name("sosreport-cmp2.0123-20190102030405")
    'cmp2'
    """
    base = strip_archive_suffix(posixpath.basename(name.rstrip("/")))
    m = _SOS_FRIENDLY_RE.fullmatch(base)
    if m:
        host = _CASE_ID_RE.sub("", m.group("name"))
        return host if _HOST_RE.fullmatch(host) else None
    m = _SOS_LEGACY_RE.fullmatch(base)
    if m and _HOST_RE.fullmatch(m.group("name")):
        return m.group("name")
    return None


def hostlike(name: str) -> str | None:
    """A bundle name usable as a host name: hostname syntax, not generic, not just digits."""
    base = strip_archive_suffix(posixpath.basename(name.rstrip("/")))
    if (not base or base.lower() in _GENERIC_NAMES or base.isdigit()
            or not _HOST_RE.fullmatch(base)):
        return None
    return base


def choose_host(*, override: str | None, identity: tuple[str, str] | None,
                bundle_name: str | None, in_collection: bool,
                default_host: str | None) -> tuple[str | None, str]:
    """Apply the precedence in the module docstring; returns ``(host, how it was found)``."""
    if override:
        return override, "HOST=PATH"
    if identity is not None:
        return identity[0], f"hostname file {identity[1]}"
    if bundle_name:
        sos = host_from_sosreport_name(bundle_name)
        if sos:
            return sos, "sosreport name"
        if in_collection:
            named = hostlike(bundle_name)
            if named:
                return named, "bundle directory name"
    if default_host:
        return default_host, "--host"
    if bundle_name:
        named = hostlike(bundle_name)
        if named:
            return named, "directory name"
    return None, "unknown"


# --------------------------------------------------------------------------- nma bundles


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file listed in an ``nma collect`` manifest: its host and kind as collected."""

    host: str | None
    kind: SourceKind | None
    source: str | None = None


def read_nma_manifest(data: bytes) -> dict[str, ManifestEntry] | None:
    """Member name -> entry for the ``manifest.json`` at the root of an ``nma collect`` bundle.

    Returns None when the data is not such a manifest (any other ``manifest.json``).
    """
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("tool"), dict):
        return None
    if doc["tool"].get("name") != "nma" or not isinstance(doc.get("collected"), list):
        return None
    out: dict[str, ManifestEntry] = {}
    for item in doc["collected"]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        kind: SourceKind | None = None
        try:
            kind = SourceKind(item["kind"]) if item.get("kind") else None
        except ValueError:
            kind = None
        host = item.get("host") if isinstance(item.get("host"), str) else None
        source = item.get("source") if isinstance(item.get("source"), str) else None
        out[item["name"]] = ManifestEntry(host, kind, source)
    return out


# --------------------------------------------------------------------------- inventory

#: What a compute host's bundle should hold for a live-migration post-mortem: a label and the
#: source kinds that satisfy it. The report lists the labels a bundle lacked.
EVIDENCE: tuple[tuple[str, frozenset[SourceKind]], ...] = (
    ("nova-compute log", frozenset({SourceKind.NOVA_COMPUTE})),
    ("libvirtd / virtqemud log", frozenset({SourceKind.LIBVIRTD})),
    ("QEMU instance logs (libvirt/qemu/*.log)", frozenset({SourceKind.QEMU})),
    ("audit log", frozenset({SourceKind.AUDIT})),
    ("system log (messages, syslog, kern.log or journal)",
     frozenset({SourceKind.SYSLOG, SourceKind.KERNEL, SourceKind.JOURNAL})),
)


@dataclass(frozen=True, slots=True)
class Bundle:
    """One bundle as found by the collector: host, layout, and the evidence it held.

    ``kinds`` are the kinds of the sources yielded for it (``UNKNOWN`` for files whose path
    says nothing); ``journal_files`` are binary journal files seen but not read (use
    ``--journal``); ``sources`` counts the streams yielded.
    """

    origin: str
    host: str | None
    host_from: str
    layout: str
    deployment: str | None
    kinds: frozenset[SourceKind]
    journal_files: tuple[str, ...] = ()
    sources: int = 0

    def lacking(self) -> list[str]:
        """The :data:`EVIDENCE` labels this bundle has nothing for."""
        return lacking(self.kinds, journal_files=len(self.journal_files))


def inventory(sources: Iterable[SourceInfo | LogSource]) -> dict[str, set[SourceKind]]:
    """Bundle origin -> the source kinds seen for it (``UNKNOWN`` when a kind is not known).

    Sources without an origin (loose files, stdin) are not part of any bundle and are left out.
    Feed it the sources of a run (or their :class:`SourceInfo`), then :func:`lacking` says
    what each bundle missed. :meth:`analyzer.sources.files.Collector.bundles` gives the same
    plus bundles that yielded nothing at all, host, layout and journal files.
    """
    out: dict[str, set[SourceKind]] = {}
    for item in sources:
        info = item.info if isinstance(item, LogSource) else item
        if info.origin is None:
            continue
        out.setdefault(info.origin, set()).add(info.kind or SourceKind.UNKNOWN)
    return out


def lacking(kinds: Collection[SourceKind], *, journal_files: int = 0) -> list[str]:
    """The :data:`EVIDENCE` labels not covered by ``kinds``.

    Binary journal files cover nothing (they were not read) but are mentioned, so the report
    can say how to get the evidence.

    >>> out = lacking({SourceKind.NOVA_COMPUTE, SourceKind.LIBVIRTD, SourceKind.QEMU},
    ...               journal_files=2)
    >>> out[0]
    'audit log'
    >>> out[1].endswith("(2 binary journal file(s) present: read them with --journal)")
    True
    """
    out: list[str] = []
    for label, satisfied_by in EVIDENCE:
        if satisfied_by & set(kinds):
            continue
        if SourceKind.JOURNAL in satisfied_by and journal_files:
            label += (f" ({journal_files} binary journal file(s) present: "
                      "read them with --journal)")
        out.append(label)
    return out
