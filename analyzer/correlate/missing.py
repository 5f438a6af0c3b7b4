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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..model import CauseVerdict, Convergence, InputSummary, MissingEvidence, Outcome
from ..records import Problem, SourceKind
from .clock import TzMistake
from .items import Item, canon_host
from .migrations import Group

__all__ = ["InputContext", "build_context", "missing_evidence"]

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
    )


def _ausearch_start(start: float | None) -> str:
    if start is None:
        return "-ts recent"
    ts = datetime.fromtimestamp(start, UTC) - timedelta(minutes=5)
    return f"-ts {ts:%m/%d/%Y %H:%M:%S}"


def _other_side(role: str, host: str, instance_name: str | None) -> MissingEvidence:
    qemu = f"/var/log/libvirt/qemu/{instance_name or '<instance-name>'}.log"
    other = "source" if role == "destination" else "destination"
    why = (f"only the {other}'s logs are present; the {role} libvirtd/QEMU log usually names the "
           "cause" if role == "destination" else
           f"only the {other}'s logs are present; the source's nova-compute log carries "
           "'Live Migration failure' and the source libvirtd log the job error")
    return MissingEvidence(
        what=f"{role} logs ({host})",
        why=why,
        how=(f"run `nma collect` on {host}, or copy them: `scp {host}:/var/log/libvirt/"
             f"libvirtd.log {host}:{qemu} {host}:/var/log/nova/nova-compute.log .` "
             "(Kolla: `docker cp nova_libvirt:/var/log/kolla/libvirt/libvirtd.log .` and "
             "`docker cp nova_compute:/var/log/kolla/nova/nova-compute.log .` on that host)"),
    )


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
                out.append(_other_side(role, host, group.instance_name))

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
            how=("set [DEFAULT] debug = True in nova.conf on the source compute, restart "
                 "nova-compute and retry the migration"),
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
            name = group.instance_name or "<instance-name>"
            where = f" on {crash_host}" if crash_host else " on the destination"
            lookup = (f" (the name: `openstack server show {group.instance_uuid} -c "
                      "OS-EXT-SRV-ATTR:instance_name`)" if not group.instance_name
                      and group.instance_uuid else "")
            out.append(MissingEvidence(
                what=f"/var/log/libvirt/qemu/{name}.log{where}",
                why=("QEMU exited and its own log is absent: QEMU's last lines (a CPU, device "
                     "or migration-stream error) usually say why"),
                how=f"copy /var/log/libvirt/qemu/{name}.log from that host{lookup}",
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
                how=(f"`ausearch -m AVC,APPARMOR {_ausearch_start(start)}` on that host (the "
                     "time is the host's local time), or copy /var/log/audit/audit.log"),
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
                    how=f"add the rotated files too (e.g. `{src}.1`, `{src}.*.gz`)",
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
                    how="check the path and permissions (or the collector's access) and rerun",
                ))
    return tuple(out)
