"""Ranking the causes seen in one attempt: the primary cause and the ones ranked lower.

The rule from shared/taxonomy.md: *the primary cause is the first specific failure, not the
loudest symptom.* A typical CPU chain shows a CPU error on the destination, then ``QEMU
unexpectedly closed the monitor`` on both sides, then ``Live Migration failure`` on the source
and a rollback; only the first line explains the others.

Candidates are the cause findings of the attempt, grouped by taxonomy id, plus three
synthesised ones:

* a ``failure`` carrier (``Live Migration failure: <reason>``) whose line no cause pattern
  matched becomes ``other`` with the reason as evidence;
* ``canceled by client`` with no ``operator_abort`` finding becomes ``operator_abort``;
* a flat or rising progress series without a timeout line becomes a ``completion_timeout``
  *hint* (never primary).

Score = pattern confidence (+ corroboration: more lines, both hosts; − a severity penalty for
warning/info lines) + position (+0.15 for the earliest specific cause on the corrected clock,
+0.05 for a destination-side line) − 0.5 for a generic symptom (``qemu_crash``, ``other``)
when something specific exists. A cancellation that follows Nova's own ``Live migration not
completed after N sec`` / ``stuck for N sec`` is that timeout's abort action: its lines join
``completion_timeout`` (as symptoms) and ``operator_abort`` is not listed at all; after any
other failure ``operator_abort`` is disqualified (listed, with the reason);
``libvirt_busy_lock`` is disqualified when the lock is *held by* the migration job and no
failure line carries it (another client's query timed out). A completed
attempt has no root cause; whatever was seen is listed as secondary ("seen only on a completed
migration"), which is how ``cannot acquire state change lock`` noise is kept out of verdicts.

Evidence of a verdict: its *lead* line first (the earliest of the clearly strongest original
lines, :func:`_lead`), and the verdict's pattern, title, summary and fix are that line's
pattern's, so the title and the first line shown always belong together. Copies of an error
relayed to another host (libvirt's ``virNetClientProgramDispatchError``, oslo's
``…_Remote`` exceptions, the conductor's re-report, the source's ``Live Migration failure:
<the destination's error text>``) are symptoms when the original is in the input
(:func:`_relays`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..catalogue.schema import Pattern
from ..model import CauseVerdict, Convergence, Evidence, Outcome
from .items import GENERIC_CAUSES, Item, to_datetime
from .migrations import Group, is_failure_like

__all__ = ["RankResult", "COLD_MIGRATION_CAUSES", "rank_causes"]

#: causes for which live migration between these hosts cannot work as configured
COLD_MIGRATION_CAUSES = frozenset(
    {"cpu_incompatible", "pci_passthrough", "numa_hugepages_pinning", "version_mismatch",
     "config_drive_unsupported"}
)
_SEVERITY_ADJ = {"critical": 0.0, "error": 0.0, "warning": -0.1, "info": -0.25, "debug": -0.3}
_GENERIC_PHRASE = {"qemu_crash": "QEMU exiting", "other": "the unattributed failure"}
#: confidence of synthesised candidates when their line's pattern gives none
_SYNTH_CONFIDENCE = {"carrier": 0.3, "cancel": 0.6}
_LEAD_MARGIN = 0.1
#: "cannot acquire state change lock (held by monitor=remoteDispatchDomainMigratePrepare3Params)"
_MIGRATION_HOLDS_LOCK = re.compile(r"held by (?:monitor=|agent=)?remoteDispatchDomainMigrate")
_MAX_CAUSE_LINES = 6
_MAX_SYMPTOM_LINES = 10

_SYNTH_TEXT: dict[str, tuple[str, str, str, str]] = {
    # cause: (title, summary, why, fix)
    "other": (
        "Live migration failed for a reason the catalogue does not know",
        "The migration failed; no catalogue pattern explains the reason text.",
        "The failure line carries libvirt's (or nova's) own error text, which no pattern "
        "matched.",
        "Read the reason text; look for the same text in the destination's libvirtd log and "
        "/var/log/libvirt/qemu/<instance>.log, which usually say what went wrong first.",
    ),
    "operator_abort": (
        "Migration cancelled by a client",
        "libvirt reports that a client cancelled the migration job and nothing failed before "
        "it.",
        "`openstack server migration abort` (nova's live_migration_abort) and `virsh "
        "domjobabort` cancel the job; libvirt then reports 'canceled by client'.",
        "Nothing is broken: retry the migration when ready. If nobody aborted it, look for "
        "automation calling the abort API (nova-api log: live-migration abort requests).",
    ),
    "completion_timeout": (
        "Memory copy was not converging",
        "Progress samples show the remaining memory not falling.",
        "When the guest dirties memory faster than the migration link copies it, pre-copy "
        "never finishes and Nova's completion timeout eventually aborts or force-completes it.",
        "Allow auto-converge or post-copy ([libvirt] live_migration_permit_auto_converge = "
        "True, live_migration_permit_post_copy = True), give the migration network more "
        "bandwidth, or migrate when the guest is less busy.",
    ),
}


@dataclass(frozen=True, slots=True)
class RankResult:
    primary: CauseVerdict | None
    secondary: tuple[CauseVerdict, ...]
    remediation: tuple[str, ...]


@dataclass(eq=False)
class _Candidate:
    cause: str
    items: list[Item]
    synthetic: str | None = None  # "carrier" | "cancel" | "convergence"
    reason: str | None = None
    disqualified: str | None = None
    extra_summary: list[str] = field(default_factory=list)
    #: lines of another cause that are part of this one (the ``canceled by client`` that
    #: Nova's own timeout action produces): shown as its symptoms, never a cause of their own
    absorbed: list[Item] = field(default_factory=list)
    boost: float = 0.0
    confidence: float = 0.0
    score: float = 0.0

    @property
    def first_tc(self) -> float | None:
        times = [it.tc for it in self.items if it.tc is not None]
        return min(times) if times else None

    @property
    def best(self) -> Item:
        return max(self.items, key=lambda it: (it.confidence, -(it.tc or 0.0)))

    @property
    def hosts(self) -> set[str]:
        return {it.host for it in self.items if it.host}

    @property
    def generic(self) -> bool:
        return self.cause in GENERIC_CAUSES

    @property
    def hint(self) -> bool:
        return self.synthetic == "convergence"


def _reason(it: Item) -> str | None:
    reason = it.field("reason")
    if reason:
        return reason.strip()
    msg = it.message
    for marker in ("Live Migration failure: ", "failed: ", "failure: "):
        pos = msg.find(marker)
        if pos >= 0:
            return msg[pos + len(marker):].strip() or None
    return None


#: clock slack when comparing lines of two hosts (same as the abort-after-failure check)
_ORDER_SLACK_S = 0.5


#: Nova calls abortJob right after logging the timeout; a cancel much later is someone else's
#: (with live_migration_timeout_action = force_complete Nova does not abort at all)
_TIMEOUT_ABORT_WITHIN_S = 60.0


def _nova_timeout_abort(abort: _Candidate, timeout: _Candidate) -> bool:
    """The cancellation is Nova's own timeout action: the first cancel line comes with or
    after a Nova timeout line (clock slack between hosts) and within a minute of it.

    Nova logs the timeout and calls abortJob at once, so the libvirt cancel follows within a
    fraction of a second, which the generic "earlier failure" check (it needs a 0.5 s lead)
    cannot see. An abort before the timeout fired was someone's decision."""
    t_cancel = abort.first_tc
    if t_cancel is None:
        return False
    return any(t - _ORDER_SLACK_S <= t_cancel <= t + _TIMEOUT_ABORT_WITHIN_S
               for t in (it.tc for it in timeout.items) if t is not None)


def _candidates(group: Group, convergence: Convergence | None) -> list[_Candidate]:
    items = sorted(group.items, key=lambda it: it.sort_key())
    by_cause: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        if it.cause and it.cause != "none":
            by_cause[it.cause].append(it)
    cands = {c: _Candidate(c, its) for c, its in by_cause.items()}

    cause_keys = {it.key for it in items if it.cause}
    failures = [it for it in items
                if it.marks & {"failure", "precheck_failed"} and it.kind != "cause"
                and it.key not in cause_keys]
    # a carrier names a reason (`Live Migration failure: <reason>`, `Failed to
    # compute_task_migrate_server: <reason>`); a bare failure line (`Migration operation has
    # aborted`) is only a symptom, used when nothing else exists
    carriers = [it for it in failures if _reason(it)]
    if not carriers and not cands and failures:
        carriers = failures[:1]
    if carriers:
        cand = cands.setdefault("other", _Candidate("other", []))
        cand.items.extend(carriers)
        cand.synthetic = cand.synthetic or ("carrier" if len(cand.items) == len(carriers)
                                            else None)
    other = cands.get("other")
    if other is not None:
        other.reason = next((r for r in map(_reason, other.items) if r), None)

    lock = cands.get("libvirt_busy_lock")
    if lock is not None:
        failure_keys = {it.key for it in items if it.marks & {"failure", "precheck_failed"}}
        if all(_MIGRATION_HOLDS_LOCK.search(it.text) and it.key not in failure_keys
               for it in lock.items):
            # the migration job holds the domain: some other client's call (a monitoring
            # agent's block-stats query) timed out, the migration itself was not refused
            lock.disqualified = (
                "the migration job itself holds the lock ('held by …Migrate…'): another "
                "client's call timed out, not the migration"
            )

    cancels = [it for it in items if "canceled" in it.signals]
    if cancels and "operator_abort" not in cands:
        cands["operator_abort"] = _Candidate("operator_abort", cancels, synthetic="cancel")
    abort = cands.get("operator_abort")
    timeout = cands.get("completion_timeout")
    if abort is not None and timeout is not None and _nova_timeout_abort(abort, timeout):
        # Nova's timeout action (live_migration_timeout_action = abort) calls abortJob right
        # after "Live migration not completed after N sec": libvirt's "canceled by client" and
        # nova's "Migration operation was cancelled" are that action, part of the timeout,
        # not a second cause an operator would have to look into
        timeout.absorbed.extend(abort.items)
        del cands["operator_abort"]
    elif abort is not None and abort.first_tc is not None:
        first = abort.first_tc
        abort_keys = {it.key for it in abort.items}
        earlier = [
            it for it in items
            if it.key not in abort_keys and "canceled" not in it.signals
            and "aborted" not in it.marks and it.tc is not None and it.tc < first - 0.5
            and (is_failure_like(it) or it.cause == "completion_timeout")
        ]
        if earlier:
            what = earlier[0].cause or "reported"
            abort.disqualified = (
                f"canceled by client after an earlier {what} failure: the job was cancelled "
                "because of it (e.g. Nova's timeout action), not by an operator"
            )

    if convergence is not None and convergence.trend in ("flat", "rising"):
        timeout = cands.get("completion_timeout")
        progress = [it for it in items if "progress" in it.marks or "progress" in it.signals]
        if timeout is not None:
            timeout.boost += 0.15
            timeout.extra_summary.append(f"Progress: {convergence.summary}.")
        elif progress:
            cands["completion_timeout"] = _Candidate(
                "completion_timeout", progress, synthetic="convergence",
                extra_summary=[f"Progress: {convergence.summary}."],
            )
    return list(cands.values())


def _score(cands: list[_Candidate], group: Group) -> None:
    specific = [c for c in cands if not c.generic and not c.hint and not c.disqualified]
    earliest = min(
        (c for c in specific if c.first_tc is not None),
        key=lambda c: c.first_tc or 0.0, default=None,
    )
    for c in cands:
        best = c.best
        if c.hint:
            base = 0.35
        elif c.synthetic in ("carrier", "cancel"):
            # event patterns carry confidence 0: the line says *that* it failed, not why
            default = _SYNTH_CONFIDENCE[c.synthetic]
            base = min(best.confidence, default) if best.confidence > 0 else default
        else:
            base = best.confidence
        keys = {it.key for it in c.items}
        corroboration = min(0.1, 0.05 * (len(keys) - 1)) + (0.1 if len(c.hosts) > 1 else 0.0)
        severity = max((_SEVERITY_ADJ.get(it.severity, 0.0) for it in c.items), default=0.0)
        c.confidence = round(max(0.05, min(0.99, base + corroboration + severity + c.boost)), 2)
        score = c.confidence
        if c is earliest:
            score += 0.15
        if group.dest and group.dest in c.hosts:
            score += 0.05
        if c.generic and specific:
            score -= 0.5
        if c.disqualified:
            score -= 1.0
        if c.hint:
            score -= 2.0
        c.score = score


def _texts(c: _Candidate, lead: Item) -> tuple[str, str, str, str, str]:
    """(pattern_id, title, summary, why, fix) for a candidate, from its lead evidence line.

    One rule for every verdict: the verdict *is* the pattern of its first evidence line, so
    the title the report prints and the line it shows first always belong together (before,
    the verdict took the most confident pattern while the lead line was chosen by time, and
    "guest CPU doesn't match specification" headed a QEMU "host doesn't support requested
    feature" line). Which line leads is decided in :func:`_lead`.
    """
    pat: Pattern | None = lead.pattern
    synth = _SYNTH_TEXT.get(c.cause)
    if c.synthetic == "convergence" and synth:
        title, summary, why, fix = synth
        return "convergence", title, summary, why, fix
    if c.synthetic in ("carrier", "cancel") and synth:
        title, summary, why, fix = synth
        if pat is not None and c.synthetic == "carrier":
            title = pat.title
            fix = pat.fix.strip() or fix
        return lead.finding.pattern_id, title, summary, why, fix
    if pat is not None:
        return (lead.finding.pattern_id, pat.title, pat.summary.strip(), pat.why.strip(),
                pat.fix.strip())
    title, summary, why, fix = synth or (lead.finding.pattern_id, "", "", "")
    return lead.finding.pattern_id, title, summary, why, fix


#: Lines that say outright that they carry another host's error: libvirt's RPC client logs,
#: under virNetClientProgramDispatchError, the error the *remote* daemon sent back
#: (src/rpc/virnetclientprogram.c); oslo.messaging re-raises a callee's exception as
#: ``nova.exception_Remote.<Exc>_Remote`` or ``RemoteError: Remote error:`` on the caller
#: (messages.md §2.15 rows 224, 245).
_RELAY_MARK = re.compile(
    r"virNetClientProgramDispatchError|\w_Remote\.\w+_Remote\b|RemoteError: Remote error: ")
#: shorter error texts ("operation failed") say too little to call two lines the same error
_MIN_RELAYED_TEXT = 20


def _relays(c: _Candidate, group: Group) -> set[int]:
    """Ids of the candidate's lines that are copies of an error another host logged first.

    The same error text relayed over RPC to the other host is a copy, not a cause: a line
    marked as relayed (``_RELAY_MARK``), a conductor line (the conductor only re-reports the
    exception a compute raised in a pre-check or pre_live_migration), or a source-side line
    (nova's ``Live Migration failure: <libvirt error>``, the source libvirtd) that contains
    the text of a destination line of this cause. Copies are kept as causes when no original
    is in the input (source-only logs, a conductor-only failure such as NoValidHost): then
    they are the best evidence there is.
    """
    copies = {id(it) for it in c.items if it.conductor or _RELAY_MARK.search(it.text)}
    originals = [it for it in c.items if id(it) not in copies and it.host
                 and it.host == group.dest and len(it.message) >= _MIN_RELAYED_TEXT]
    if group.source and originals:
        for it in c.items:
            if it.host == group.source and any(o.message in it.message for o in originals):
                copies.add(id(it))
    relayed_hosts = {it.host for it in c.items if id(it) in copies}
    if not any(it.host is not None and it.host not in relayed_hosts
               for it in c.items if id(it) not in copies):
        return set()  # no original on another host: the copies are all the evidence there is
    return copies


def _lead(c: _Candidate, relays: set[int]) -> Item:
    """The first evidence line: the earliest of the clearly strongest non-copy lines.

    Strongest: within ``_LEAD_MARGIN`` of the best confidence, then time order. Time decides
    between near-equals (the causal chain), a clearly stronger line wins over an earlier
    weaker one (QEMU may write its lines out of order, and the generic "error while loading
    state" must not hide "Length mismatch"). A conductor line only re-reports a remote
    exception, a relayed copy repeats the other host's error: a compute line, an original,
    leads before them (also when the conductor's host is the only one, see :func:`_relays`).
    """
    by_time = sorted(c.items, key=lambda it: it.sort_key())
    pool = [it for it in by_time if id(it) not in relays] or by_time
    top = max(it.confidence for it in pool)
    strong = [it for it in pool if it.confidence >= top - _LEAD_MARGIN - 1e-9]
    return min(strong, key=lambda it: it.conductor)  # stable: earliest non-conductor line


def _cause_lines(c: _Candidate, lead: Item, relays: set[int]) -> list[Item]:
    """The lead, then up to ``_MAX_CAUSE_LINES`` − 1 more lines in time order, one per physical
    line. Every pattern (and host) of the cause is shown before a second line of one already
    shown: five "host doesn't support requested feature" lines must not crowd out the libvirt
    line that says the same on the same host."""
    by_time = [it for it in sorted(c.items, key=lambda it: it.sort_key())
               if id(it) not in relays and it is not lead]
    chosen: list[Item] = [lead]
    keys = {lead.key}
    shown = {(lead.finding.pattern_id, lead.host)}
    for first_pass in (True, False):
        for it in by_time:
            if len(chosen) >= _MAX_CAUSE_LINES:
                break
            sig = (it.finding.pattern_id, it.host)
            if it.key in keys or (first_pass and sig in shown):
                continue
            chosen.append(it)
            keys.add(it.key)
            shown.add(sig)
    rest = sorted(chosen[1:], key=lambda it: it.sort_key())
    return [lead, *rest]


def _evidence(it: Item, role: str, group: Group) -> Evidence:
    rec = it.finding.record
    return Evidence(
        pattern_id=it.finding.pattern_id,
        title=it.title,
        host=it.host,
        source=rec.source,
        line=rec.line,
        timestamp=to_datetime(it.tc),
        text=rec.text,
        role=role,
    )


def _verdict(c: _Candidate, group: Group, *, primary: bool,
             ranked_lower_because: str | None = None) -> CauseVerdict:
    relays = _relays(c, group)
    lead = _lead(c, relays)
    pattern_id, title, summary, why, fix = _texts(c, lead)
    if c.reason and c.cause == "other":
        summary = f"{summary} Reason logged: {c.reason}".strip()
    if c.extra_summary:
        summary = " ".join([summary, *c.extra_summary]).strip()
    role = "context" if c.hint else "cause"
    evidence = [_evidence(it, role, group) for it in _cause_lines(c, lead, relays)]
    seen = {(e.source, e.line) for e in evidence}
    if primary:
        extra = {id(it) for it in c.items if id(it) in relays} | {id(it) for it in c.absorbed}
        symptoms = [
            it for it in sorted(group.items, key=lambda it: it.sort_key())
            if it.key not in seen
            and (id(it) in extra
                 or ((it.cause in GENERIC_CAUSES or is_failure_like(it)
                      or it.marks & {"failure", "rollback", "aborted"})
                     and (it.cause is None or it.cause in GENERIC_CAUSES
                          or it.cause == c.cause)))
        ]
        count = 0
        for it in symptoms:
            if it.key in seen:
                continue
            seen.add(it.key)
            evidence.append(_evidence(it, "symptom", group))
            count += 1
            if count >= _MAX_SYMPTOM_LINES:
                break
    return CauseVerdict(
        cause=c.cause,
        confidence=c.confidence,
        pattern_id=pattern_id,
        title=title,
        summary=summary,
        why=why,
        fix=fix,
        evidence=tuple(evidence),
        ranked_lower_because=ranked_lower_because,
    )


def _primary_host(c: _Candidate, group: Group) -> str | None:
    if group.dest and group.dest in c.hosts:
        return group.dest
    first = min(c.items, key=lambda it: it.sort_key())
    return first.host


def _why_lower(c: _Candidate, primary: _Candidate | None, group: Group) -> str:
    if group.outcome is Outcome.COMPLETED:
        if c.cause == "libvirt_busy_lock":
            return ("seen only on a completed migration: libvirt job-lock contention here is "
                    "noise, not a failure")
        return "seen only on a completed migration"
    if c.hint:
        return "inferred from progress samples only: no timeout line names it"
    if c.disqualified:
        return c.disqualified
    if primary is None:
        return "lower confidence pattern"
    if c.generic and not primary.generic:
        phrase = _GENERIC_PHRASE.get(c.cause, c.cause)
        host = _primary_host(primary, group)
        where = f" on {host}" if host else ""
        order = ("earlier " if primary.first_tc is not None and c.first_tc is not None
                 and primary.first_tc <= c.first_tc else "")
        return f"generic symptom: {phrase} is explained by the {order}{primary.cause} error{where}"
    if (c.first_tc is not None and primary.first_tc is not None
            and c.first_tc > primary.first_tc + 0.5):
        return "appeared after the primary cause"
    return "lower confidence pattern"


def _remediation(primary: CauseVerdict, group: Group) -> tuple[str, ...]:
    steps: list[str] = []
    if primary.fix:
        steps.append(primary.fix)
    if primary.cause in COLD_MIGRATION_CAUSES:
        server = group.instance_uuid or "<server>"
        dest = group.dest or "<dest>"
        steps.append(
            "Live migration cannot work between these hosts as they are configured; if the "
            "instance must move now, cold-migrate it (the guest reboots): "
            f"`openstack server migrate --os-compute-api-version 2.56 --host {dest} {server}` "
            f"(or `openstack server migrate {server}` to let the scheduler choose), then "
            f"`openstack server resize confirm {server}`."
        )
    return tuple(steps)


def rank_causes(group: Group, convergence: Convergence | None) -> RankResult:
    """Primary and secondary causes of one attempt (``group.outcome`` must be decided)."""
    cands = _candidates(group, convergence)
    if not cands:
        return RankResult(None, (), ())
    _score(cands, group)
    ordered: Sequence[_Candidate] = sorted(
        cands, key=lambda c: (-c.score, c.first_tc is None, c.first_tc or 0.0, c.cause)
    )
    primary: _Candidate | None = None
    if group.outcome is not Outcome.COMPLETED:
        top = ordered[0]
        if not top.hint and not top.disqualified:
            primary = top
    verdict = _verdict(primary, group, primary=True) if primary is not None else None
    secondary = tuple(
        _verdict(c, group, primary=False, ranked_lower_because=_why_lower(c, primary, group))
        for c in ordered if c is not primary
    )
    remediation = _remediation(verdict, group) if verdict is not None else ()
    return RankResult(verdict, secondary, remediation)
