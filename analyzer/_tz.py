"""Time-zone names as the user gives them: ``UTC``, ``+02:00``/``-05:30``, or an IANA name."""

from __future__ import annotations

from datetime import timedelta, timezone, tzinfo

__all__ = ["parse_tz"]


def parse_tz(value: str) -> tzinfo:
    """``UTC``/``Z``, a fixed offset ``+HH:MM``, or an IANA zone such as ``Europe/Berlin``.

    >>> parse_tz("+02:00")
    datetime.timezone(datetime.timedelta(seconds=7200))
    >>> str(parse_tz("Europe/Berlin"))
    'Europe/Berlin'

    Raises ValueError for anything else.
    """
    if not value or value.upper() in ("UTC", "Z"):
        return timezone.utc
    if value[:1] in "+-" and ":" in value:
        sign = -1 if value[0] == "-" else 1
        hh, mm = value[1:].split(":", 1)
        return timezone(sign * timedelta(hours=int(hh), minutes=int(mm)))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(value)
    except Exception as e:  # noqa: BLE001 - zoneinfo raises several types
        raise ValueError(f"unknown time zone {value!r} ({e})") from None
