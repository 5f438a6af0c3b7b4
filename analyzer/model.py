"""The analysis result: what the correlator produces and reporters render.

Reporters read only these records (and pattern metadata already copied into them); they never
see raw lines or run a regex. ``Report`` maps 1:1 onto the versioned JSON schema in
``analyzer/report/schema/report-v1.schema.json``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from .records import InputSummary, Problem

__all__ = [
    "SCHEMA_VERSION",
    "Outcome",
    "Evidence",
    "CauseVerdict",
    "TimelineEntry",
    "ProgressPoint",
    "Convergence",
    "ClockOffset",
    "MissingEvidence",
    "Migration",
    "InputSummary",
    "Summary",
    "Report",
]

SCHEMA_VERSION = "1.0"


class Outcome(str, enum.Enum):
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"
    FAILED_PRECHECK = "failed_precheck"  # failed before any data moved
    IN_PROGRESS = "in_progress"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @property
    def failed(self) -> bool:
        return self in (Outcome.ROLLED_BACK, Outcome.ABORTED, Outcome.FAILED_PRECHECK)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One log line that supports a verdict."""

    pattern_id: str
    title: str
    host: str | None
    source: str
    line: int
    timestamp: datetime | None  # clock-corrected UTC
    text: str
    role: str = "cause"  # "cause" | "symptom" | "context"


@dataclass(frozen=True, slots=True)
class CauseVerdict:
    """A cause (taxonomy id) with its confidence, evidence and the catalogue's wording."""

    cause: str
    confidence: float
    pattern_id: str
    title: str
    summary: str
    why: str
    fix: str
    evidence: tuple[Evidence, ...]
    #: for secondary causes: one sentence on why this ranked below the primary
    ranked_lower_because: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    timestamp: datetime | None  # clock-corrected UTC
    raw_timestamp: datetime | None  # as logged (UTC-normalised, before skew correction)
    host: str | None
    role: str | None  # "source" | "destination" | "conductor" | None
    kind: str  # "event" | "cause"
    stage: str | None
    cause: str | None
    pattern_id: str
    title: str
    severity: str
    source: str
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class ProgressPoint:
    timestamp: datetime | None
    elapsed_s: int
    memory_remaining_pct: int
    processed_bytes: int | None = None
    remaining_bytes: int | None = None
    total_bytes: int | None = None
    disk_remaining_pct: int | None = None


@dataclass(frozen=True, slots=True)
class Convergence:
    points: tuple[ProgressPoint, ...]
    trend: str  # "falling" | "flat" | "rising" | "insufficient"
    summary: str


@dataclass(frozen=True, slots=True)
class ClockOffset:
    """Estimated offset to add to a host's timestamps to put it on the reference clock."""

    host: str
    offset_s: float
    lower_s: float | None
    upper_s: float | None
    basis: str  # the causal pairs / assumption the estimate rests on


@dataclass(frozen=True, slots=True)
class MissingEvidence:
    what: str
    why: str
    how: str  # the command or step that gets it


@dataclass(frozen=True, slots=True)
class Migration:
    id: str
    instance_uuid: str | None
    request_ids: tuple[str, ...]
    source_host: str | None
    dest_host: str | None
    start: datetime | None
    end: datetime | None
    outcome: Outcome
    root_cause: CauseVerdict | None
    secondary_causes: tuple[CauseVerdict, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    convergence: Convergence | None = None
    missing_evidence: tuple[MissingEvidence, ...] = ()
    remediation: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    primary_cause: str  # taxonomy id; "none" when no failed migration
    migrations: int
    failed: int
    causes: dict[str, int] = field(default_factory=dict)
    headline: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    summary: Summary
    migrations: tuple[Migration, ...]
    inputs: tuple[InputSummary, ...]
    problems: tuple[Problem, ...]
    clock_offsets: tuple[ClockOffset, ...] = ()
    tool_version: str = ""
    generated_at: datetime | None = None
    schema_version: str = SCHEMA_VERSION
