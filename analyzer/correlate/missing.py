"""What evidence is missing, why it matters, and the command that gets it.

Each rule looks at one attempt and what the whole input contained:

* only one side's logs for an attempt whose other host is known → the other host's logs
  (the destination's libvirtd/QEMU log usually names the cause);
* no progress samples and no DEBUG line anywhere → nova runs without ``debug = True``;
* a QEMU crash and no QEMU instance log → ``/var/log/libvirt/qemu/<instance>.log``;
* a QEMU crash or a permission error and no audit/kernel log → ``/var/log/audit/audit.log``;
* a log that begins after the attempt began (rotated) → the rotated files;
* an oslo ``--tz`` mistake on a host → the ``--tz`` to rerun with;
* inputs that could not be read at all (``Problem`` with severity ``error``).

Every ``how`` is one concrete step an operator can run as written: a command (in backticks,
with the host it runs on when that is not where nma runs), never "copy X, or maybe Y". The
commands write files that ``nma analyze`` reads back: a tarball of the log files, raw
``ausearch --raw`` output (the audit.log format), ``journalctl -o export``. The same helpers
phrase what a collected bundle lacked (:func:`bundle_gap_how`, used by ``analyzer.analyze``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..model import CauseVerdict, Convergence, InputSummary, MissingEvidence, Outcome
from ..records import Problem, SourceKind
from .clock import TzMistake
from .items import Item, canon_host
from .migrations import Group

__all__ = ["InputContext", "build_context", "missing_evidence", "bundle_gap_how", "log_dirs"]

_QEMU_KINDS = {str(SourceKind.QEMU)}
_AUDIT_KINDS = {str(SourceKind.AUDIT), str(SourceKind.KERNEL)}
#: a source whose first relevant line is this close to its start is taken to begin there
_HEAD_LINES = 3
_LATE_START_S = 30.0


@dataclass(frozen=True, slots=True)
class InputContext:
    """Facts about the whole input that the per-attempt rules need."""

    hosts_with_logs: frozenset[str]
    qemu_hosts: frozenset[str]
    audit_hosts: frozenset[str]
    any_qemu: bool
    any_audit: bool
    has_debug: bool
    source_first: Mapping[str, tuple[int, float | None, str | None]]  # line, t, host
    problems: tuple[Problem, ...]
    tz_mistakes: Mapping[str, TzMistake]
    #: "kolla" | "tripleo" | None, from the paths of the inputs: where the other hosts' logs are
    deployment: str | None = None


def build_context(items: Sequence[Item], inputs: Sequence[InputSummary],
                  problems: Sequence[Problem],
                  tz_mistakes: Mapping[str, TzMistake]) -> InputContext:
    hosts = {it.host for it in items if it.host}
    qemu = {it.host for it in items if it.host and it.finding.record.kind == SourceKind.QEMU}
    audit = {it.host for it in items
             if it.host and it.finding.record.kind in (SourceKind.AUDIT, SourceKind.KERNEL)}
    any_qemu = any(it.finding.record.kind == SourceKind.QEMU for it in items)
    any_audit = bool(audit) or any(
        it.finding.record.kind in (SourceKind.AUDIT, SourceKind.KERNEL) for it in items)
    for inp in inputs:
        kind = (inp.kind or "").lower()
        host = canon_host(inp.host)
        if host:
            hosts.add(host)
        if kind in _QEMU_KINDS or "/libvirt/qemu/" in inp.name:
            any_qemu = True
            if host:
                qemu.add(host)
        if kind in _AUDIT_KINDS or "audit.log" in inp.name:
            any_audit = True
            if host:
                audit.add(host)
    first: dict[str, tuple[int, float | None, str | None]] = {}
    for it in items:
        rec = it.finding.record
        cur = first.get(rec.source)
        if cur is None or rec.line < cur[0]:
            first[rec.source] = (rec.line, it.tc, it.host)
    has_debug = any((it.finding.record.level or "").upper() == "DEBUG" for it in items)
    names = [inp.name for inp in inputs] + sorted({it.finding.record.source for it in items})
    return InputContext(
        hosts_with_logs=frozenset(hosts),
        qemu_hosts=frozenset(qemu),
        audit_hosts=frozenset(audit),
        any_qemu=any_qemu,
        any_audit=any_audit,
        has_debug=has_debug,
        source_first=first,
        problems=tuple(problems),
        tz_mistakes=tz_mistakes,
        deployment=_deployment(names),
    )


#: where nova and libvirt write their logs, per deployment tool (the layouts the collector
#: recognises, analyzer/sources/bundles.py: Kolla and TripleO bind-mount their containers'
#: /var/log/<service> there)
_LOG_DIRS: Mapping[str | None, tuple[str, str]] = {
    None: ("/var/log/nova", "/var/log/libvirt"),
    "kolla": ("/var/log/kolla/nova", "/var/log/kolla/libvirt"),
    "tripleo": ("/var/log/containers/nova", "/var/log/containers/libvirt"),
}
_NOVA_CONF = {None: "/etc/nova/nova.conf", "kolla": "/etc/kolla/nova-compute/nova.conf",
              "tripleo": "/var/lib/config-data/puppet-generated/nova_libvirt/etc/nova/nova.conf"}
#: margin around the attempt for time-bounded queries (clock skew, lines logged just before)
_QUERY_MARGIN = timedelta(minutes=5)


def _deployment(names: Sequence[str]) -> str | None:
    """The deployment tool the input's paths show (the other hosts are deployed the same)."""
    if any("/kolla/" in n for n in names):
        return "kolla"
    if any("/containers/nova/" in n or "/containers/libvirt/" in n for n in names):
        return "tripleo"
    return None


def log_dirs(deployment: str | None) -> tuple[str, str]:
    """(nova log directory, libvirt log directory) on a host of that deployment."""
    return _LOG_DIRS.get(deployment, _LOG_DIRS[None])


def _on(host: str | None, command: str) -> str:
    """``on compute-02: `command` `` (the host is left out when it is not known)."""
    return f"on {host}: `{command}`" if host else f"`{command}`"


def _as_dt(t: float | datetime | None) -> datetime | None:
    if t is None or isinstance(t, datetime):
        return t
    return datetime.fromtimestamp(t, UTC)


def _out_file(host: str | None, name: str) -> tuple[str, str]:
    """(``mkdir -p <host> && `` or "", ``<host>/<name>``): one directory per host, holding
    files whose names say what they are (``audit.log``, ``*.export``), so ``<host>=<host>/``
    is a ready nma input with the right host and source kind."""
    return (f"mkdir -p {host} && ", f"{host}/{name}") if host else ("", name)


def _audit_command(host: str | None, start: float | datetime | None) -> str:
    """Raw audit records of MAC denials since just before the attempt (audit.log format, which
    nma reads). ``ausearch -ts`` wants the *host's* local date format and time zone: ``date``
    on that host turns the epoch into exactly that (``date '+%x'`` is what ausearch's manual
    gives as the expected format), under the same ``sudo sh`` so the locale is the same."""
    mkdir, out = _out_file(host, "audit.log")
    begin = _as_dt(start)
    if begin is None:
        return f"{mkdir}sudo ausearch -m AVC,SELINUX_ERR,APPARMOR --raw > {out}"
    epoch = int((begin - _QUERY_MARGIN).timestamp())
    return (f"{mkdir}sudo sh -c 'ausearch -m AVC,SELINUX_ERR,APPARMOR --raw -ts "
            f"$(date -d @{epoch} +%x) $(date -d @{epoch} +%T)' > {out}")


def _journal_command(host: str | None, start: float | datetime | None,
                     end: float | datetime | None) -> str:
    """The system journal around the attempt in export format (nma reads it back; the
    ``UTC`` suffix makes journalctl read the bounds in UTC whatever the host's zone)."""
    mkdir, out = _out_file(host, "journal.export")
    parts = [f"{mkdir}sudo journalctl"]
    begin, finish = _as_dt(start), _as_dt(end)
    if begin is not None:
        parts.append(f"--since '{begin - _QUERY_MARGIN:%Y-%m-%d %H:%M:%S} UTC'")
    if finish is not None:
        parts.append(f"--until '{finish + _QUERY_MARGIN:%Y-%m-%d %H:%M:%S} UTC'")
    parts.append(f"-o export > {out}")
    return " ".join(parts)


def _tar_command(host: str | None, name: str, paths: Sequence[str]) -> str:
    """A tarball of log files (missing ones are skipped), run as root: log directories are
    often not readable by the login user. ``sh -c`` so that globs expand as root."""
    out = f"{host}-{name}.tar.gz" if host else f"{name}.tar.gz"
    return (f"sudo sh -c 'tar -czf - --ignore-failed-read {' '.join(paths)}' > {out}")


def _journal_dir_how(journal_files: Sequence[str]) -> str:
    """How to read binary journal files a bundle holds: ``--journal <their directory>``."""
    shown = journal_files[0]
    if "!" in shown:  # an archive member: extract its directory first
        archive, member = shown.split("!", 1)
        folder = posixpath.dirname(member) or "."
        extract = (f"unzip {archive} '{folder}/*' -d journal" if archive.endswith(".zip")
                   else f"tar -xf {archive} -C journal {folder}")
        return (f"`mkdir -p journal && {extract}`, then add `--journal journal/{folder}` to "
                "the nma command line")
    return f"add `--journal {posixpath.dirname(shown) or '.'}` to the nma command line"


def bundle_gap_how(label: str, host: str | None, *, deployment: str | None = None,
                   journal_files: Sequence[str] = (), start: datetime | None = None,
                   end: datetime | None = None) -> str:
    """The step that gets one kind of evidence a host's bundle lacked (``Bundle.lacking()``
    labels, ``analyzer.sources.bundles.EVIDENCE``)."""
    nova, libvirt = log_dirs(deployment)
    base = label.split(" (")[0]
    if base == "nova-compute log":
        return _on(host, _tar_command(host, "nova-compute", [f"{nova}/nova-compute.log*"]))
    if base == "libvirtd / virtqemud log":
        return _on(host, _tar_command(host, "libvirtd", [f"{libvirt}/libvirtd.log*",
                                                         f"{libvirt}/virtqemud.log*"]))
    if base == "QEMU instance logs":
        return _on(host, _tar_command(host, "qemu", [f"{libvirt}/qemu/"]))
    if base == "audit log":
        return _on(host, _audit_command(host, start))
    if base == "system log":
        if journal_files:
            return _journal_dir_how(journal_files)
        return _on(host, _journal_command(host, start, end))
    return _on(host, f"nma collect -o {host or 'host'}.tar.gz")


def _other_side(role: str, host: str, instance_name: str | None,
                deployment: str | None) -> MissingEvidence:
    nova, libvirt = log_dirs(deployment)
    qemu = f"{libvirt}/qemu/{instance_name}.log*" if instance_name else f"{libvirt}/qemu/"
    other = "source" if role == "destination" else "destination"
    why = (f"only the {other}'s logs are present; the {role} libvirtd/QEMU log usually names the "
           "cause" if role == "destination" else
           f"only the {other}'s logs are present; the source's nova-compute log carries "
           "'Live Migration failure' and the source libvirtd log the job error")
    paths = [f"{libvirt}/libvirtd.log*", f"{libvirt}/virtqemud.log*", qemu,
             f"{nova}/nova-compute.log*"]
    return MissingEvidence(
        what=f"{role} logs ({host})",
        why=why,
        how=_on(host, _tar_command(host, "logs", paths)),
    )


def _rotated_how(src: str, host: str | None) -> str:
    """Rotated copies next to a file are inputs to add; inside an archive, they are to be
    collected from the host (``var/log/x`` in a bundle is ``/var/log/x`` there)."""
    if "!" in src:
        member = "/" + src.split("!", 1)[1].lstrip("/")
        return _on(host, _tar_command(host, "rotated", [f"{member}.1", f"{member}.*.gz"]))
    return f"add `{src}.1` and `{src}.*.gz` to the nma inputs"


def missing_evidence(
    group: Group,
    primary: CauseVerdict | None,
    secondary: Sequence[CauseVerdict],
    convergence: Convergence | None,
    ctx: InputContext,
) -> tuple[MissingEvidence, ...]:
    out: list[MissingEvidence] = []
    outcome = group.outcome
    interesting = outcome is not Outcome.COMPLETED
    start, _ = group.span(corrected=True)

    # one side only
    if interesting:
        for role, host in (("destination", group.dest), ("source", group.source)):
            if host and host not in ctx.hosts_with_logs:
                out.append(_other_side(role, host, group.instance_name, ctx.deployment))

    # nova DEBUG off
    transferred = outcome in (Outcome.ROLLED_BACK, Outcome.ABORTED, Outcome.IN_PROGRESS) or any(
        it.marks & {"transfer_start", "progress"} for it in group.items
    )
    has_nova = any(it.finding.record.kind in (SourceKind.NOVA_COMPUTE, SourceKind.NOVA)
                   for it in group.items)
    if interesting and transferred and has_nova and convergence is None and not ctx.has_debug:
        out.append(MissingEvidence(
            what="nova live-migration progress samples",
            why=("Nova DEBUG is off, so progress samples are absent: convergence (memory "
                 "remaining over time) cannot be judged"),
            how=(f"on {group.source or 'the source compute'}: set [DEFAULT] debug = True in "
                 f"{_NOVA_CONF.get(ctx.deployment, _NOVA_CONF[None])}, restart nova-compute, "
                 "retry the migration"),
        ))

    causes = {v.cause for v in ([primary] if primary else []) + list(secondary)}
    # a QEMU crash explained by a specific primary cause needs no further digging
    unexplained = primary is None or primary.cause in ("qemu_crash", "other")
    crash = "qemu_crash" in causes and unexplained
    permission = any("Permission denied" in it.text for it in group.items)
    crash_host = group.dest or next(
        (it.host for it in group.items if it.cause == "qemu_crash" and it.host), None)
    if interesting and crash:
        have_qemu = (crash_host in ctx.qemu_hosts) if crash_host else ctx.any_qemu
        if not have_qemu:
            _, libvirt = log_dirs(ctx.deployment)
            name = group.instance_name or "<instance-name>"
            where = f" on {crash_host}" if crash_host else " on the destination"
            # without the guest name, nova knows it: ask it in the same command
            path = (f"{libvirt}/qemu/{group.instance_name}.log" if group.instance_name
                    else f"{libvirt}/qemu/$(openstack server show {group.instance_uuid} -f "
                         "value -c OS-EXT-SRV-ATTR:instance_name).log"
                    if group.instance_uuid else f"{libvirt}/qemu/<instance-name>.log")
            out_name = f"{crash_host}-qemu.log" if crash_host else "qemu.log"
            out.append(MissingEvidence(
                what=f"/var/log/libvirt/qemu/{name}.log{where}",
                why=("QEMU exited and its own log is absent: QEMU's last lines (a CPU, device "
                     "or migration-stream error) usually say why"),
                how=_on(crash_host, f"sudo cat {path} > {out_name}"),
            ))
    if interesting and (crash or (permission and unexplained)) \
            and "security_policy_denied" not in causes:
        audit_host = crash_host or group.dest
        have_audit = (audit_host in ctx.audit_hosts) if audit_host else ctx.any_audit
        if not have_audit:
            where = f" on {audit_host}" if audit_host else ""
            out.append(MissingEvidence(
                what=f"/var/log/audit/audit.log{where}",
                why=("an AppArmor or SELinux denial can kill QEMU or deny it a disk; it is "
                     "only in the audit (or kernel) log"),
                how=_on(audit_host, _audit_command(audit_host, start)),
            ))

    # logs that begin after the attempt began (rotation)
    if interesting and start is not None:
        sources = {it.finding.record.source for it in group.items}
        for src in sorted(sources):
            line, t, host = ctx.source_first.get(src, (0, None, None))
            if line <= _HEAD_LINES and t is not None and t > start + _LATE_START_S:
                out.append(MissingEvidence(
                    what=f"the part of {src} before the migration started",
                    why=(f"{src} begins {int(t - start)} s after the migration began: the "
                         "earlier lines were probably rotated away"),
                    how=_rotated_how(src, host),
                ))

    for host in sorted(group.hosts):
        tz = ctx.tz_mistakes.get(host)
        if tz is not None:
            out.append(MissingEvidence(
                what=f"the time zone of the oslo logs of {host}",
                why=tz.basis,
                how=tz.hint,
            ))

    if interesting:
        for p in ctx.problems:
            if p.severity == "error":
                out.append(MissingEvidence(
                    what=f"input {p.source}",
                    why=f"it could not be read: {p.message}",
                    how=(f"`ls -l {p.source.split('!', 1)[0]}`: fix the path or its "
                         "permissions (or the collector's access), then rerun nma"),
                ))
    return tuple(out)
