"""The correlator's working view of one finding.

A :class:`~analyzer.records.Finding` says *what* a line is (pattern, cause, stage, captures);
the correlator also needs to know *where* it sits: which host wrote it, which instance and
request it belongs to, what the line tells about the host's role in the migration, and its
timestamp on a common clock. :class:`Item` carries exactly that, computed once per finding by
:func:`build_items`.

Items are mutable on purpose: the clock module fills in ``tz_fix`` and ``offset`` after the
migrations have been grouped (the skew estimate needs the groups, the groups need the
timestamps). They never leave the correlator; the frozen :mod:`analyzer.model` records do.

Role and timing *signals* are recognised from the message text with a small, fixed set of
regular expressions taken from ``shared/notes/messages.md`` (§2.1 lifecycle, §3 order). They
complement the pattern ``marks``: patterns are written by others and may not mark every line
the clock estimator needs (e.g. ``pre_live_migration result data is``), and the exact message
text of Nova/libvirt is stable across the versions listed there.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ..records import Finding, SourceKind
from ..catalogue.schema import Pattern

__all__ = [
    "CatalogueLike",
    "Item",
    "build_items",
    "canon_host",
    "GENERIC_CAUSES",
    "START_MARKS",
    "TERMINAL_MARKS",
    "TRANSFER_MARKS",
    "LIFECYCLE_MARKS",
    "WEAK_MARKS",
    "WEAK_SIGNALS",
    "to_datetime",
]


class CatalogueLike(Protocol):
    """What the correlator needs of a catalogue: pattern metadata by id."""

    def get(self, pattern_id: str) -> Pattern: ...


#: causes that describe a symptom rather than an explanation (shared/taxonomy.md, last paragraph)
GENERIC_CAUSES = frozenset({"qemu_crash", "other"})
#: a new attempt begins with one of these (after a terminal line of the previous attempt)
START_MARKS = frozenset({"attempt", "pre_live_migration", "transfer_start"})
#: lines that end an attempt
TERMINAL_MARKS = frozenset({"success", "failure", "rollback", "aborted"})
#: evidence that the destination was prepared or data moved (i.e. past the pre-checks)
TRANSFER_MARKS = frozenset(
    {"pre_live_migration", "transfer_start", "progress", "postcopy", "completed", "incoming"}
)
#: marks of the live-migration lifecycle (what happened to an attempt)
LIFECYCLE_MARKS = frozenset(
    {
        "attempt", "precheck", "precheck_failed", "pre_live_migration", "transfer_start",
        "progress", "postcopy", "completed", "post_migration", "success", "failure",
        "rollback", "aborted", "incoming", "names_destination", "names_source",
    }
)
#: marks that alone do not show a *live migration*: the same conductor and compute lines
#: ("Setting instance to ERROR state.", "Instance destroyed successfully.", "Exception during
#: message handling") are logged for boots, deletes and other operations too
WEAK_MARKS = frozenset(
    {"failure", "rollback", "precheck_failed", "names_destination", "names_source",
     "host_identity"}
)
#: signals (below) that do not show a live migration either: every VM start and claim logs them
WEAK_SIGNALS = frozenset({"qemu_start", "shutdown_failed", "claim"})

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Where an instance UUID sits in a line that has no `[instance: …]` prefix: libvirt's per-guest
# AppArmor profile, the QEMU command line, nova's own prefix inside joined continuation text.
_UUID_IN_TEXT = re.compile(
    rf"(?:profile=\"?libvirt-|label=\"?libvirt-|-uuid |\[instance: |guest=instance-[0-9a-f]+,uuid=)"
    rf"(?P<uuid>{_UUID})",
    re.IGNORECASE,
)
# Nova's default instance_name_template is `instance-%08x`; libvirt names the guest and its QEMU
# log file after it.
_INSTANCE_NAME = re.compile(r"(?<![\w-])(?P<name>instance-[0-9a-f]{8})(?![0-9a-f])")
_QEMU_LOG_NAME = re.compile(r"(?:^|[/!])(?P<name>instance-[0-9a-f]{8})\.log(?:\.\d+)?(?:\.gz)?$")
_REQ = re.compile(r"^req-" + _UUID + "$")
# The peer a source-side failure names in a URI (messages.md §2.6 row 118: "Failed to connect
# to remote libvirt URI qemu+ssh://10.226.0.59/system: …"; a migration URI tcp://host:port or
# QEMU's tcp:host:port). A virsh `--connect`/`-c` URI is the client's own libvirtd, not the
# peer, and a listen address (0.0.0.0, [::]) or loopback names no host.
_PEER_URI = re.compile(
    r"(?<![\w+.-])(?P<opt>(?:--connect[= ]|-c )\s*)?"
    r"(?:(?:qemu|xen|libxl|lxc|ch)(?:\+(?:ssh|libssh2?|tls|tcp|ext))?://(?:[^@/\s'\"]+@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9._-]*)(?::[0-9]+)?/"
    r"|tcp:(?://)?(?P<mhost>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9._-]*):[0-9]+)"
)
_NOT_A_PEER = frozenset({"localhost", "0.0.0.0", "::", "::1", "127.0.0.1"})
# the parsers write "assumed UTC (--tz)", "assumed +02:00 (--tz)", "assumed +02:00 Europe/Paris
# (--tz)" (parsers/_common.py tz_label)
_TZ_OFFSET = re.compile(r"(?<![\w-])(?:UTC)?(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2})?")

_SIGNAL_LITERALS = {
    "lm_failure": "Live Migration failure",
    "migrate_api": "migrate API",
    "took_plm": "for pre_live_migration on",
    "initiating": "initiating migration",
    "progress": "Migration running for",
    "success": "finished successfully",
    "monitor_start": "Starting monitoring",
    "op_completed": "has completed",
    "op_aborted": "has aborted",
    "post_src": "_post_live_migration()",
    "plm_failed": "Pre live migration failed",
    "not_completed": "Live migration ",
    "migrated": "reason=migrated",
    "downtime": "Increasing downtime",
    "lm_data": "live_migration data is",
    "source_check": "source check data",
    "migration_out": "migration out",
    "plm_data": "pre_live_migration data is",
    "plm_result": "result data is",
    "plm_driver": "pre_live_migration",
    "post_dest": "Post operation",
    "incoming_cmd": " -incoming ",
    "dest_check": "destination check data",
    "tmpfile": "Creating tmpfile",
    "cpu_compat": "have compatibility",
    "shutdown_failed": "reason=failed",
    "migration_in": "migration in",
    "load_failed": "load of migration",
    "claim": "laim",
    "plug_vifs": "Plugging VIFs",
    "connect_volumes": "Connecting volumes",
    "qemu_start": "starting up libvirt",
    "canceled": "canceled by client",
    "skipping_host": "Skipping host: ",
    "migrate_server": "compute_task_migrate_server",
    "lm_failed": "Live migration failed",
    "conductor_failed": "unexpectedly failed",
}

#: (signal name, regex over the message, role of the host that writes it or None).
#: Order matters only for readability; every signal that matches is recorded. Each regex is
#: tried only when its literal (_SIGNAL_LITERALS) is in the message: a substring test is ~20x
#: cheaper than a regex search, and most findings match one signal at most.
_SIGNALS: tuple[tuple[str, str, re.Pattern[str], str | None], ...] = tuple(
    (name, _SIGNAL_LITERALS[name], re.compile(rx), role)
    for name, rx, role in (
        # -- source compute (messages.md §2.1 rows 16-45, §3.2, §3.4)
        ("lm_failure", r"Live Migration failure: ", "source"),
        ("migrate_api", r"About to invoke the migrate API", "source"),
        ("took_plm", r"Took (?P<secs>[0-9]+(?:\.[0-9]+)?) seconds for pre_live_migration on "
                     r"destination host", "source"),
        ("initiating", r"initiating migration", "source"),
        ("progress", r"Migration running for [0-9]+ secs", "source"),
        ("success", r"Migrating instance to \S+ finished successfully", "source"),
        ("monitor_start", r"Starting monitoring of live migration", "source"),
        ("op_completed", r"Migration operation has completed", "source"),
        ("op_aborted", r"Migration operation has aborted", "source"),
        ("post_src", r"_post_live_migration\(\) is started", "source"),
        ("plm_failed", r"Pre live migration failed at ", "source"),
        ("not_completed", r"Live migration (?:not completed after|stuck for) [0-9]+ sec", "source"),
        ("migrated", r"shutting down, reason=migrated", "source"),
        ("downtime", r"Increasing downtime to", "source"),
        ("lm_data", r"(?<![\w ])live_migration data is|^live_migration data is", "source"),
        ("source_check", r"source check data is", "source"),
        ("migration_out", r"job 'migration out'|migration out job", "source"),
        # -- destination compute
        ("plm_data", r"(?<!driver )pre_live_migration data is", "destination"),
        ("plm_result", r"pre_live_migration result data is", "destination"),
        ("plm_driver", r"driver pre_live_migration data is|migrate_data in pre_live_migration",
         "destination"),
        ("post_dest", r"Post operation of migration started", "destination"),
        ("incoming_cmd", r" -incoming ", "destination"),
        ("dest_check", r"destination check data is", "destination"),
        ("tmpfile", r"Creating tmpfile \S+ to notify to other compute nodes", "destination"),
        ("cpu_compat", r"CPU doesn't have compatibility", "destination"),
        ("shutdown_failed", r"shutting down, reason=failed", "destination"),
        ("migration_in", r"job 'migration in'|migration in job", "destination"),
        ("load_failed", r"load of migration failed", "destination"),
        ("claim", r"Claim successful on node|Created live migration claim", "destination"),
        ("plug_vifs", r"Plugging VIFs (?:using destination host port bindings )?before live "
                      r"migration", "destination"),
        ("connect_volumes", r"Connecting volumes before live migration", "destination"),
        # -- role depends on context
        ("qemu_start", r"starting up libvirt version", None),
        ("canceled", r"canceled by client", None),
        ("skipping_host", r"Skipping host: ", None),
        ("migrate_server", r"Failed to compute_task_migrate_server: ", None),
        ("lm_failed", r"Live migration failed\.", "source"),
        ("conductor_failed", r"Migration of instance \S+ to host \S+ unexpectedly failed", None),
    )
)

_MARK_ROLES = {
    "incoming": "destination",
    "transfer_start": "source",
    "progress": "source",
    "success": "source",
    "postcopy": "source",
}

_CONDUCTOR_KINDS = frozenset(
    {SourceKind.NOVA_CONDUCTOR, SourceKind.NOVA_API, SourceKind.NOVA_SCHEDULER}
)
_CONDUCTOR_LOGGERS = ("nova.conductor", "nova.scheduler.utils", "nova.scheduler.manager",
                      "nova.api")


@functools.lru_cache(maxsize=4096)
def canon_host(name: str | None) -> str | None:
    """One spelling per host: lower case, short name (``compute-02.example.org`` →
    ``compute-02``).

    IP addresses are kept whole. Reports show this spelling, so two logs that disagree about
    the domain part still land on one host.
    """
    if name is None:
        return None
    value = name.strip().strip(".").lower()
    if not value:
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return value.split(".", 1)[0]
    return value


def to_datetime(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


@dataclass(slots=True, eq=False)
class Item:
    """One finding plus everything the correlator derived for it (see module docstring)."""

    idx: int
    finding: Finding
    pattern: Pattern | None
    marks: frozenset[str]
    signals: frozenset[str]
    host: str | None
    t_raw: float | None  # Record.timestamp as epoch seconds (UTC, as logged)
    tz: str  # "explicit" | "assumed" | "unknown"
    assumed_utc_offset_s: float | None  # the --tz offset the parser applied, when known
    instance_uuid: str | None
    instance_name: str | None
    request_id: str | None
    conductor: bool
    role_hint: str | None
    took_secs: float | None = None
    dest_named: str | None = None  # captured `dest`: the destination this line names
    src_named: str | None = None  # captured `src`: the source this line names
    #: the peer host in a libvirt/migration URI of a failure line: the destination, named by
    #: the source (weakest way to learn the destination; see ``_peer_from_uri``)
    dest_uri: str | None = None
    tz_fix: float = 0.0  # whole-hour correction for a --tz mistake (assumed stamps only)
    offset: float = 0.0  # clock offset of the host relative to the reference host

    # -- convenience -------------------------------------------------------------------------
    @property
    def t(self) -> float | None:
        """Timestamp after the --tz correction, before the drift correction."""
        return None if self.t_raw is None else self.t_raw + self.tz_fix

    @property
    def tc(self) -> float | None:
        """Timestamp on the reference clock (tz fix and drift offset applied)."""
        return None if self.t_raw is None else self.t_raw + self.tz_fix + self.offset

    @property
    def kind(self) -> str:
        return self.finding.kind

    @property
    def cause(self) -> str | None:
        return self.finding.cause if self.finding.kind == "cause" else None

    @property
    def text(self) -> str:
        return self.finding.record.text

    @property
    def message(self) -> str:
        return self.finding.record.message or self.finding.record.text

    @property
    def key(self) -> tuple[str, int]:
        """The physical record: two findings on one line share it."""
        return (self.finding.record.source, self.finding.record.line)

    @property
    def confidence(self) -> float:
        return self.pattern.confidence if self.pattern is not None else 0.5

    @property
    def title(self) -> str:
        return self.pattern.title if self.pattern is not None else self.finding.pattern_id

    @property
    def severity(self) -> str:
        return self.finding.severity

    @property
    def stage(self) -> str | None:
        return self.finding.stage

    @property
    def is_error(self) -> bool:
        return self.finding.severity in ("error", "critical")

    def field(self, name: str) -> str | None:
        value = self.finding.fields.get(name)
        return value if value else None

    def sort_key(self, corrected: bool = True) -> tuple[int, float, str, int, int]:
        ts = self.tc if corrected else self.t
        return (ts is None, ts if ts is not None else 0.0, self.finding.record.source,
                self.finding.record.line, self.idx)


#: characters that end one component of a source name: a directory, an archive member
#: (``bundle.tar!member``), a Docker container (``engine:container``), a journal
#: (``origin#host/unit``), a file name's extension (``compute-1.tar.gz``)
_SOURCE_BOUNDARY = frozenset("/\\!:#.")


def _prefix_of(key: str, source: str) -> bool:
    """``key`` is a whole leading part of ``source``: ``compute-1`` is one of
    ``compute-1/nova-compute.log`` but not of ``compute-10/nova-compute.log``."""
    if not key or not source.startswith(key):
        return False
    return (len(source) == len(key) or key[-1] in _SOURCE_BOUNDARY
            or source[len(key)] in _SOURCE_BOUNDARY)


def _lookup_host(source: str, hosts: Mapping[str, str]) -> str | None:
    """``hosts`` maps a source name (or a prefix of it, e.g. a bundle, or a file's basename)
    to the host that wrote it."""
    if source in hosts:
        return hosts[source]
    best: tuple[int, str] | None = None
    base = source.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    for key, value in hosts.items():
        if _prefix_of(key, source) or base == key:
            if best is None or len(key) > best[0]:
                best = (len(key), value)
    return best[1] if best else None


def _resolve(name: str | None, alias: Mapping[str, str | None]) -> str | None:
    """Canonical host name, through the ``hosts`` mapping when it names an alias (an IP)."""
    host = canon_host(name)
    if host is not None and alias.get(host):
        return alias[host]
    return host


def _peer_from_uri(text: str) -> str | None:
    """The remote host of the last peer URI in a line (None for loopback/listen addresses).

    The last one: virsh prints ``virsh --connect qemu+tcp://localhost/system migrate … <dest
    URI>``, nova ``Failed to connect to remote libvirt URI <dest URI>: …`` twice (message and
    exception summary), and the destination URI is never followed by the local one.
    """
    if "tcp:" not in text and "://" not in text:
        return None  # most lines: no URI at all, skip the regex
    peer: str | None = None
    for m in _PEER_URI.finditer(text):
        if m.group("opt"):
            continue
        host = (m.group("host") or m.group("mhost") or "").strip("[]").lower()
        if host and host not in _NOT_A_PEER and not host.startswith("127."):
            peer = host
    return peer


def _assumed_offset(tz_assumption: str | None) -> float | None:
    if not tz_assumption:
        return None
    m = _TZ_OFFSET.search(tz_assumption)
    if m is None:
        return 0.0 if "UTC" in tz_assumption else None
    sec = int(m.group("h")) * 3600 + int(m.group("m") or 0) * 60
    return float(sec if m.group("sign") == "+" else -sec)


def build_items(
    findings: Iterable[Finding],
    catalogue: CatalogueLike,
    hosts: Mapping[str, str] | None = None,
) -> list[Item]:
    """Normalise findings into :class:`Item` s (hosts, instance, request, role hints).

    Host of a line: ``Record.host`` (set by collectors), else the ``hosts`` mapping, else a
    ``hostname`` captured by a ``host_identity`` line of the same source (QEMU's
    ``starting up … hostname: X``). Instance: ``Record.instance_uuid``, a captured
    ``instance_uuid``, or a UUID in a known position of the text; lines that only name the
    libvirt guest (``instance-0000002a``) are mapped to the UUID when some other line pairs
    the two.
    """
    hosts = hosts or {}
    alias = {canon_host(k) or k: canon_host(v) for k, v in hosts.items()}
    findings = list(findings)
    patterns: dict[str, Pattern | None] = {}
    for f in findings:
        if f.pattern_id not in patterns:
            try:
                patterns[f.pattern_id] = catalogue.get(f.pattern_id)
            except (KeyError, LookupError, ValueError):
                patterns[f.pattern_id] = None  # unknown id: keep the finding, defaults apply

    # A source's host from a host_identity line, for sources whose collector did not know it.
    identity: dict[str, str] = {}
    for f in findings:
        pat = patterns[f.pattern_id]
        if pat is not None and "host_identity" in pat.marks and f.fields.get("hostname"):
            identity.setdefault(f.record.source, f.fields["hostname"])

    items: list[Item] = []
    for idx, f in enumerate(findings):
        rec = f.record
        pat = patterns[f.pattern_id]
        marks = frozenset(pat.marks) if pat is not None else frozenset()
        raw_host = rec.host or _lookup_host(rec.source, hosts) or identity.get(rec.source)
        host = _resolve(raw_host, alias)
        message = rec.message or rec.text
        signals: set[str] = set()
        role: str | None = None
        took: float | None = None
        for name, literal, rx, sig_role in _SIGNALS:
            if literal not in message:
                continue
            m = rx.search(message)
            if m is None:
                continue
            signals.add(name)
            if name == "took_plm":
                took = float(m.group("secs"))
            if sig_role is not None and role is None:
                role = sig_role
        if role is None:
            for mark, mark_role in _MARK_ROLES.items():
                if mark in marks:
                    role = mark_role
                    break
        uuid = rec.instance_uuid or f.fields.get("instance_uuid") or None
        if uuid is None:
            m = _UUID_IN_TEXT.search(rec.text)
            if m is not None:
                uuid = m.group("uuid")
        name_m = _INSTANCE_NAME.search(rec.text)
        inst_name = name_m.group("name") if name_m else None
        if inst_name is None and (rec.kind == SourceKind.QEMU or "/qemu/" in rec.source):
            m2 = _QEMU_LOG_NAME.search(rec.source)
            inst_name = m2.group("name") if m2 else None
        req = rec.request_id or f.fields.get("request_id") or None
        if req is None and rec.global_request_id and _REQ.match(rec.global_request_id):
            req = rec.global_request_id
        # nova-compute also logs through nova.scheduler.client.report (placement): only a line
        # whose service is unknown is judged by its logger
        conductor = rec.kind in _CONDUCTOR_KINDS or (
            rec.kind != SourceKind.NOVA_COMPUTE and rec.logger is not None
            and rec.logger.startswith(_CONDUCTOR_LOGGERS)
        )
        tz_text = rec.tz_assumption or ""
        tz = "explicit" if tz_text == "explicit" else ("assumed" if tz_text.startswith("assumed")
                                                       else "unknown")
        items.append(
            Item(
                idx=idx,
                finding=f,
                pattern=pat,
                marks=marks,
                signals=frozenset(signals),
                host=host,
                t_raw=rec.timestamp.timestamp() if rec.timestamp is not None else None,
                tz=tz,
                assumed_utc_offset_s=_assumed_offset(rec.tz_assumption) if tz == "assumed"
                else None,
                instance_uuid=uuid.lower() if uuid else None,
                instance_name=inst_name,
                request_id=req,
                conductor=conductor,
                role_hint=None if conductor else role,
                took_secs=took,
                dest_named=_resolve(f.fields.get("dest"), alias),
                dest_uri=(_resolve(_peer_from_uri(rec.text), alias)
                          if f.kind == "cause" or marks & {"failure", "precheck_failed"}
                          else None),
                src_named=_resolve(f.fields.get("src"), alias),
            )
        )
    _map_instance_names(items)
    return items


def _map_instance_names(items: list[Item]) -> None:
    """Give name-only lines (QEMU log, ``vm='instance-…'``) the UUID another line pairs them with.

    Pairs come from lines that carry both (nova DEBUG dumps, the QEMU command line with
    ``-name guest=…`` and ``-uuid …``) and from a QEMU log file whose name is the guest name
    and in which some line carries the UUID. A name paired with two different UUIDs is
    ambiguous (names are only unique per cell) and is not used.
    """
    pairs: dict[str, set[str]] = {}
    by_source_name: dict[str, str] = {}
    for it in items:
        if it.instance_name and it.instance_uuid:
            pairs.setdefault(it.instance_name, set()).add(it.instance_uuid)
        if it.instance_name and it.finding.record.kind == SourceKind.QEMU:
            by_source_name[it.finding.record.source] = it.instance_name
    for it in items:
        src_name = by_source_name.get(it.finding.record.source)
        if src_name and it.instance_uuid:
            pairs.setdefault(src_name, set()).add(it.instance_uuid)
    mapping = {name: next(iter(uuids)) for name, uuids in pairs.items() if len(uuids) == 1}
    reverse = {uuid: name for name, uuid in mapping.items()}
    for it in items:
        if it.instance_uuid is None and it.instance_name in mapping:
            it.instance_uuid = mapping[it.instance_name]
        elif it.instance_name is None and it.instance_uuid is not None:
            it.instance_name = reverse.get(it.instance_uuid)
