"""Grouping findings into one group per live-migration *attempt*, host roles and outcome.

Keys, strongest first (shared/notes/messages.md §1.1 "Request-id correlation", §3):

1. **request id** — nova serialises the RequestContext over RPC, so conductor, source and
   destination lines of one attempt carry the same ``req-…``; different request ids are
   different attempts. A request id that covers several instances (a periodic task) is split
   per instance.
2. **instance UUID** — lines with the UUID but no request id (``[-]`` lifecycle events, the
   AppArmor profile ``libvirt-<uuid>``, QEMU lines mapped through the guest name) join the
   request group of that instance whose time window (±60 s, else ±5 min) contains them; the
   rest form request-less attempts, split where a start line (``attempt``/
   ``pre_live_migration``/``transfer_start``) follows a terminal line. Such a run joins the
   instance's only request group within an hour when none of its hosts logged a line of that
   group (a gap between two clocks may be drift; one on a single clock is not). A request
   group with no UUID at all (the destination's ``pre_live_migration data is``) joins the
   only request-less attempt on its host within ±60 s.
   Lines without a timestamp (QEMU's command line) go with the timed line before them in the
   same file; they never form an attempt of their own next to real ones.
3. **host + time window** — lines with neither (libvirtd, QEMU without a name mapping, audit)
   join the attempt that involves their host and whose window [start − 60 s, end + 60 s]
   contains them (the nearest one when attempts overlap).

What is left becomes *orphan* groups (a pasted line, CLI output, a libvirt-only log), split on
gaps of more than five minutes, so that every finding that says something about a failure is
reported in some migration.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..model import Outcome
from .items import (
    LIFECYCLE_MARKS,
    START_MARKS,
    TERMINAL_MARKS,
    TRANSFER_MARKS,
    WEAK_MARKS,
    WEAK_SIGNALS,
    Item,
)

__all__ = [
    "WINDOW_S",
    "Group",
    "group_anchored",
    "attach_unanchored",
    "assign_roles",
    "decide_outcome",
    "substantive",
    "shows_migration",
    "is_failure_like",
]

#: How far outside an attempt's span a line on one of its hosts may lie and still belong to it.
WINDOW_S = 60.0
#: a line of an instance (no request id) joins that instance's attempt this far outside it
_INSTANCE_WINDOW_S = 300.0
#: request-less lines of one instance more than this apart are separate attempts
_SAME_ATTEMPT_GAP_S = 3600.0
#: orphan lines (no instance, no request, no host match) more than this apart are split
_ORPHAN_GAP_S = 300.0

#: signals (items.py) that prove the attempt got past the pre-checks
_TRANSFER_SIGNALS = frozenset(
    {
        "lm_failure", "took_plm", "migrate_api", "initiating", "progress", "plm_data",
        "plm_result", "plm_driver", "incoming_cmd", "migration_out", "migration_in",
        "load_failed", "monitor_start", "op_aborted", "plm_failed", "op_completed",
        "lm_failed",
    }
)
#: stages at which a failing line proves that data was moving
_TRANSFER_STAGES = frozenset(
    {"pre_live_migration", "live_migration", "live_migration_operation",
     "live_migration_monitor", "incoming_migration"}
)
_SUCCESS_SIGNALS = frozenset({"success"})


@dataclass(eq=False)
class Group:
    """Working state of one attempt (becomes a :class:`analyzer.model.Migration`)."""

    items: list[Item]
    instance_uuid: str | None = None
    request_id: str | None = None
    anchored: bool = True
    source: str | None = None
    dest: str | None = None
    conductors: set[str] = field(default_factory=set)
    outcome: Outcome = Outcome.UNKNOWN

    def span(self, corrected: bool = False) -> tuple[float | None, float | None]:
        times = [t for t in ((it.tc if corrected else it.t) for it in self.items) if t is not None]
        return (min(times), max(times)) if times else (None, None)

    @property
    def request_ids(self) -> tuple[str, ...]:
        return tuple(sorted({it.request_id for it in self.items if it.request_id}))

    @property
    def instance_name(self) -> str | None:
        for it in self.items:
            if it.instance_name:
                return it.instance_name
        return None

    @property
    def hosts(self) -> set[str]:
        found = {it.host for it in self.items if it.host}
        found.update(h for h in (self.source, self.dest) if h)
        return found

    @property
    def marks(self) -> frozenset[str]:
        return frozenset().union(*(it.marks for it in self.items)) if self.items else frozenset()

    @property
    def signals(self) -> frozenset[str]:
        return frozenset().union(*(it.signals for it in self.items)) if self.items else frozenset()

    def role_of(self, item: Item) -> str | None:
        if item.conductor:
            return "conductor"
        if item.host is None:
            return None
        if item.host == self.source:
            return "source"
        if item.host == self.dest:
            return "destination"
        return None

    def sort(self, corrected: bool = True) -> None:
        self.items.sort(key=lambda it: it.sort_key(corrected))


def _nearest(groups: Sequence[Group], t: float) -> Group | None:
    """The group with a line closest in time to ``t``."""
    best: tuple[float, Group] | None = None
    for g in groups:
        for it in g.items:
            if it.t is None:
                continue
            d = abs(it.t - t)
            if best is None or d < best[0]:
                best = (d, g)
    return best[1] if best else None


def _split_by_marks(items: list[Item], gap: float) -> list[list[Item]]:
    """Split a time-sorted run of lines into attempts.

    A start line (``attempt``/``pre_live_migration``/``transfer_start``) after a terminal line
    (success/failure/rollback/aborted) begins a new attempt; so does a silence longer than
    ``gap`` seconds.
    """
    runs: list[list[Item]] = []
    current: list[Item] = []
    ended = False
    last_t: float | None = None
    for it in items:
        starts = bool(it.marks & START_MARKS)
        gap_break = last_t is not None and it.t is not None and it.t - last_t > gap
        if current and ((ended and starts) or gap_break):
            runs.append(current)
            current, ended = [], False
        current.append(it)
        if it.marks & TERMINAL_MARKS or it.signals & _SUCCESS_SIGNALS:
            ended = True
        if it.t is not None:
            last_t = it.t
    if current:
        runs.append(current)
    return runs


def _placed_lines(groups: Iterable[Group]) -> dict[str, list[tuple[int, Group]]]:
    """Per source, the (line number, group) of every timed line already in a group."""
    placed: dict[str, list[tuple[int, Group]]] = defaultdict(list)
    for g in groups:
        for it in g.items:
            if it.t is not None:
                placed[it.finding.record.source].append((it.finding.record.line, g))
    for lines in placed.values():
        lines.sort(key=lambda x: x[0])
    return placed


def _by_neighbour(it: Item, placed: Mapping[str, Sequence[tuple[int, Group]]]) -> Group | None:
    """The group of the timed line next to an untimed one in the same file.

    A line without a timestamp (QEMU's ``LC_ALL=C … -incoming defer`` command line, a pasted
    continuation) was written right after the timed line before it (QEMU logs its command
    line just after ``starting up libvirt``): that line's attempt is the untimed line's. The
    following timed line is used only when nothing precedes it in the file.
    """
    lines = placed.get(it.finding.record.source)
    if not lines:
        return None
    i = bisect.bisect_left(lines, it.finding.record.line, key=lambda x: x[0])
    if i > 0:
        return lines[i - 1][1]
    return lines[i][1] if i < len(lines) else None


def _place_untimed(untimed: Sequence[Item], segs: Sequence[Group],
                   new_group: Callable[[list[Item]], None]) -> None:
    """Give an instance's untimed lines to its attempts (pass 1).

    The attempt of the nearest timed line of the same file; without one, the latest attempt
    that involves the line's host (else the latest attempt). Untimed lines form a group of
    their own only when the instance has no attempt at all: alone they would count as a
    phantom attempt (an ``-incoming`` command line carries a lifecycle mark).
    """
    if not untimed:
        return
    if not segs:
        new_group(list(untimed))
        return
    placed = _placed_lines(segs)
    by_start = sorted(segs, key=lambda g: (g.span()[0] is None, g.span()[0] or 0.0))
    for it in untimed:
        target = _by_neighbour(it, placed)
        if target is None:
            on_host = [g for g in by_start if it.host is not None and it.host in g.hosts]
            target = (on_host or by_start)[-1]
        target.items.append(it)


def _compute_hosts_of(items: Iterable[Item]) -> set[str]:
    return {it.host for it in items if it.host is not None and not it.conductor}


def _gap(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> float:
    """Seconds between two spans (0 when they overlap; infinite when one has no time)."""
    (a0, a1), (b0, b1) = a, b
    if a0 is None or a1 is None or b0 is None or b1 is None:
        return float("inf")
    return max(0.0, a0 - b1, b0 - a1)


def _other_half(run: Sequence[Item], requests: Sequence[Group]) -> Group | None:
    """The request segment of which a request-less run of an instance is the missing half.

    A host that logs only libvirt/QEMU lines has no request id, and its clock is compared with
    the request's lines (written on other hosts) before any drift is known: with a drift over
    ``_INSTANCE_WINDOW_S`` its lines fall outside every window. A gap between two hosts' clocks
    can be drift; a gap on one host's own clock cannot. So the run joins the request segment
    when no host of the run logged any line of that segment, the segment is within
    ``_SAME_ATTEMPT_GAP_S``, and it is the only such segment of the instance (with two, which
    one is a guess: the run stays an attempt of its own).
    """
    hosts = _compute_hosts_of(run)
    if not hosts:
        return None
    s, e = run[0].t, run[-1].t
    candidates = [
        g for g in requests
        if not (hosts & _compute_hosts_of(g.items))
        and _gap((s, e), g.span()) <= _SAME_ATTEMPT_GAP_S
    ]
    return candidates[0] if len(candidates) == 1 else None


def _join_uuidless_requests(segments: dict[str | None, list[Group]]) -> None:
    """Merge a request group without a UUID into the instance's request-less attempt.

    The destination's ``pre_live_migration data is`` lines carry the request id but no
    ``[instance: …]``; when the source's lines (which carry both) are not in the input, the
    request is tied to no instance, while the destination's QEMU lines of that instance form a
    request-less attempt. The two are one attempt when they share a compute host, lie within
    ``WINDOW_S`` of each other, and each is the other's only candidate.
    """
    orphans = segments.get(None, [])
    if not orphans:
        return
    loose = [g for u, gs in segments.items() if u is not None for g in gs
             if g.request_id is None]
    pick: dict[int, list[Group]] = {}
    chosen: dict[int, Group] = {}
    for rg in orphans:
        hosts = _compute_hosts_of(rg.items)
        span = rg.span()
        cands = [g for g in loose
                 if hosts & _compute_hosts_of(g.items) and _gap(span, g.span()) <= WINDOW_S]
        if len(cands) == 1:
            chosen[id(rg)] = cands[0]
            pick.setdefault(id(cands[0]), []).append(rg)
    merged: set[int] = set()
    for rg in orphans:
        target = chosen.get(id(rg))
        if target is None or len(pick[id(target)]) != 1:
            continue
        target.items.extend(rg.items)
        target.request_id = rg.request_id
        merged.add(id(rg))
    if merged:
        segments[None] = [g for g in orphans if id(g) not in merged]


def group_anchored(items: Iterable[Item]) -> tuple[list[Group], list[Item]]:
    """Pass 1: groups keyed by request id and instance UUID; returns (groups, unanchored)."""
    by_req: dict[str, list[Item]] = defaultdict(list)
    loose: dict[str, list[Item]] = defaultdict(list)
    unanchored: list[Item] = []
    for it in items:
        if it.request_id:
            by_req[it.request_id].append(it)
        elif it.instance_uuid:
            loose[it.instance_uuid].append(it)
        else:
            unanchored.append(it)

    segments: dict[str | None, list[Group]] = defaultdict(list)
    target: Group | None
    for req, its in by_req.items():
        uuids = sorted({it.instance_uuid for it in its if it.instance_uuid})
        if len(uuids) <= 1:
            uuid = uuids[0] if uuids else None
            segments[uuid].append(Group(list(its), instance_uuid=uuid, request_id=req))
            continue
        # one request, several instances (periodic task): one group per instance; lines
        # without a UUID go to the instance whose lines are nearest in time
        sub = {u: Group([], instance_uuid=u, request_id=req) for u in uuids}
        for it in its:
            if it.instance_uuid:
                sub[it.instance_uuid].items.append(it)
        for it in its:
            if it.instance_uuid is None:
                nearest = _nearest(list(sub.values()), it.t) if it.t is not None else None
                (nearest or sub[uuids[0]]).items.append(it)
        for u in uuids:
            segments[u].append(sub[u])

    for uuid, its in loose.items():
        segs = segments.get(uuid, [])
        requests = list(segs)  # the instance's request segments, before any loose run
        spans = [(g, *g.span()) for g in segs]
        rest: list[Item] = []
        untimed: list[Item] = []
        for it in its:
            if it.t is None:
                untimed.append(it)  # placed below, once every timed line has its group
                continue
            target = None
            # the instance is a strong key: a wider window than for host-only lines
            # tolerates clock drift of a host that logs only UUID/name-bearing lines
            for window in (WINDOW_S, _INSTANCE_WINDOW_S):
                near = [g for g, s, e in spans
                        if s is not None and e is not None
                        and s - window <= it.t <= e + window]
                target = _nearest(near, it.t) if near else None
                if target is not None:
                    break
            if target is not None:
                target.items.append(it)
            else:
                rest.append(it)
        rest.sort(key=lambda it: it.sort_key(corrected=False))
        for run in _split_by_marks(rest, _SAME_ATTEMPT_GAP_S):
            half = _other_half(run, requests)
            if half is not None:
                half.items.extend(run)
            else:
                segments[uuid].append(Group(run, instance_uuid=uuid))
        _place_untimed(untimed, segments[uuid], lambda run: segments[uuid].append(
            Group(run, instance_uuid=uuid)))

    _join_uuidless_requests(segments)
    groups = [g for segs in segments.values() for g in segs]
    for g in groups:
        g.sort(corrected=False)
    return groups, unanchored


class _SpanIndex:
    """Groups by span start, to find those whose window contains a time in O(log n + k).

    Large inputs have hundreds of attempts per host and tens of thousands of host-only lines;
    a linear scan per line would be quadratic.
    """

    def __init__(self, groups: Iterable[Group]) -> None:
        spans = []
        for g in groups:
            s, e = g.span()
            if s is not None and e is not None:
                spans.append((s, e, g))
        spans.sort(key=lambda x: x[0])
        self._starts = [s for s, _, _ in spans]
        self._spans = spans
        self._longest = max((e - s for s, e, _ in spans), default=0.0)

    def containing(self, t: float, window: float) -> list[Group]:
        hi = bisect.bisect_right(self._starts, t + window)
        found = []
        for i in range(hi - 1, -1, -1):
            s, e, g = self._spans[i]
            if s < t - window - self._longest:
                break
            if e + window >= t:
                found.append(g)
        return found


def attach_unanchored(groups: list[Group], unanchored: Iterable[Item]) -> list[Group]:
    """Pass 2: attach host/time-only lines to the attempts; the rest become orphan groups.

    Spans are taken from the anchored lines only (before anything is attached), so a chain of
    loosely attached lines cannot stretch an attempt. Returns the orphan groups (already
    appended to ``groups``).
    """
    by_host: dict[str, list[Group]] = defaultdict(list)
    for g in groups:
        for h in g.hosts:
            by_host[h].append(g)
    index = {h: _SpanIndex(gs) for h, gs in by_host.items()}
    everywhere = _SpanIndex(groups)
    leftovers: list[Item] = []
    additions: list[tuple[Group, Item]] = []
    untimed: list[Item] = []
    for it in sorted(unanchored, key=lambda i: i.sort_key(corrected=False)):
        target: Group | None = None
        if it.t is None:
            untimed.append(it)  # after the timed lines: it goes with its neighbour in the file
            continue
        pool = index.get(it.host) if it.host is not None else everywhere
        near = pool.containing(it.t, WINDOW_S) if pool is not None else []
        if it.instance_name:
            named = [g for g in near if g.instance_name == it.instance_name]
            near = named or near
        if it.host is None and len(near) > 1:
            near = []  # no host and several candidates: do not guess
        target = _nearest(near, it.t) if near else None
        if target is None:
            leftovers.append(it)
        else:
            additions.append((target, it))
    for g, it in additions:
        g.items.append(it)
    if untimed:
        placed = _placed_lines(groups)
        for it in untimed:
            target = _by_neighbour(it, placed)
            if target is None and len(groups) == 1 and (
                    it.host is None or it.host in groups[0].hosts):
                target = groups[0]
            if target is None:
                leftovers.append(it)
            else:
                target.items.append(it)
    for g in groups:
        g.sort(corrected=False)

    orphans: list[Group] = []
    timed = [it for it in leftovers if it.t is not None]
    untimed = [it for it in leftovers if it.t is None]
    for run in _split_by_marks(timed, _ORPHAN_GAP_S):
        orphans.append(Group(run, anchored=False))
    if untimed:
        orphans.append(Group(untimed, anchored=False))
    for g in orphans:
        uuids = {it.instance_uuid for it in g.items if it.instance_uuid}
        g.instance_uuid = next(iter(uuids)) if len(uuids) == 1 else None
    groups.extend(orphans)
    return orphans


def assign_roles(group: Group) -> None:
    """Decide the source and destination hosts of an attempt from what its lines say.

    The host that logs source-side lines (``Live Migration failure``, ``About to invoke the
    migrate API``, ``Took … for pre_live_migration on destination host X``, QEMU ``initiating
    migration``) is the source; destination-side lines (``pre_live_migration data is``,
    ``Post operation of migration started``, QEMU ``-incoming``) name the destination. A
    captured ``dest`` names the destination from the other side; ``Skipping host: X`` names a
    *rejected* destination and is used only when nothing better exists.
    """
    votes: dict[str, dict[str, int]] = defaultdict(lambda: {"source": 0, "destination": 0})
    conductors: set[str] = set()
    named_dest: list[tuple[int, float, str]] = []
    named_src: list[tuple[float, str]] = []
    for it in group.items:
        t = it.t if it.t is not None else 0.0
        if it.dest_named:
            prio = 0 if "skipping_host" in it.signals else 1
            if it.signals & {"took_plm", "success", "plm_failed"} or it.marks & {
                "success", "transfer_start", "post_migration"
            }:
                prio = 2
            named_dest.append((prio, t, it.dest_named))
        if it.src_named:
            named_src.append((t, it.src_named))
        if it.host is None:
            continue
        if it.conductor:
            conductors.add(it.host)
            continue
        if it.role_hint:
            votes[it.host][it.role_hint] += 1

    def best(role: str, other: str, exclude: str | None) -> str | None:
        ranked = sorted(
            ((v[role], h) for h, v in votes.items() if v[role] > v[other] and h != exclude),
            key=lambda x: (-x[0], x[1]),
        )
        return ranked[0][1] if ranked else None

    named_dest.sort(key=lambda x: (-x[0], -x[1]))
    strong_dest = next((h for p, _, h in named_dest if p == 2), None)
    source = best("source", "destination", strong_dest)
    if source is None and named_src:
        source = named_src[-1][1]
    dest = strong_dest or best("destination", "source", source)
    if dest is None:
        dest = next((h for _, _, h in named_dest if h != source), None)
    compute_hosts = {it.host for it in group.items if it.host and not it.conductor}
    if source is None and dest is not None:
        others = compute_hosts - {dest}
        if len(others) == 1:
            source = others.pop()
    if dest is None and source is not None:
        others = compute_hosts - {source}
        if len(others) == 1:
            dest = others.pop()
    group.source, group.dest = source, (dest if dest != source else None)
    group.conductors = conductors


def is_failure_like(it: Item) -> bool:
    """A line that says the attempt failed (job-lock noise excluded: it is often harmless).

    A ``rollback`` line alone is not one: ``Instance destroyed successfully.`` is also what
    any delete logs (see :func:`decide_outcome`).
    """
    if it.marks & {"failure", "precheck_failed"}:
        return True
    return it.cause is not None and it.is_error and it.cause not in ("libvirt_busy_lock", "none")


def _is_abort(it: Item) -> bool:
    return "aborted" in it.marks or "canceled" in it.signals


def decide_outcome(group: Group, input_end: Mapping[str | None, float]) -> Outcome:
    """Outcome of one attempt from its marks (uses corrected timestamps for ordering).

    * completed: a success or post-migration line;
    * aborted: ``aborted`` / ``canceled by client`` with no earlier failure other than Nova's
      own completion timeout (whose abort action produces the same libvirt text);
    * failed_precheck: a pre-check failure, or a failure before anything was prepared or sent;
    * rolled_back: a failure once the destination was prepared or data moved;
    * unknown: also when Nova gave up without rolling back (``Live migration failed.``);
    * in_progress: started, no terminal line, and the hosts' logs end within the window;
    * unknown: everything else (a pasted cause line with no lifecycle context).
    """
    marks, signals = group.marks, group.signals
    if marks & {"success", "post_migration"} or signals & _SUCCESS_SIGNALS:
        return Outcome.COMPLETED
    items = sorted(group.items, key=lambda it: it.sort_key(corrected=True))
    aborts = [it for it in items if _is_abort(it)]
    if aborts:
        first = aborts[0].tc
        earlier = [
            it for it in items
            if is_failure_like(it) and not _is_abort(it) and it.cause != "completion_timeout"
            and first is not None and it.tc is not None and it.tc < first - 0.5
        ]
        if not earlier:
            return Outcome.ABORTED
    fails = [it for it in items if is_failure_like(it)]
    if not fails and "rollback" in marks and marks & (TRANSFER_MARKS | {"attempt", "precheck"}):
        fails = [it for it in items if "rollback" in it.marks]  # the failure line is missing
    transfer = bool(marks & TRANSFER_MARKS) or bool(signals & _TRANSFER_SIGNALS) or any(
        "failure" in it.marks and it.stage in _TRANSFER_STAGES for it in fails
    )
    if fails or aborts:
        if signals & {"lm_failed"} and not marks & {"rollback"} and "op_aborted" not in signals:
            # "Live migration failed." (compute manager, messages.md §2.15 row 225): the driver
            # call raised, Nova set the instance to ERROR and did not roll back; where the guest
            # runs now must be checked by hand
            return Outcome.UNKNOWN
        if transfer:
            return Outcome.ROLLED_BACK
        if marks & (LIFECYCLE_MARKS - {"names_destination", "names_source"}):
            return Outcome.FAILED_PRECHECK
        if signals & {"skipping_host", "dest_check", "source_check", "tmpfile", "cpu_compat"}:
            return Outcome.FAILED_PRECHECK
        return Outcome.UNKNOWN
    if marks & (START_MARKS | {"progress", "precheck", "incoming", "postcopy"}) or signals & (
        _TRANSFER_SIGNALS
    ):
        _, end = group.span(corrected=False)
        ends = [input_end[h] for h in group.hosts if h in input_end]
        if end is not None and ends and max(ends) - end <= WINDOW_S:
            return Outcome.IN_PROGRESS
    return Outcome.UNKNOWN


def shows_migration(group: Group) -> bool:
    """Whether some line of the group is one only a live migration logs (not just a cause)."""
    return any(it.marks - WEAK_MARKS or it.signals - WEAK_SIGNALS for it in group.items)


def substantive(group: Group) -> bool:
    """Whether a group shows a live migration: a cause, or a mark or message that only a live
    migration logs (a failure mark alone is not enough: see ``WEAK_MARKS``).

    An orphan group (no instance, no request) of job-lock lines only is libvirt noise, not a
    migration: it counts only when nothing else was found (a pasted lock error).
    """
    noise_only = ("libvirt_busy_lock",) if not group.anchored else ()
    return any(
        (it.kind == "cause" and it.cause not in noise_only)
        or it.marks - WEAK_MARKS or it.signals - WEAK_SIGNALS
        for it in group.items
    )
