"""Event time as integer epoch milliseconds, written as ISO-8601 at UTC+08:00.

Every time the generator writes goes through here, so all lines share one form:
``2022-10-14T08:31:07.250+08:00``. The hot loop formats times from a per-second
prefix (``second_prefix``) and a table of millisecond suffixes (``MS_SUFFIX``),
never through ``datetime`` per event.
"""

from __future__ import annotations

import time

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "LOCAL_OFFSET_MS",
    "MINUTE_MS",
    "MS_SUFFIX",
    "iso",
    "local_day",
    "local_day_start",
    "local_hour",
    "second_prefix",
]

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
LOCAL_OFFSET_MS = 8 * HOUR_MS
"""Calendar days (venue-noncompliance) are local days in UTC+08:00."""

MS_SUFFIX: tuple[str, ...] = tuple(f".{ms:03d}+08:00" for ms in range(1000))
"""``MS_SUFFIX[t % 1000]`` completes ``second_prefix(t // 1000)``."""


def second_prefix(second: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of the epoch second ``second`` at UTC+08:00."""
    tm = time.gmtime(second + LOCAL_OFFSET_MS // 1000)
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        f"T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )


def iso(ms: int) -> str:
    """The feed form of the epoch millisecond ``ms``."""
    return second_prefix(ms // 1000) + MS_SUFFIX[ms % 1000]


def local_day(ms: int) -> int:
    """The local (UTC+08:00) calendar day of ``ms``, as days since 1970-01-01."""
    return (ms + LOCAL_OFFSET_MS) // DAY_MS


def local_day_start(day: int) -> int:
    """Epoch milliseconds of local midnight starting ``day``."""
    return day * DAY_MS - LOCAL_OFFSET_MS


def local_hour(ms: int) -> float:
    """Hour of the local day, 0 <= h < 24, with fractions."""
    return ((ms + LOCAL_OFFSET_MS) % DAY_MS) / HOUR_MS
