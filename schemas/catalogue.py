"""The rule catalogue: every rule of ``docs/rules.md`` as one row of data, and its thresholds.

The one place a rule is declared: its id, the engine families that raise it,
how it is detected, its severities, what its alerts are about and the
thresholds it reads, whose names and defaults ``Thresholds`` holds. Derived
from it, never written a second time:

- ``schemas.alerts.RuleId`` (so the ``Alert`` model and the rule enum of
  ``schemas/json/alert.schema.json``, which ``python -m schemas.export``
  regenerates);
- ``detection_path``: which alerts the engine raises on arrival and which
  when the watermark passes them (the worker's latency metric label,
  ``DETECTION_PATHS`` its values);
- the ``[thresholds]`` settings of the rules file: names, types and defaults
  (``rules.config`` reads an operator's file against them);
- the catalogue table of ``docs/rules.md`` (``markdown_table``;
  ``python -m schemas.rules_table`` prints it);
- the rule names operators read (``RULE_NAMES``: the console's rule list and
  filter) and the plain explanation of a rule the console has no richer text for.

``tests/unit/test_catalogue.py`` checks the rest against it: the rule code,
the rules file, the JSON Schema, the docs' tables, the oracle and the scenario
generator. Pure data: it lives below ``rules/`` because the alert contract
(``RuleId``) is derived from it, and knows nothing of Kafka, ClickHouse or
the engine. docs/rules.md, "How to add a rule", says what to edit.

Over 400 lines: the catalogue is one table of data with its types, every rule
a row with its names; split, the one place a rule is declared would be two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Final, Literal, NamedTuple

from schemas.clean import Family

__all__ = [
    "CATALOGUE",
    "COMMON_THRESHOLDS",
    "DETECTION_PATHS",
    "RULE_IDS",
    "RULE_NAMES",
    "Detection",
    "DetectionPath",
    "Names",
    "RuleName",
    "RuleRow",
    "Severity",
    "Subject",
    "Thresholds",
    "detection_path",
    "markdown_table",
    "threshold_defaults",
    "threshold_text",
]

Severity = Literal["info", "warning", "critical"]
"""How urgent an alert is."""

Subject = Literal["person", "venue", "checkpoint", "site", "incident"]
"""What an alert is about (``docs/rules.md``); the matching id field of the alert is set."""

Detection = Literal["immediate", "reference", "window", "sequence", "deadline"]
"""How a rule finds its alerts (``docs/watermark.md``, "Two paths"):

- ``immediate``: from the event alone, when it arrives (late or not);
- ``reference``: from the event and the risk-area list or venue register at its
  time, in event-time order (late events too, against the history);
- ``window``: counts of on-time events per window or local day;
- ``sequence``: a person's consecutive on-time scans;
- ``deadline``: an obligation judged when the watermark passes its deadline.
"""

DetectionPath = Literal["immediate", "ordered"]
"""When an alert is raised: on its event's arrival, or when the watermark passes it."""

DETECTION_PATHS: Final[tuple[DetectionPath, ...]] = ("immediate", "ordered")
"""Every detection path: the values of the worker's ``path`` metric label."""


class Names(frozenset[str]):
    """A set of names (venue types, categories) that iterates in the order it was given.

    Membership is a set's; iteration keeps the rules file's order, so what is
    built from the names (generated scenarios, SQL in the docs) comes out the
    same whatever the process's hash seed.
    """

    __slots__ = ("_order",)
    _order: tuple[str, ...]

    def __new__(cls, names: Iterable[str] = ()) -> Names:
        order = tuple(dict.fromkeys(names))
        self = super().__new__(cls, order)
        self._order = order
        return self

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __repr__(self) -> str:
        return f"Names({list(self._order)!r})"


_MEDICINES: Final = Names(("fever", "cough", "antiviral", "antibiotic"))
_POLICE_TYPES: Final = Names(
    ("rumor", "counterfeit_goods", "illegal_vaccine", "checkpoint_conflict")
)
_TEMPERATURE_TYPES: Final = Names(
    ("pharmacy", "restaurant", "hotel", "bus_station", "mall", "supermarket")
)


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of docs/rules.md under its name in the rules file, with its default.

    The defaults live here and nowhere else: ``rules.config`` lays an operator's
    ``[thresholds]`` over them and checks ranges and orderings; the engine, the
    scenario generator and the operators' queries read the loaded values.
    """

    fever_warning_c: float = 37.3
    """``fever``: a warning at or above this temperature (degrees Celsius)."""
    fever_critical_c: float = 38.5
    """``fever``: critical at or above this temperature."""
    medicine_categories: Names = _MEDICINES
    """Purchases a pharmacy must register (``pharmacy-fever-purchase``, failing scans)."""
    police_incident_types: Names = _POLICE_TYPES
    """``incident_type`` values that raise ``police-incident``."""
    noncompliance_min_failures: int = 3
    """``venue-noncompliance``: failing scans of a venue in one local day that fire it."""
    temperature_required_types: Names = _TEMPERATURE_TYPES
    """Venue types that must take temperatures (failing scans)."""
    crowding_window_s: int = 900
    """``crowding``: the window its scans are counted in."""
    returnee_test_within_s: int = 86400
    """``returnee-untested``: how long after a risky entry a test must be shown."""
    impossible_travel_kmh: float = 150.0
    """``impossible-travel``: the speed above which two scans are impossible."""
    impossible_travel_min_km: float = 5.0
    """``impossible-travel``: the least distance between the two scans."""
    surge_window_s: int = 300
    """``checkpoint-surge``: the window inbound scans are counted in."""
    surge_alpha: float = 0.1
    """``checkpoint-surge``: the EWMA's weight of the newest window."""
    surge_warmup_windows: int = 12
    """``checkpoint-surge``: windows in the baseline before one is judged."""
    surge_sigmas: float = 4.0
    """``checkpoint-surge``: standard deviations above the mean that fire."""
    surge_min_excess: float = 20.0
    """``checkpoint-surge``: scans above the mean that fire, at least."""
    dispatch_s: int = 60
    """``response-sla-breach``: dispatch within this long of the report."""
    arrive_s: int = 180
    """``response-sla-breach``: arrival within this long of the report."""
    resolve_s: int = 300
    """``response-sla-breach``: resolution within this long of the report."""
    patrol_gap_s: int = 7200
    """``patrol-gap``: the longest a key site may go without a check-in."""
    reinspection_within_s: int = 86400
    """``inspection-failed`` escalation: re-inspection within this long of a failure."""
    allowed_lateness_s: int = 600
    """The watermark's allowed lateness: every rule's notion of a late event."""


COMMON_THRESHOLDS: Final[tuple[str, ...]] = ("allowed_lateness_s",)
"""Thresholds of no one rule: the watermark's (``docs/rules.md``, "Common ground")."""


class RuleName(NamedTuple):
    """A rule's names for operators: ``zh`` and ``en`` (``RULE_NAMES``)."""

    zh: str
    en: str


@dataclass(frozen=True)
class RuleRow:
    """One rule (or one part of a rule) of the catalogue."""

    rule: str
    """The id its alerts carry (``Alert.rule``)."""
    families: tuple[Family, ...]
    """The engine families that raise it (``rules/<family>.py``; the per-event rules of a
    scan's or a patrol event's family are in ``rules/events.py``)."""
    detection: Detection
    """How it finds its alerts."""
    severities: tuple[Severity, ...]
    """The severities it raises, least urgent first."""
    subjects: tuple[Subject, ...]
    """What its alerts can be about."""
    thresholds: tuple[str, ...] = ()
    """The ``Thresholds`` it reads, by name."""
    part: str = ""
    """Names the second row of a rule (``escalation``); empty for a rule's first row."""
    name_zh: str = ""
    """What operators call the rule, in Chinese (the console's list, filter and detail).
    Names belong to the rule: given on its first row only, empty on a ``part``."""
    name_en: str = ""
    """The same in English; on the rule's first row only."""

    @property
    def label(self) -> str:
        """The row's name in docs/rules.md: the id, and the part in brackets."""
        return f"`{self.rule}`" + (f" ({self.part})" if self.part else "")

    @property
    def path(self) -> DetectionPath:
        """``immediate`` when raised on arrival, else ``ordered``."""
        return "immediate" if self.detection == "immediate" else "ordered"

    @property
    def judges_late_events(self) -> bool:
        """Whether a late event still passes through it (the per-event rules)."""
        return self.detection in ("immediate", "reference")


_SCAN_FAMILIES: Final[tuple[Family, ...]] = ("checkpoint", "venue")
_SCAN_SUBJECTS: Final[tuple[Subject, ...]] = ("person", "checkpoint", "venue")

CATALOGUE: Final[tuple[RuleRow, ...]] = (
    RuleRow(
        "risk-area-visitor",
        _SCAN_FAMILIES,
        "reference",
        ("warning", "critical"),
        _SCAN_SUBJECTS,
        name_zh="风险地区人员",
        name_en="Risk-area visitor",
    ),
    RuleRow(
        "health-code-abnormal",
        _SCAN_FAMILIES,
        "immediate",
        ("warning", "critical"),
        _SCAN_SUBJECTS,
        name_zh="健康码异常",
        name_en="Abnormal health code",
    ),
    RuleRow(
        "no-code",
        _SCAN_FAMILIES,
        "immediate",
        ("warning",),
        ("checkpoint", "venue"),
        name_zh="未出示健康码",
        name_en="No health code",
    ),
    RuleRow(
        "fever",
        _SCAN_FAMILIES,
        "immediate",
        ("warning", "critical"),
        _SCAN_SUBJECTS,
        ("fever_warning_c", "fever_critical_c"),
        name_zh="发热",
        name_en="Fever",
    ),
    RuleRow(
        "pharmacy-fever-purchase",
        ("venue",),
        "reference",
        ("info", "warning"),
        ("venue",),
        ("medicine_categories",),
        name_zh="药店购药",
        name_en="Pharmacy fever purchase",
    ),
    RuleRow(
        "venue-noncompliance",
        ("venue",),
        "window",
        ("warning",),
        ("venue",),
        ("noncompliance_min_failures", "temperature_required_types", "medicine_categories"),
        name_zh="场所防控不落实",
        name_en="Venue non-compliance",
    ),
    RuleRow(
        "closed-venue-activity",
        ("venue",),
        "reference",
        ("critical",),
        ("venue",),
        name_zh="关停场所仍营业",
        name_en="Closed venue trading",
    ),
    RuleRow(
        "crowding",
        ("venue",),
        "window",
        ("warning",),
        ("venue",),
        ("crowding_window_s",),
        name_zh="场所聚集",
        name_en="Crowding",
    ),
    RuleRow(
        "returnee-untested",
        ("person",),
        "deadline",
        ("critical",),
        ("person",),
        ("returnee_test_within_s",),
        name_zh="返乡人员未检测",
        name_en="Returnee untested",
    ),
    RuleRow(
        "impossible-travel",
        ("person",),
        "sequence",
        ("warning",),
        ("person",),
        ("impossible_travel_kmh", "impossible_travel_min_km"),
        name_zh="行程异常",
        name_en="Impossible travel",
    ),
    RuleRow(
        "checkpoint-surge",
        ("checkpoint",),
        "window",
        ("warning",),
        ("checkpoint",),
        (
            "surge_window_s",
            "surge_alpha",
            "surge_warmup_windows",
            "surge_sigmas",
            "surge_min_excess",
        ),
        name_zh="卡口流量激增",
        name_en="Checkpoint surge",
    ),
    RuleRow(
        "police-incident",
        ("incident",),
        "immediate",
        ("warning",),
        ("incident",),
        ("police_incident_types",),
        name_zh="警情",
        name_en="Police incident",
    ),
    RuleRow(
        "response-sla-breach",
        ("incident",),
        "deadline",
        ("critical",),
        ("incident",),
        ("dispatch_s", "arrive_s", "resolve_s"),
        name_zh="警情处置超时",
        name_en="Response SLA breach",
    ),
    RuleRow(
        "patrol-gap",
        ("site",),
        "deadline",
        ("warning",),
        ("site",),
        ("patrol_gap_s",),
        name_zh="巡逻空档",
        name_en="Patrol gap",
    ),
    RuleRow(
        "inspection-failed",
        ("inspection",),
        "immediate",
        ("warning",),
        ("venue",),
        name_zh="检查不合格",
        name_en="Inspection failed",
    ),
    RuleRow(
        "inspection-failed",
        ("inspection",),
        "deadline",
        ("critical",),
        ("venue",),
        ("reinspection_within_s",),
        part="escalation",
    ),
)
"""Every rule, in the order of docs/rules.md."""

RULE_IDS: Final[tuple[str, ...]] = tuple(dict.fromkeys(row.rule for row in CATALOGUE))
"""The rule ids, in catalogue order: the values of ``schemas.alerts.RuleId``."""

RULE_NAMES: Final[dict[str, RuleName]] = {
    row.rule: RuleName(row.name_zh, row.name_en) for row in CATALOGUE if not row.part
}
"""Each rule's names by id, in catalogue order, from its first row: what the console's
``GET /api/rules`` serves and ``explain`` falls back to (``test_catalogue`` checks that
every rule has both and no ``part`` row has any)."""

_PATHS: Final[dict[tuple[str, str], DetectionPath]] = {
    (row.rule, severity): row.path for row in CATALOGUE for severity in row.severities
}


def detection_path(rule: str, severity: str) -> DetectionPath:
    """``immediate`` for the alerts the engine raises on their event's arrival, ``ordered``
    for the rest (and for a pair the catalogue does not know). Called by the worker for
    its detection-latency metric and by the worker benchmark."""
    return _PATHS.get((rule, severity), "ordered")


def threshold_defaults() -> dict[str, float | int | list[str]]:
    """The default ``[thresholds]`` table, as a rules file would write it (lists for names).

    Called by ``rules.config``, which lays an operator's file over it.
    """
    defaults = Thresholds()
    table: dict[str, float | int | list[str]] = {}
    for field in fields(Thresholds):
        value = getattr(defaults, field.name)
        table[field.name] = list(value) if isinstance(value, Names) else value
    return table


def threshold_text(thresholds: Thresholds, name: str) -> str:
    """The value of the threshold ``name`` as people read it: a number as written, names
    joined by commas. Called by the docs table here and by the console's explanations."""
    value = getattr(thresholds, name)
    if isinstance(value, Names):
        return ", ".join(value)
    return repr(value)


def _cell(names: Sequence[str], defaults: Thresholds) -> str:
    return "; ".join(f"`{name}` {threshold_text(defaults, name)}" for name in names) or "-"


def markdown_table() -> str:
    """The catalogue table of docs/rules.md ("The catalogue"), one row per ``RuleRow``."""
    defaults = Thresholds()
    lines = [
        "| rule | families | detection | severities | subject | thresholds (defaults) |",
        "|---|---|---|---|---|---|",
    ]
    for row in CATALOGUE:
        cells = (
            row.label,
            ", ".join(row.families),
            row.detection,
            ", ".join(f"`{s}`" for s in row.severities),
            ", ".join(row.subjects),
            _cell(row.thresholds, defaults),
        )
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Every rule: {_cell(COMMON_THRESHOLDS, defaults)} (the watermark)."]
    return "\n".join(lines) + "\n"
