"""Clock problems: a wrong ``--tz`` for oslo stamps, and drift between hosts.

Two different errors are handled, in this order:

1. **A --tz mistake.** oslo.log writes naive *local* time (messages.md §1.1); the parsers turn
   it into UTC with the zone given by ``--tz`` and say so in ``Record.tz_assumption``.
   libvirt and QEMU write UTC themselves. On one host, the same event seen by nova and by
   libvirt (the libvirt error text that nova repeats in ``Live Migration failure: …``, or
   lines of one attempt) must then agree to within seconds; when they disagree by a whole
   number of quarter hours (at least 30 min), the zone was wrong. The oslo stamps of that
   host are shifted and the report says which ``--tz`` would have been right.

2. **Drift between hosts.** Each causal pair that must be ordered gives a bound on
   ``offset(B) − offset(A)`` (offset = seconds to add to a host's stamps to put them on the
   reference clock):

   * the source's ``Took N seconds for pre_live_migration on destination host`` ends after
     the destination's ``pre_live_migration data is`` / ``… result data is``, and the call
     started N seconds before it (so it brackets the destination lines from both sides);
   * the source's ``About to invoke the migrate API`` precedes the destination's incoming
     QEMU start (``starting up libvirt``), which precedes the source's ``initiating
     migration``;
   * the destination's specific error precedes the source's ``Live Migration failure``;
   * the conductor's line that starts a task (``attempt`` mark) precedes the first compute
     line of the same request.

   Bounds are intersected per host pair and solved together as difference constraints
   (:func:`_solve`), from the reference host (the source of the first failed migration, else
   the first host): each host's offset is the value closest to 0 (the least correction the
   evidence demands) that keeps every pair bound satisfied, including the pairs between
   non-reference hosts. Conflicting bounds are reported and the offset falls back to 0.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..model import ClockOffset
from .items import GENERIC_CAUSES, Item
from .migrations import Group

__all__ = [
    "TzMistake",
    "detect_tz_mistakes",
    "apply_tz_fixes",
    "choose_reference",
    "estimate_offsets",
]

#: timestamps are logged to the millisecond and `Took %0.2f seconds` is rounded: bounds are
#: widened by this much so that exact ties never look like a conflict
_SLACK_S = 0.01
_QUARTER_H = 900.0
_ZONE_IN_TEXT = re.compile(r"[A-Z][A-Za-z_]+/[A-Za-z_]+(?:/[A-Za-z_]+)?")
#: zones offered in the "rerun with --tz" hint, most common operator locations first
_COMMON_ZONES = (
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Helsinki", "Europe/Moscow", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
    "America/Sao_Paulo", "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "Asia/Singapore", "Asia/Seoul", "Asia/Kathmandu", "Asia/Tehran",
    "America/St_Johns", "Pacific/Honolulu", "America/Anchorage", "Atlantic/Azores",
)
_STAGES_AFTER_FAILURE = ("rollback", "post_live_migration")
#: (nova signal, libvirt/QEMU signal) logged for one step within seconds on one host
_SAME_STEP = (("migrate_api", "initiating"), ("plm_result", "qemu_start"),
              ("success", "migrated"))


# ----------------------------------------------------------------------------- --tz mistakes


@dataclass(frozen=True, slots=True)
class TzMistake:
    """oslo stamps on ``host`` are ``shift_s`` seconds off libvirt's UTC on the same host."""

    host: str
    shift_s: float  # add to the host's assumed-zone stamps
    assumed: str  # Record.tz_assumption of those lines
    suggested_tz: str  # the zone (or UTC offset) that would have been right
    pairs: int
    example: str

    @property
    def hint(self) -> str:
        return f"rerun with --tz {self.suggested_tz}"

    @property
    def basis(self) -> str:
        hours = self.shift_s / 3600.0
        side = "ahead of" if self.shift_s < 0 else "behind"
        return (
            f"oslo timestamps on {self.host} ({self.assumed}) run {_fmt_hours(abs(hours))[1:]} "
            f"{side} libvirt/QEMU UTC on the same host ({self.pairs} pair(s), e.g. "
            f"{self.example}): a --tz mistake ({self.hint}); its oslo stamps were shifted by "
            f"{_fmt_hours(hours)}"
        )


def _fmt_hours(hours: float) -> str:
    sign = "+" if hours >= 0 else "-"
    h = abs(hours)
    if abs(h - round(h)) < 1e-6:
        return f"{sign}{int(round(h))} h"
    return f"{sign}{int(h)} h {int(round((h - int(h)) * 60))} min"


def _fmt_offset(seconds: float) -> str:
    sign = "+" if seconds >= 0 else "-"
    s = int(round(abs(seconds)))
    return f"UTC{sign}{s // 3600:02d}:{(s % 3600) // 60:02d}"


def _assumed_offset(item: Item, when: datetime) -> float | None:
    if item.assumed_utc_offset_s is not None:
        return item.assumed_utc_offset_s
    text = item.finding.record.tz_assumption or ""
    m = _ZONE_IN_TEXT.search(text)
    if m is None:
        return None
    try:
        off = ZoneInfo(m.group(0)).utcoffset(when)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return off.total_seconds() if off is not None else None


def _suggest_zone(true_offset_s: float, when: datetime) -> str:
    for name in _COMMON_ZONES:
        try:
            off = ZoneInfo(name).utcoffset(when.replace(tzinfo=None))
        except (ZoneInfoNotFoundError, ValueError):
            continue
        if off is not None and abs(off.total_seconds() - true_offset_s) < 1:
            return name
    return _fmt_offset(true_offset_s)


def detect_tz_mistakes(items: Sequence[Item]) -> dict[str, TzMistake]:
    """Find hosts whose oslo stamps disagree with libvirt/QEMU UTC by whole quarter hours.

    Needs no grouping (it runs before it, so that the grouping sees fixed stamps). Pairs, on
    one host: (a) a libvirt/QEMU error and the nova line that repeats its text; (b) nova and
    QEMU views of one step of one instance: ``About to invoke the migrate API`` / ``initiating
    migration``, ``pre_live_migration result data is`` / incoming ``starting up libvirt``,
    ``finished successfully`` / ``shutting down, reason=migrated``.
    """
    diffs: dict[str, list[tuple[float, Item, Item]]] = defaultdict(list)
    by_host: dict[str, tuple[list[Item], list[Item]]] = defaultdict(lambda: ([], []))
    for it in items:
        if it.host is None or it.t_raw is None:
            continue
        if it.tz == "assumed":
            by_host[it.host][0].append(it)
        elif it.tz == "explicit":
            by_host[it.host][1].append(it)

    for host, (assumed, explicit) in by_host.items():
        # (a) the libvirt error text that nova repeats: the same event, seconds apart at most
        carriers = [a for a in assumed if a.kind == "cause" or a.marks & {"failure"}][:300]
        errors = [e for e in explicit if e.kind == "cause" or e.marks & {"failure"}][:300]
        for e in errors:
            msg = e.message.strip()
            if len(msg) < 20:
                continue
            same = [a for a in carriers if a.t_raw is not None and msg in a.message]
            if same and e.t_raw is not None:
                # the nearest repetition: the same error text may recur in several attempts
                a = min(same, key=lambda x: abs((x.t_raw or 0.0) - (e.t_raw or 0.0)))
                diffs[host].append((e.t_raw - (a.t_raw or 0.0), a, e))
        # (b) one step of one instance seen by nova and by libvirt/QEMU
        for nova_sig, qemu_sig in _SAME_STEP:
            for e in explicit:
                if qemu_sig not in e.signals or e.instance_uuid is None or e.t_raw is None:
                    continue
                near = [a for a in assumed if nova_sig in a.signals
                        and a.instance_uuid == e.instance_uuid and a.t_raw is not None]
                if near:
                    a = min(near, key=lambda x: abs((x.t_raw or 0.0) - (e.t_raw or 0.0)))
                    diffs[host].append((e.t_raw - (a.t_raw or 0.0), a, e))

    found: dict[str, TzMistake] = {}
    for host, pairs in diffs.items():
        ds = [d for d, _, _ in pairs]
        med = statistics.median(ds)
        shift = round(med / _QUARTER_H) * _QUARTER_H
        if abs(shift) < 1800 or abs(med - shift) > 300:
            continue
        agree = [p for p in pairs if abs(p[0] - shift) <= 300]
        if len(agree) * 3 < len(pairs) * 2:
            continue
        _, a, e = agree[0]
        when = datetime.fromtimestamp(e.t_raw or 0.0, UTC)
        assumed_off = _assumed_offset(a, when)
        if assumed_off is not None:
            suggested = _suggest_zone(assumed_off - shift, when)
        else:
            suggested = f"<the zone {host} logs in>"
        example = (
            f"{a.finding.record.source}:{a.finding.record.line} vs "
            f"{e.finding.record.source}:{e.finding.record.line}"
        )
        found[host] = TzMistake(
            host=host, shift_s=shift, assumed=a.finding.record.tz_assumption or "assumed zone",
            suggested_tz=suggested, pairs=len(agree), example=example,
        )
    return found


def apply_tz_fixes(items: Iterable[Item], mistakes: dict[str, TzMistake]) -> None:
    for it in items:
        if it.host in mistakes and it.tz == "assumed":
            it.tz_fix = mistakes[it.host].shift_s


# ----------------------------------------------------------------------------- drift


@dataclass(slots=True)
class _Edge:
    """Bounds on offset(b) − offset(a) for a host pair (a < b)."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_basis: list[str] = field(default_factory=list)
    hi_basis: list[str] = field(default_factory=list)


class _Bounds:
    def __init__(self) -> None:
        self.edges: dict[tuple[str, str], _Edge] = {}

    def before(self, first: str, t_first: float, second: str, t_second: float,
               label: str) -> None:
        """An event on ``first`` at ``t_first`` happened before one on ``second``."""
        if first == second:
            return
        # corrected(first) <= corrected(second):  off_second - off_first >= t_first - t_second
        bound = t_first - t_second - _SLACK_S
        if first < second:
            e = self.edges.setdefault((first, second), _Edge())
            if bound > e.lo:
                e.lo = bound
            e.lo_basis.append(label)
        else:
            e = self.edges.setdefault((second, first), _Edge())
            if -bound < e.hi:
                e.hi = -bound
            e.hi_basis.append(label)


def _first(items: Iterable[Item], pred: Callable[[Item], bool]) -> Item | None:
    for it in items:
        if it.t is not None and pred(it):
            return it
    return None


def _collect(groups: Sequence[Group]) -> _Bounds:
    b = _Bounds()
    for g in groups:
        items = sorted(g.items, key=lambda it: it.sort_key(corrected=False))
        s, d = g.source, g.dest
        if s and d and s != d:
            si = [it for it in items if it.host == s and not it.conductor]
            di = [it for it in items if it.host == d and not it.conductor]
            took = _first(si, lambda it: "took_plm" in it.signals)
            data = _first(di, lambda it: "plm_data" in it.signals)
            result = _first(di, lambda it: "plm_result" in it.signals)
            if took is not None and took.t is not None:
                if took.took_secs is not None and data is not None and data.t is not None:
                    b.before(s, took.t - took.took_secs, d, data.t,
                             f"{s} started pre_live_migration on {d} before {d} logged "
                             "'pre_live_migration data is'")
                for line, label in ((data, "pre_live_migration data is"),
                                    (result, "pre_live_migration result data is")):
                    if line is not None and line.t is not None:
                        b.before(d, line.t, s, took.t,
                                 f"{d} '{label}' before {s} 'Took … for pre_live_migration'")
            api = _first(si, lambda it: "migrate_api" in it.signals)
            qstart = _first(di, lambda it: "qemu_start" in it.signals or "incoming" in it.marks)
            init = _first(si, lambda it: "initiating" in it.signals)
            if api and qstart and api.t is not None and qstart.t is not None:
                b.before(s, api.t, d, qstart.t,
                         f"{s} 'About to invoke the migrate API' before {d} incoming QEMU start")
            if qstart and init and qstart.t is not None and init.t is not None:
                b.before(d, qstart.t, s, init.t,
                         f"{d} incoming QEMU start before {s} 'initiating migration'")
            lmf = _first(si, lambda it: "lm_failure" in it.signals)
            dfail = _first(di, lambda it: it.cause is not None and it.is_error
                           and it.cause not in GENERIC_CAUSES
                           and not (it.stage or "").startswith(_STAGES_AFTER_FAILURE)
                           and "rollback" not in it.marks)
            if lmf and dfail and lmf.t is not None and dfail.t is not None:
                b.before(d, dfail.t, s, lmf.t,
                         f"{d} {dfail.cause} error before {s} 'Live Migration failure'")
        for c in sorted(g.conductors):
            # only a line that starts the task counts: the conductor's first *matched* line of
            # a request may come after the computes' pre-checks ("Start binding ports")
            cfirst = next((it for it in items if it.t is not None and it.conductor
                           and it.host == c and it.request_id is not None
                           and "attempt" in it.marks), None)
            if cfirst is None or cfirst.t is None:
                continue
            for h in (s, d):
                if not h or h == c:
                    continue
                hfirst = next((it for it in items if it.t is not None and it.host == h
                               and not it.conductor and it.request_id == cfirst.request_id),
                              None)
                if hfirst is not None and hfirst.t is not None:
                    b.before(c, cfirst.t, h, hfirst.t,
                             f"conductor {c} first line of {cfirst.request_id} before {h}'s")
    return b


def choose_reference(groups: Sequence[Group]) -> str | None:
    """The source of the first failed migration, else the first source, else the first host."""
    ordered = sorted(groups, key=lambda g: (g.span()[0] is None, g.span()[0] or 0.0))
    for g in ordered:
        if g.outcome.failed and g.source:
            return g.source
    for g in ordered:
        if g.source:
            return g.source
    first: tuple[float, str] | None = None
    for g in ordered:
        for it in g.items:
            if it.host and it.t is not None and (first is None or it.t < first[0]):
                first = (it.t, it.host)
    if first is not None:
        return first[1]
    return next((it.host for g in ordered for it in g.items if it.host), None)


@dataclass(slots=True)
class _Solution:
    #: bounds of offset(host) − offset(reference) implied by all accepted pair bounds
    interval: dict[str, tuple[float, float]]
    #: the offsets used: each host's value closest to 0 given the hosts chosen before it
    chosen: dict[str, float]
    basis_of: dict[str, str]
    #: hosts whose bounds against another host cross (lower > upper): (other host, edge)
    conflicts: dict[str, tuple[str, _Edge]]


def _solve(bounds: _Bounds, reference: str) -> _Solution:
    """Offsets that satisfy every pair bound at once (a system of difference constraints).

    Each edge says ``lo <= off(b) − off(a) <= hi``; that is two arcs of a constraint graph
    (a→b weighing hi, b→a weighing −lo), whose shortest-path distance d(x, y) is the tightest
    bound on off(y) − off(x) that all the edges together imply. Choosing each offset on its
    own from its interval relative to the reference breaks the bounds *between* the other
    hosts (B−A in [7, 10] and C−B in [−10, −8] would give B = 7 and C = 0, so C−B = −7).
    So hosts are fixed one at a time (breadth first from the reference): each takes the value
    closest to 0 within what every host fixed before it allows; with all-pairs distances this
    can never leave a later host without a value.

    Edges whose own bounds cross (lo > hi), or which would close a cycle that no offsets can
    satisfy, are left out (the first ones, in order of evidence, are kept). Hosts are few (the
    computes and controllers of one input): Floyd–Warshall-style updates, O(n²) per edge, are
    cheap.
    """
    conflicts: dict[str, tuple[str, _Edge]] = {}
    inf = math.inf
    dist: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(lambda: inf))
    nodes: set[str] = {reference}
    adj: dict[str, list[tuple[str, str]]] = defaultdict(list)
    dropped: dict[str, list[str]] = defaultdict(list)

    def relax(a: str, b: str, w: float) -> None:
        # a new arc a→b of weight w: d(i, j) = min(d(i, j), d(i, a) + w + d(b, j))
        if w >= dist[a][b]:
            return
        into_a = [(i, dist[i][a]) for i in nodes if i == a or dist[i][a] < inf]
        from_b = [(j, dist[b][j]) for j in nodes if j == b or dist[b][j] < inf]
        for i, dia in into_a:
            dia = 0.0 if i == a else dia
            for j, dbj in from_b:
                dbj = 0.0 if j == b else dbj
                if i != j and dia + w + dbj < dist[i][j]:
                    dist[i][j] = dia + w + dbj

    # strongest evidence first: more pairs behind a bound, then a narrower interval
    edges = sorted(bounds.edges.items(), key=lambda kv: (
        -(len(kv[1].lo_basis) + len(kv[1].hi_basis)), kv[1].hi - kv[1].lo, kv[0]))
    for (a, b), e in edges:
        nodes.update((a, b))
        if e.lo > e.hi:
            conflicts.setdefault(a, (b, e))
            conflicts.setdefault(b, (a, e))
            continue
        # the edge closes a cycle no offsets satisfy when it contradicts the distances so far
        if (e.hi + dist[b][a] < -_SLACK_S) or (-e.lo + dist[a][b] < -_SLACK_S):
            dropped[a].append(b)
            dropped[b].append(a)
            continue
        if e.hi < inf:
            relax(a, b, e.hi)
        if e.lo > -inf:
            relax(b, a, -e.lo)
        basis = _summarise(e.lo_basis + e.hi_basis)
        adj[a].append((b, basis))
        adj[b].append((a, basis))

    order = [reference]
    basis_of: dict[str, str] = {reference: "reference clock"}
    queue = deque([reference])
    while queue:
        cur = queue.popleft()
        for nxt, basis in adj[cur]:
            if nxt in basis_of:
                continue
            via = "" if cur == reference else f" (via {cur})"
            basis_of[nxt] = f"{basis}{via}"
            order.append(nxt)
            queue.append(nxt)
    for host, others in dropped.items():
        if host in basis_of and host != reference:
            basis_of[host] += (f"; bounds against {', '.join(sorted(set(others)))} left out "
                               "(they contradict the others)")

    def d(x: str, y: str) -> float:
        return 0.0 if x == y else dist[x][y]

    interval = {h: (-d(h, reference), d(reference, h)) for h in order}
    chosen: dict[str, float] = {reference: 0.0}
    for h in order[1:]:
        lo = max(chosen[f] - d(h, f) for f in chosen)
        hi = min(chosen[f] + d(f, h) for f in chosen)
        chosen[h] = _closest_to_zero(lo, max(lo, hi))  # max(): rounding within _SLACK_S
    return _Solution(interval, chosen, basis_of, conflicts)


def _closest_to_zero(lo: float, hi: float) -> float:
    if lo <= 0.0 <= hi:
        return 0.0
    return hi if hi < 0.0 else lo


def _summarise(labels: list[str]) -> str:
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    parts = [f"{k} (×{n})" if n > 1 else k for k, n in counts.items()]
    if len(parts) > 4:
        parts = parts[:4] + [f"{len(parts) - 4} more"]
    return "; ".join(parts)


def _num(x: float) -> float | None:
    return None if math.isinf(x) else round(x, 3)


def estimate_offsets(
    groups: Sequence[Group],
    reference: str | None,
    hosts: Iterable[str],
    tz_mistakes: dict[str, TzMistake] | None = None,
) -> tuple[dict[str, float], tuple[ClockOffset, ...]]:
    """Per-host offsets to the reference clock, and the ClockOffset records that explain them."""
    tz_mistakes = tz_mistakes or {}
    all_hosts = sorted(set(hosts) | ({reference} if reference else set()))
    if not all_hosts:
        return {}, ()
    if reference is None:
        reference = all_hosts[0]
    bounds = _collect(groups)
    solved = _solve(bounds, reference)
    interval, chosen, basis_of, conflicts = (solved.interval, solved.chosen, solved.basis_of,
                                             solved.conflicts)

    offsets: dict[str, float] = {}
    records: list[ClockOffset] = []
    for host in all_hosts:
        prefix = tz_mistakes[host].basis + "; " if host in tz_mistakes else ""
        if host == reference:
            offsets[host] = 0.0
            why = ("reference clock (source of the first failed migration)"
                   if any(g.outcome.failed and g.source == host for g in groups)
                   else "reference clock")
            records.append(ClockOffset(host, 0.0, 0.0, 0.0, prefix + why))
        elif host in chosen and (chosen[host] != 0.0 or not (
                math.isinf(interval[host][0]) and math.isinf(interval[host][1]))):
            lo, hi = interval[host]
            off = chosen[host]
            offsets[host] = off
            records.append(ClockOffset(
                host, round(off, 3), _num(lo), _num(hi),
                prefix + f"offset to {reference} in [{_fmt_bound(lo)}, {_fmt_bound(hi)}] s "
                f"from: {basis_of[host]}; the value closest to 0 is used"
                + ("" if lo <= 0.0 <= hi or off in (lo, hi) else
                   " that keeps every pair of hosts within its bounds"),
            ))
        elif host in conflicts:
            other, e = conflicts[host]
            offsets[host] = 0.0
            lo, hi = min(e.lo, e.hi, 0.0), max(e.lo, e.hi, 0.0)
            records.append(ClockOffset(
                host, 0.0, _num(lo), _num(hi),
                prefix + f"bounds against {other} conflict (lower {e.lo:.3f} s > upper "
                f"{e.hi:.3f} s from: {_summarise(e.lo_basis + e.hi_basis)}); falling back to 0",
            ))
        else:
            offsets[host] = 0.0
            records.append(ClockOffset(
                host, 0.0, None, None,
                prefix + f"no causal pair bounds the offset of {host} to {reference}; "
                "offset assumed 0",
            ))
    return offsets, tuple(records)


def _fmt_bound(x: float) -> str:
    return "−∞" if x == -math.inf else ("+∞" if x == math.inf else f"{x:+.3f}")
