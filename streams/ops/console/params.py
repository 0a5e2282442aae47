"""The list routes' query parameters: filters, page, and the same filters for ClickHouse.

Used by ``GET /api/alerts`` and ``GET /api/history`` (``streams.ops.console.app``)
so both read the same parameters the same way; a bad value raises
``ValueError`` with words the page shows the user (a 400 answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from sinks.queries import AlertFilter
from streams.ops.console.book import Query

__all__ = ["PAGE_MAX", "listing", "stored_filter"]

PAGE_MAX: Final = 500
"""The most alerts one answer holds."""


def listing(params: Mapping[str, str]) -> tuple[Query, int, int]:
    """The filters, the page size and the offset of a list request."""
    query = Query(
        rule=_split(params.get("rule")), severity=_split(params.get("severity")),
        status=_split(params.get("status")), grid=_split(params.get("grid")),
        place=params.get("place") or None, since=_time(params.get("since"), "since"),
        until=_time(params.get("until"), "until"), q=params.get("q") or None,
    )  # fmt: skip
    limit = _int(params.get("limit"), "limit", 200, PAGE_MAX)
    return query, limit, _int(params.get("offset"), "offset", 0, 10_000_000)


def stored_filter(query: Query) -> AlertFilter:
    """The same filters as the history SQL takes them."""
    return AlertFilter(
        rules=tuple(sorted(query.rule)), severities=tuple(sorted(query.severity)),
        statuses=tuple(sorted(query.status)), grids=tuple(sorted(query.grid)),
        place=query.place, since=query.since, until=query.until, text=query.q,
    )  # fmt: skip


def _split(value: str | None) -> frozenset[str]:
    return frozenset(v for v in (value or "").split(",") if v)


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{name} must be an ISO 8601 time, e.g. 2022-10-14T08:00:00+08:00"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _int(value: str | None, name: str, default: int, top: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 0 <= int(value) <= top:
        raise ValueError(f"{name} must be a whole number from 0 to {top}")
    return int(value)
