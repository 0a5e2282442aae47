"""Event time as integer microseconds since the epoch, and the calendar of docs/rules.md.

Used by every rule module: the engine compares times millions of times a
second, and integers compare and subtract exactly and fast, where aware
datetimes pay for their offsets each time. Times come in as aware datetimes
(``to_us``) and leave as aware datetimes in UTC+08:00 (``from_us``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Final

__all__ = [
    "DAY_US",
    "LOCAL_TZ",
    "SECOND_US",
    "from_us",
    "local_day",
    "seconds",
    "to_us",
    "window_of",
]

SECOND_US: Final = 1_000_000
"""One second in microseconds."""
DAY_US: Final = 86_400 * SECOND_US
"""One day in microseconds."""
LOCAL_TZ: Final = timezone(timedelta(hours=8))
"""The local time zone of docs/rules.md: calendar days are UTC+08:00 days."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_LOCAL: Final = _EPOCH.astimezone(LOCAL_TZ)
_ONE_US: Final = timedelta(microseconds=1)
_LOCAL_OFFSET_US: Final = 8 * 3600 * SECOND_US


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact; raises ``TypeError`` if naive)."""
    return (moment - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    """The aware datetime (UTC+08:00) of ``us`` microseconds since the epoch."""
    return _EPOCH_LOCAL + timedelta(microseconds=us)


def seconds(count: float) -> int:
    """``count`` seconds in microseconds."""
    return round(count * SECOND_US)


def local_day(us: int) -> int:
    """The local (UTC+08:00) calendar day of ``us``, as days since 1970-01-01."""
    return (us + _LOCAL_OFFSET_US) // DAY_US


def window_of(us: int, length_us: int) -> int:
    """The epoch-aligned tumbling window of ``us``: window k is ``[k*len, (k+1)*len)``."""
    return us // length_us
