"""JSON reporter against its published schema (JSON Schema 2020-12)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from analyzer.catalogue.schema import SEVERITIES, TAXONOMY
from analyzer.model import (
    SCHEMA_VERSION,
    CauseVerdict,
    ClockOffset,
    Evidence,
    InputSummary,
    Migration,
    MissingEvidence,
    Outcome,
    ProgressPoint,
    Report,
    Summary,
    TimelineEntry,
)
from analyzer.records import Problem
from analyzer.report import SCHEMA_PATH, render, to_json_dict

DOCS = Path(__file__).resolve().parents[2] / "docs" / "report-json.md"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(validator: Draft202012Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(doc)]


def test_schema_is_2020_12_and_versioned(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION == "1.0"


def test_reports_validate(validator: Draft202012Validator, report: Report,
                          no_migration_report: Report) -> None:
    for r in (report, no_migration_report):
        doc = json.loads(render(r, "json"))
        assert errors(validator, doc) == []


def test_report_without_generated_at_or_version_validates(validator: Draft202012Validator,
                                                           build: Any) -> None:
    doc = to_json_dict(build.make_report(generated_at=None, tool_version=""))
    assert doc["generated_at"] is None and doc["tool"]["version"]
    assert errors(validator, doc) == []


def _without_root_cause_cause(doc: dict[str, Any]) -> None:
    del doc["migrations"][0]["root_cause"]["cause"]


def _unknown_cause(doc: dict[str, Any]) -> None:
    doc["migrations"][0]["root_cause"]["cause"] = "cosmic_rays"


def _naive_timestamp(doc: dict[str, Any]) -> None:
    doc["migrations"][0]["timeline"][0]["timestamp"] = "2024-05-14T10:21:06.362"


def _wrong_version(doc: dict[str, Any]) -> None:
    doc["schema_version"] = "2.0"


def _extra_field(doc: dict[str, Any]) -> None:
    doc["migrations"][0]["evidence_count"] = 3


def _confidence_out_of_range(doc: dict[str, Any]) -> None:
    doc["migrations"][0]["root_cause"]["confidence"] = 1.5


def _bad_outcome(doc: dict[str, Any]) -> None:
    doc["migrations"][1]["outcome"] = "success"


def _missing_problems(doc: dict[str, Any]) -> None:
    del doc["problems"]


def _secondary_without_reason_field(doc: dict[str, Any]) -> None:
    del doc["migrations"][0]["secondary_causes"][0]["ranked_lower_because"]


def _percent_over_100(doc: dict[str, Any]) -> None:
    doc["migrations"][1]["convergence"]["points"][0]["memory_remaining_pct"] = 140


@pytest.mark.parametrize("corrupt", [
    _without_root_cause_cause, _unknown_cause, _naive_timestamp, _wrong_version, _extra_field,
    _confidence_out_of_range, _bad_outcome, _missing_problems, _secondary_without_reason_field,
    _percent_over_100,
])
def test_invalid_documents_are_rejected(validator: Draft202012Validator, report: Report,
                                        corrupt: Any) -> None:
    doc = copy.deepcopy(to_json_dict(report))
    assert errors(validator, doc) == []
    corrupt(doc)
    assert errors(validator, doc), f"{corrupt.__name__} was accepted"


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{path}.{name}", sub
            yield from _walk(sub, f"{path}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                yield from _walk(node[key], f"{path}[]")
        for name, sub in node.get("$defs", {}).items():
            yield f"$defs.{name}", sub
            yield from _walk(sub, f"$defs.{name}")


def test_every_field_is_described_and_closed(schema: dict[str, Any]) -> None:
    fields = list(_walk(schema))
    assert len(fields) > 80
    for path, sub in fields:
        if "$ref" in sub:
            continue
        assert sub.get("description", "").strip(), f"{path} has no description"
        if sub.get("type") in ("object", ["object", "null"]) and "properties" in sub:
            assert sub.get("additionalProperties") is False, f"{path} is open"
            assert set(sub["required"]) == set(sub["properties"]), f"{path}: optional field"


def test_closed_sets_match_the_code(schema: dict[str, Any]) -> None:
    d = schema["$defs"]
    assert d["root_cause"]["properties"]["cause"]["enum"] == list(TAXONOMY)
    assert d["secondary_cause"]["properties"]["cause"]["enum"] == list(TAXONOMY)
    assert schema["properties"]["summary"]["properties"]["primary_cause"]["enum"] == list(TAXONOMY)
    assert d["migration"]["properties"]["outcome"]["enum"] == [o.value for o in Outcome]
    assert d["timeline_entry"]["properties"]["severity"]["enum"] == list(SEVERITIES)


MODEL_OBJECTS = [
    (Migration, "migration"), (Evidence, "evidence"), (TimelineEntry, "timeline_entry"),
    (ProgressPoint, "progress_point"), (ClockOffset, "clock_offset"),
    (InputSummary, "input"), (Problem, "problem"), (MissingEvidence, "missing_evidence"),
    (CauseVerdict, "secondary_cause"),
]


@pytest.mark.parametrize(("cls", "ref"), MODEL_OBJECTS, ids=[r for _, r in MODEL_OBJECTS])
def test_schema_maps_the_model_one_to_one(schema: dict[str, Any], cls: type, ref: str) -> None:
    model_fields = {f.name for f in dataclasses.fields(cls)}
    assert set(schema["$defs"][ref]["properties"]) == model_fields
    summary_fields = {f.name for f in dataclasses.fields(Summary)}
    assert set(schema["properties"]["summary"]["properties"]) == summary_fields


def test_root_cause_has_every_verdict_field_but_the_ranking(schema: dict[str, Any]) -> None:
    fields = {f.name for f in dataclasses.fields(CauseVerdict)} - {"ranked_lower_because"}
    assert set(schema["$defs"]["root_cause"]["properties"]) == fields


def test_values_round_trip(report: Report) -> None:
    doc = to_json_dict(report)
    assert doc["tool"] == {"name": "nma", "version": report.tool_version}
    assert doc["summary"]["causes"] == report.summary.causes
    assert doc["summary"]["headline"].startswith(f"{report.summary.migrations} live migrations")
    for m, jm in zip(report.migrations, doc["migrations"]):
        assert jm["outcome"] == m.outcome.value
        assert jm["hosts"] == list(m.hosts)
        for e, je in zip(m.timeline, jm["timeline"]):
            assert datetime.fromisoformat(je["timestamp"]) == e.timestamp
            assert datetime.fromisoformat(je["raw_timestamp"]) == e.raw_timestamp
            assert je["text"] == e.text and je["line"] == e.line
        if m.root_cause:
            assert jm["root_cause"]["fix"] == m.root_cause.fix
            assert [x["text"] for x in jm["root_cause"]["evidence"]] == [
                x.text for x in m.root_cause.evidence]
    assert [p["message"] for p in doc["problems"]] == [p.message for p in report.problems]
    off = {o["host"]: o["offset_s"] for o in doc["clock_offsets"]}
    assert off == {o.host: o.offset_s for o in report.clock_offsets}


TIME_KEYS = {"timestamp", "raw_timestamp", "start", "end", "generated_at"}


def _times(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TIME_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _times(value)
    elif isinstance(node, list):
        for item in node:
            yield from _times(item)


def test_all_timestamps_carry_an_offset(report: Report) -> None:
    stamps = list(_times(json.loads(render(report, "json"))))
    assert len(stamps) > 20
    for s in stamps:
        assert datetime.fromisoformat(s).utcoffset() is not None, s


def test_docs_describe_every_field(schema: dict[str, Any]) -> None:
    doc = DOCS.read_text(encoding="utf-8")
    names = {path.rsplit(".", 1)[-1].rstrip("[]") for path, _ in _walk(schema)
             if not path.startswith("$defs.") or path.count(".") > 1}
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, f"docs/report-json.md does not describe: {missing}"
    assert "1.0" in doc and "report-v1.schema.json" in doc
