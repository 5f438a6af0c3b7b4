"""The correlator: findings of all inputs → one :class:`~analyzer.model.Report`.

Pipeline (one module per step)::

    items.py        findings → Items (host, instance, request id, role/timing signals)
    migrations.py   Items → one group per live-migration attempt; roles; outcome
    clock.py        --tz mistakes per host; drift between hosts from causal pairs
    convergence.py  progress samples → trend
    rootcause.py    candidates → primary cause + ranked secondary causes + remediation
    missing.py      what evidence is absent and how to get it
    __init__.py     assembly (this file)

Order matters: a ``--tz`` mistake is detected first, on hosts that have both oslo and
libvirt/QEMU lines of the same events, so that grouping works on fixed stamps; attempts are
grouped on request ids and UUIDs, host/time-only lines attached by window, and only then is
the drift between hosts estimated (it needs the source/destination roles of each attempt) and
applied to every timestamp the report shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from .. import __version__
from ..model import (
    InputSummary,
    Migration,
    Outcome,
    Report,
    Summary,
    TimelineEntry,
)
from ..records import Finding, Problem, SourceKind
from .clock import apply_tz_fixes, choose_reference, detect_tz_mistakes, estimate_offsets
from .convergence import build_convergence
from .items import GENERIC_CAUSES, CatalogueLike, Item, build_items, canon_host, to_datetime
from .migrations import (
    Group,
    assign_roles,
    attach_unanchored,
    decide_outcome,
    group_anchored,
    is_failure_like,
    shows_migration,
    substantive,
)
from .missing import build_context, missing_evidence
from .rootcause import rank_causes

__all__ = ["ScanResultLike", "CatalogueLike", "correlate"]


class ScanResultLike(Protocol):
    """What the correlator reads of ``analyzer.scan.ScanResult``."""

    @property
    def findings(self) -> Sequence[Finding]: ...

    @property
    def problems(self) -> Sequence[Problem]: ...

    @property
    def inputs(self) -> Sequence[InputSummary]: ...


def _line_rank(it: Item, primary: str | None) -> tuple[bool, bool, bool, float, int]:
    """How well one classification describes its line; the highest is kept for the timeline.

    The root cause's own classification first (the entry the reports highlight), then a
    cause over an event (``Live Migration failure: <libvirt error>`` is both), a specific
    cause over a generic one, the higher pattern confidence, the first finding.
    """
    return (primary is not None and it.cause == primary, it.kind == "cause",
            it.cause is not None and it.cause not in GENERIC_CAUSES, it.confidence, -it.idx)


def _timeline(group: Group, primary: str | None = None) -> tuple[TimelineEntry, ...]:
    """One entry per physical line, ``(source, line)``: a line several patterns classify
    (LM111 and LM115 on one traceback line; LM046, LM143 and LM150 on one failure line) is
    shown once, under its most specific pattern (:func:`_line_rank`). Every classification
    still counted for the verdict (the ranking reads the items, not the timeline)."""
    best: dict[tuple[str, int], Item] = {}
    for it in group.items:
        cur = best.get(it.key)
        if cur is None or _line_rank(it, primary) > _line_rank(cur, primary):
            best[it.key] = it
    entries = []
    for it in sorted(best.values(), key=lambda it: it.sort_key()):
        rec = it.finding.record
        entries.append(TimelineEntry(
            timestamp=to_datetime(it.tc),
            raw_timestamp=rec.timestamp,
            host=it.host,
            role=group.role_of(it),
            kind=it.kind,
            stage=it.stage,
            cause=it.cause,
            pattern_id=it.finding.pattern_id,
            title=it.title,
            severity=it.severity,
            source=rec.source,
            line=rec.line,
            text=rec.text,
        ))
    return tuple(entries)


def _hosts_ordered(group: Group) -> tuple[str, ...]:
    first = [h for h in (group.source, group.dest) if h]
    rest = sorted(group.hosts - set(first))
    return tuple(dict.fromkeys(first + rest))


def _migration_ids(groups: Sequence[Group]) -> list[str]:
    """``<uuid prefix>-<attempt n>`` (time order per instance), ``unknown-<n>`` otherwise.

    The 8-character prefix is what operators read; it is lengthened to the whole UUID only
    when two instances of the input share it.
    """
    prefixes: dict[str, set[str]] = {}
    for g in groups:
        if g.instance_uuid:
            prefixes.setdefault(g.instance_uuid[:8], set()).add(g.instance_uuid)
    attempts: dict[str, int] = {}
    ids: list[str] = []
    unknown = 0
    for g in groups:
        if g.instance_uuid:
            attempts[g.instance_uuid] = attempts.get(g.instance_uuid, 0) + 1
            short = g.instance_uuid[:8]
            name = short if len(prefixes[short]) == 1 else g.instance_uuid
            ids.append(f"{name}-{attempts[g.instance_uuid]}")
        else:
            unknown += 1
            ids.append(f"unknown-{unknown}")
    return ids


_COMPUTE_KINDS = frozenset({SourceKind.NOVA_COMPUTE, SourceKind.LIBVIRTD, SourceKind.QEMU})


def _compute_hosts(items: Sequence[Item], inputs: Sequence[InputSummary]) -> set[str]:
    """Hosts whose compute-side logs (nova-compute, libvirtd, QEMU) are in the input."""
    hosts = {it.host for it in items
             if it.host and not it.conductor and it.finding.record.kind in _COMPUTE_KINDS}
    for inp in inputs:
        host = canon_host(inp.host)
        if host and (inp.kind or "") in {str(k) for k in _COMPUTE_KINDS}:
            hosts.add(host)
    return hosts


def _by_elimination(group: Group, computes: set[str]) -> None:
    """One side known, the other silent: when the input holds exactly one other compute host,
    that is the other side (an operator collects the source, the destination and a
    controller; a pre-check failure leaves no line of the request on the source)."""
    if group.dest and not group.source:
        others = computes - {group.dest}
        if len(others) == 1:
            group.source = others.pop()
    elif group.source and not group.dest:
        others = computes - {group.source}
        if len(others) == 1:
            group.dest = others.pop()


def _by_uri(group: Group) -> None:
    """No line and no elimination named the destination: take the peer host of a libvirt or
    migration URI in the failure text (``Failed to connect to remote libvirt URI
    qemu+ssh://10.226.0.59/system``), canonicalised like every other host name.

    Last resort on purpose: the URI spells the host as ``live_migration_inbound_addr`` does
    (often an IP on the migration network), which matches no log's host name; a destination
    known by name from its own lines or by elimination keeps its name. The most frequent peer
    wins, the earliest line on a tie.
    """
    if group.dest:
        return
    counts: dict[str, int] = {}
    for it in sorted(group.items, key=lambda it: it.sort_key(corrected=False)):
        if it.dest_uri and it.dest_uri != group.source:
            counts[it.dest_uri] = counts.get(it.dest_uri, 0) + 1
    if counts:
        group.dest = max(counts, key=lambda h: counts[h])  # stable: first seen on a tie


def _input_end(items: Sequence[Item]) -> dict[str | None, float]:
    end: dict[str | None, float] = {}
    for it in items:
        if it.t is not None and (it.host not in end or it.t > end[it.host]):
            end[it.host] = it.t
    return end


#: how the headline says what happened to the attempt (never the raw enum value)
_OUTCOME_PHRASES = {
    Outcome.COMPLETED: "completed",
    Outcome.ROLLED_BACK: "was rolled back",
    Outcome.ABORTED: "was aborted",
    Outcome.FAILED_PRECHECK: "failed its pre-checks",
    Outcome.IN_PROGRESS: "was still in progress when the logs end",
    Outcome.UNKNOWN: "has no outcome in the logs",
}


def _attempt_sentence(m: Migration) -> str:
    """``The migration of instance <uuid> from A to B was rolled back``: the parts the logs do
    not give (instance, either host) are left out rather than shown as ``unknown``/``?``."""
    parts = ["The migration"]
    if m.instance_uuid:
        parts.append(f"of instance {m.instance_uuid}")
    if m.source_host:
        parts.append(f"from {m.source_host}")
    if m.dest_host:
        parts.append(f"to {m.dest_host}")
    parts.append(_OUTCOME_PHRASES.get(m.outcome, str(m.outcome).replace("_", " ")))
    return " ".join(parts)


def _summary(migrations: Sequence[Migration]) -> Summary:
    failed = [m for m in migrations if m.outcome.failed]
    causes: dict[str, int] = {}
    for m in migrations:
        if m.root_cause is not None:
            causes[m.root_cause.cause] = causes.get(m.root_cause.cause, 0) + 1
    # the first failed attempt decides; an attempt whose outcome is unknown but whose lines
    # name a cause (a pasted error) decides only when nothing failed for certain
    lead = next((m for m in failed if m.root_cause is not None), None)
    if lead is None:
        lead = next((m for m in migrations if m.outcome is not Outcome.COMPLETED
                     and m.root_cause is not None), None)
    rc = lead.root_cause if lead is not None else None
    total = len(migrations)
    completed = sum(1 for m in migrations if m.outcome is Outcome.COMPLETED)
    noun = "migration" if total == 1 else "migrations"
    if lead is not None and rc is not None:
        where = ""
        ev_host = next((e.host for e in rc.evidence if e.role == "cause" and e.host), None)
        if ev_host:
            role = ("destination" if ev_host == lead.dest_host else
                    "source" if ev_host == lead.source_host else None)
            where = f" on {ev_host}" + (f" ({role})" if role else "")
        if failed:
            head = f"{len(failed)} of {total} live {noun} failed"
        else:
            head = f"{total} live {noun} analysed"
        title = rc.title.strip().rstrip(".")
        headline = (f"{head}; primary cause {rc.cause}{where}, confidence "
                    f"{rc.confidence:.2f}: {title}. {_attempt_sentence(lead)}.")
    elif total == 0:
        headline = "No live-migration activity found in the input."
    elif failed:
        headline = f"{len(failed)} of {total} live {noun} failed; no cause could be attributed."
    else:
        headline = (f"No failed live migration found ({completed} completed, "
                    f"{total - completed} other).")
    return Summary(primary_cause=rc.cause if rc is not None else "none", migrations=total,
                   failed=len(failed), causes=causes, headline=headline)


def correlate(
    result: ScanResultLike,
    catalogue: CatalogueLike,
    *,
    hosts: Mapping[str, str] | None = None,
) -> Report:
    """Join the findings of all inputs into migrations with a root cause each.

    ``hosts`` maps a source name (exact, a prefix such as a bundle name, or a file's basename)
    or an alias such as an IP address to a host name, for inputs whose collector could not
    tell which host wrote them.
    """
    items = build_items(result.findings, catalogue, hosts)
    tz_mistakes = detect_tz_mistakes(items)
    apply_tz_fixes(items, tz_mistakes)

    groups, unanchored = group_anchored(items)
    for g in groups:
        assign_roles(g)
    attach_unanchored(groups, unanchored)
    keep = [g for g in groups if substantive(g)]
    if any(g.anchored for g in keep):
        # next to real attempts, a host-only error that no attempt's window covers (an old
        # libvirt client disconnect) is background noise, not an attempt of its own
        keep = [g for g in keep if g.anchored or shows_migration(g)]
    # nothing shows a migration: report what says something failed (a pasted error line),
    # not lines every host logs anyway (lifecycle events of ordinary boots)
    groups = keep or [g for g in groups
                      if any(it.kind == "cause" or is_failure_like(it) for it in g.items)]
    input_end = _input_end(items)
    computes = _compute_hosts(items, result.inputs)
    for g in groups:
        assign_roles(g)
        _by_elimination(g, computes)
        _by_uri(g)
        g.outcome = decide_outcome(g, input_end)  # preliminary: picks the reference host

    all_hosts = sorted({h for g in groups for h in g.hosts})
    reference = choose_reference(groups)
    offsets, clock_offsets = estimate_offsets(groups, reference, all_hosts, tz_mistakes)
    for it in items:
        if it.host is not None:
            it.offset = offsets.get(it.host, 0.0)

    ctx = build_context(items, result.inputs, result.problems, tz_mistakes)
    for g in groups:
        g.sort(corrected=True)
        g.outcome = decide_outcome(g, input_end)
    groups.sort(key=lambda g: (g.span(corrected=True)[0] is None,
                               g.span(corrected=True)[0] or 0.0,
                               g.instance_uuid or "", g.request_id or ""))

    migrations: list[Migration] = []
    for g, mid in zip(groups, _migration_ids(groups)):
        convergence = build_convergence(g.items)
        ranked = rank_causes(g, convergence)
        missing = missing_evidence(g, ranked.primary, ranked.secondary, convergence, ctx)
        start, end = g.span(corrected=True)
        migration = Migration(
            id=mid,
            instance_uuid=g.instance_uuid,
            request_ids=g.request_ids,
            source_host=g.source,
            dest_host=g.dest,
            start=to_datetime(start),
            end=to_datetime(end),
            outcome=g.outcome,
            root_cause=ranked.primary,
            secondary_causes=ranked.secondary,
            timeline=_timeline(g, ranked.primary.cause if ranked.primary else None),
            convergence=convergence,
            missing_evidence=missing,
            remediation=ranked.remediation,
            hosts=_hosts_ordered(g),
        )
        migrations.append(migration)

    return Report(
        summary=_summary(migrations),
        migrations=tuple(migrations),
        inputs=tuple(result.inputs),
        problems=tuple(result.problems),
        clock_offsets=clock_offsets if len(clock_offsets) > 1 or tz_mistakes else (),
        tool_version=__version__,
    )
