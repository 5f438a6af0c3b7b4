"""oslo.log (nova-*) lines: context forms, DEBUG suffix, tracebacks, continuations, kinds, zones.

Lines are built from messages.md §1.1 (oslo.log defaults and its examples) and the §2/§3 rows
cited next to each one; ``…`` in the reference is filled with fixed UUIDs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from analyzer.parsers import is_record_start
from analyzer.records import Record, SourceKind

ParseFn = Callable[..., Record]  # the `parse` fixture (conftest.py)

REQ = "req-590602d0-9d5a-4c1e-9d3b-4c5d86bbf0c5"
GREQ = "req-0e2c7a34-51f6-4d0b-a6f7-bb1c2d3e4f50"
INST = "7b7edae6-2b8c-4a3e-9c1d-0e5f6a7b8c9d"
USER, PROJ = "3de117d2c7a74f2a9f3e0c1d5b6a7e88", "eab438b1f1e44a6b8a0c2d4e6f8a0b1c"
LIBVIRT_ERR = "operation failed: domain is not running"

# §1.1 "Zed+" example + error_summary example (row 117 `Live Migration failure: %s`)
ZED = (f"2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [None {REQ} {USER} {PROJ} - - "
       f"default default] [instance: {INST}] Live Migration failure: {LIBVIRT_ERR}: "
       f"libvirt.libvirtError: {LIBVIRT_ERR}")
# §1.1 "pre-Zed" example (5 identity fields)
PRE_ZED = (f"2021-03-04 10:11:12.345 12345 ERROR nova.virt.libvirt.driver [{REQ} {USER} {PROJ} - "
           f"default default] [instance: {INST}] Live Migration failure: {LIBVIRT_ERR}")
# §1.1 DEBUG suffix example (row 20 `About to invoke the migrate API`)
DEBUG = (f"2024-07-11 22:10:58.001 2 DEBUG nova.virt.libvirt.driver [None {REQ} {USER} {PROJ} - - "
         f"default default] [instance: {INST}] About to invoke the migrate API "
         "_live_migration_operation /usr/lib/python3.9/site-packages/nova/virt/libvirt/driver.py:10345")


def test_zed_context_instance_and_error_summary(parse: ParseFn) -> None:
    r = parse(ZED)
    assert (r.fmt, r.level, r.logger, r.pid) == ("oslo", "ERROR", "nova.virt.libvirt.driver", 2)
    assert r.global_request_id is None  # the literal "None"
    assert r.request_id == REQ
    assert r.instance_uuid == INST
    # the error_summary suffix stays in the message (messages.md §1.1)
    assert r.message == f"Live Migration failure: {LIBVIRT_ERR}: libvirt.libvirtError: {LIBVIRT_ERR}"
    assert r.text == ZED
    assert r.kind is SourceKind.NOVA_COMPUTE
    assert r.timestamp == datetime(2024, 7, 11, 22, 10, 59, 946000, tzinfo=timezone.utc)


def test_pre_zed_context(parse: ParseFn) -> None:
    r = parse(PRE_ZED)
    assert r.request_id == REQ and r.global_request_id is None
    assert r.instance_uuid == INST and r.pid == 12345
    assert r.message == f"Live Migration failure: {LIBVIRT_ERR}"


def test_global_request_id(parse: ParseFn) -> None:
    # §1.1: global_request_id is set when the caller sent X-OpenStack-Request-ID
    line = ZED.replace(f"[None {REQ}", f"[{GREQ} {REQ}")
    r = parse(line)
    assert (r.global_request_id, r.request_id) == (GREQ, REQ)


@pytest.mark.parametrize("ctx", [
    "-",                                    # §1.1 no context (lifecycle events)
    f"{REQ} - - - - -",                     # §1.1 periodic task, pre-Zed
    f"None {REQ} - - - - - -",              # §1.1 periodic task, Zed+
])
def test_context_forms(parse: ParseFn, ctx: str) -> None:
    # row 34 `VM %(state)s (Lifecycle Event)`, nova.compute.manager INFO
    r = parse(f"2024-07-11 22:11:01.002 2 INFO nova.compute.manager [{ctx}] [instance: {INST}] "
              "VM Paused (Lifecycle Event)")
    assert r.message == "VM Paused (Lifecycle Event)"
    assert r.instance_uuid == INST
    assert r.request_id == (None if ctx == "-" else REQ)
    assert r.global_request_id is None


def test_debug_suffix_removed_from_message_only(parse: ParseFn) -> None:
    r = parse(DEBUG)
    assert r.level == "DEBUG"
    assert r.message == "About to invoke the migrate API"
    assert r.text.endswith("driver.py:10345")


def test_suffix_like_text_kept_on_non_debug_lines(parse: ParseFn) -> None:
    line = DEBUG.replace(" DEBUG ", " INFO ")
    assert parse(line).message.endswith("driver.py:10345")


@pytest.mark.parametrize("word", ["ERROR", "TRACE"])
def test_traceback_lines(parse: ParseFn, word: str) -> None:
    # §1.1 Tracebacks: every line re-prefixed; Kilo and older print TRACE
    head = f"2024-07-11 22:11:06.965 2 {word} nova.compute.manager [instance: {INST}] "
    lines = [head + "Traceback (most recent call last):",
             head + '  File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 9793, in _do_live_migration',
             head + f"libvirt.libvirtError: {LIBVIRT_ERR}"]
    assert all(is_record_start(x) for x in lines)
    records = [parse(x) for x in lines]
    assert {r.level for r in records} == {"ERROR"}
    assert {r.instance_uuid for r in records} == {INST}
    assert records[0].request_id is None  # `[instance: …]` is not a request context
    assert records[1].message.startswith('  File "')


def test_multiline_message_continuations(parse: ParseFn) -> None:
    # row 61 `CPU doesn't have compatibility.\n\n%(ret)s\n\nRefer to %(u)s`, ERROR, dest
    first = ("2024-07-11 22:10:50.100 2 ERROR nova.virt.libvirt.driver [None "
             f"{REQ} {USER} {PROJ} - - default default] CPU doesn't have compatibility.")
    rest = ["", "0", "", "Refer to http://libvirt.org/html/libvirt-libvirt-host.html#virCPUCompareResult"]
    assert is_record_start(first)
    assert not any(is_record_start(x) for x in rest)
    r = parse([first, *rest], line_no=40)
    assert r.message == "CPU doesn't have compatibility.\n\n0\n\nRefer to " + rest[-1][9:]
    assert (r.line, r.end_line) == (40, 44)
    assert r.text == "\n".join([first, *rest])


def test_debug_suffix_after_multiline_message(parse: ParseFn) -> None:
    # row 64 `cpu compare xml: %s` (DEBUG): the suffix ends the *last* physical line
    first = "2024-07-11 22:10:50.000 2 DEBUG nova.virt.libvirt.driver [-] cpu compare xml: <cpu match=\"exact\">"
    rest = ["  <model>Cascadelake-Server</model>",
            "</cpu> _compare_cpu /usr/lib/python3/dist-packages/nova/virt/libvirt/driver.py:11222"]
    assert not any(is_record_start(x) for x in rest)
    r = parse([first, *rest])
    assert r.message == 'cpu compare xml: <cpu match="exact">\n  <model>Cascadelake-Server</model>\n</cpu>'
    assert r.text.endswith("driver.py:11222")


@pytest.mark.parametrize(("logger", "kind"), [
    ("nova.conductor.tasks.live_migrate", SourceKind.NOVA_CONDUCTOR),  # row 75
    ("nova.api.openstack.compute.migrate_server", SourceKind.NOVA_API),  # row 229
    ("nova.scheduler.manager", SourceKind.NOVA_SCHEDULER),  # row 80
    ("nova.scheduler.utils", SourceKind.NOVA),  # row 227: a conductor line, not the scheduler
    ("nova.compute.manager", SourceKind.NOVA_COMPUTE),
    ("nova.virt.libvirt.migration", SourceKind.NOVA_COMPUTE),
    ("nova.network.neutron", SourceKind.NOVA_COMPUTE),  # row 37
    ("oslo_messaging.rpc.server", SourceKind.NOVA),  # row 223
])
def test_logger_kind(parse: ParseFn, logger: str, kind: SourceKind) -> None:
    r = parse(f"2024-07-11 22:10:00.000 7 WARNING {logger} [-] x")
    assert r.kind is kind
    assert r.logger == logger


@pytest.mark.parametrize(("given", "expected"), [
    (SourceKind.NOVA_CONDUCTOR, SourceKind.NOVA_CONDUCTOR),  # stated kind wins
    (SourceKind.UNKNOWN, SourceKind.NOVA_COMPUTE),  # …except the non-specific ones
    (SourceKind.SYSLOG, SourceKind.NOVA_COMPUTE),
    (SourceKind.JOURNAL, SourceKind.NOVA_COMPUTE),
    (SourceKind.NOVA, SourceKind.NOVA_COMPUTE),  # a generic "nova" is refined
])
def test_source_kind_precedence(parse: ParseFn, given: SourceKind, expected: SourceKind) -> None:
    assert parse(ZED, kind=given).kind is expected


def test_oslo_messaging_line_takes_the_stated_service(parse: ParseFn) -> None:
    # row 223 `Exception during message handling` is logged by oslo_messaging in any service
    line = "2024-07-11 22:10:00.000 7 ERROR oslo_messaging.rpc.server [-] Exception during message handling"
    assert parse(line, kind=SourceKind.NOVA_COMPUTE).kind is SourceKind.NOVA_COMPUTE


@pytest.mark.parametrize(("tz", "utc_hour", "label"), [
    (timezone.utc, 22, "assumed UTC (--tz)"),
    (timezone(timedelta(hours=2)), 20, "assumed +02:00 (--tz)"),
    (timezone(timedelta(hours=-4)), 2, "assumed -04:00 (--tz)"),
    (ZoneInfo("Europe/Paris"), 20, "assumed +02:00 Europe/Paris (--tz)"),  # CEST in July
])
def test_naive_time_read_in_tz(parse: ParseFn, tz: timezone, utc_hour: int, label: str) -> None:
    r = parse(ZED, tz=tz)
    assert r.timestamp is not None and r.timestamp.utcoffset() == timedelta(0)
    assert r.timestamp.hour == utc_hour
    assert r.tz_assumption == label


def test_named_zone_follows_dst(parse: ParseFn) -> None:
    winter = parse(PRE_ZED, tz=ZoneInfo("Europe/Paris"))  # 2021-03-04: CET
    assert winter.timestamp == datetime(2021, 3, 4, 9, 11, 12, 345000, tzinfo=timezone.utc)
    assert winter.tz_assumption == "assumed +01:00 Europe/Paris (--tz)"


def test_host_comes_from_source_info(parse: ParseFn) -> None:
    assert parse(ZED).host is None
    assert parse(ZED, host="compute-02").host == "compute-02"
