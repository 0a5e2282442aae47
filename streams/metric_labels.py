"""Which values may label a metric: bounded ones, never a person, phone, event or alert id.

``label_problem`` and ``check_label`` are asked when the worker starts
(``streams.cli.worker``: every setting that becomes a label, such as a topic
name) and by the tests; ``usable_label`` and ``catalogued`` guard every sample
the recording functions (``streams.metrics``, ``streams.worker.exporting``)
take at run time. Labels are a small closed set (feeds, reason codes, rules,
severities, tables, topics, partitions, detection paths): ``docs/metrics.md``.

The guards never raise: a value outside the catalogue or one that looks like
an id (a bug: the start-up checks should have refused it) costs its sample and
one error line in the log per kind, never the pipeline. The value itself is
never logged: it may be an id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Final

__all__ = ["catalogued", "check_label", "label_problem", "usable_label"]

log = logging.getLogger(__name__)

_MAX_LABEL_LEN: Final = 64
_ID_LIKE: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("a masked value", re.compile(r"\*")),
    ("an ID or phone number", re.compile(r"\d{9}")),  # 15/18-digit IDs, 11-digit phones
    ("an event id", re.compile(r"[A-Za-z]-\d{3}")),  # cp-000001, ev-000123-cp, canping-ph-001
    ("an alert id or hash", re.compile(r"[0-9A-Fa-f]{16}")),  # alert_id: 32 hex, keys: 64
    ("a UUID", re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-")),
    ("whitespace or a control character", re.compile(r"[\s\x00-\x1f]")),
)
_checked: set[str] = set()


def label_problem(value: str) -> str | None:
    """Why ``value`` cannot be a label value, in words, or None when it can.

    Refused: the empty string, more than 64 characters, and anything that
    looks like a person's ID number or phone (9 digits in a row), a masked
    form (``*``), an event id (``cp-000001``, ``ev-000123-cp``), an alert id
    or other hash (16 hex digits in a row), a UUID, or holds whitespace.
    ``controlfeed worker`` asks it at start for every setting that becomes a
    label (topic names), and refuses to start on an answer.
    """
    if value in _checked:
        return None
    if not value or len(value) > _MAX_LABEL_LEN:
        return f"it has {len(value)} characters (1 to 64 allowed)"
    for what, pattern in _ID_LIKE:
        if pattern.search(value):
            return f"it looks like {what}"
    _checked.add(value)
    return None


def check_label(value: str) -> str:
    """``value`` if it is a bounded label value, else ``ValueError`` (``label_problem``).

    For tests and start-up checks; the recording functions never raise.
    """
    problem = label_problem(value)
    if problem is not None:
        raise ValueError(f"label value {value[:12]!r}...: {problem}; labels are bounded")
    return value


_dropped: set[tuple[str, str]] = set()


def usable_label(value: str, metric: str) -> str | None:
    """``value`` if it may be a label of ``metric``; else None, logged once per kind.

    Never raises: a value that slipped past the start-up checks costs its
    sample, never the pipeline. The value itself is not logged (it may be an id).
    """
    if value in _checked:
        return value
    problem = label_problem(value)
    if problem is None:
        return value
    if (metric, problem) not in _dropped:
        _dropped.add((metric, problem))
        log.error("a %s sample was dropped: its label value is unusable (%s)", metric, problem)
    return None


def catalogued(value: str, allowed: Iterable[str], label: str) -> str | None:
    """``value`` if the catalogue has it for ``label``; else None, logged once (a bug)."""
    if value in allowed:
        return value
    if (label, value) not in _dropped:
        _dropped.add((label, value))
        log.error("a sample was dropped: %s=%.20r is not in the catalogue", label, value)
    return None
