"""The rule catalogue (``schemas.catalogue``) and everything that must agree with it.

``RuleId``, the JSON Schema's rule enum, the rules file's thresholds, the
rule code (which module raises which rule, what it raises on arrival), the
scenario generator's promises and docs/rules.md's tables. Each failure names
what disagrees and with what.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import get_args

from rules import Engine, default_config, load_config
from rules.state import new_families
from schemas.alerts import Alert, RuleId
from schemas.catalogue import (
    CATALOGUE,
    COMMON_THRESHOLDS,
    DETECTION_PATHS,
    RULE_IDS,
    RULE_NAMES,
    DetectionPath,
    Names,
    Severity,
    Thresholds,
    detection_path,
    markdown_table,
)
from schemas.clean import Idle, ReferenceRecord, Watermark
from schemas.export import JSON_DIR, schema_files
from schemas.feeds import RiskArea, Venue
from streams.devtools.scenario.anomalies import KINDS
from tests.unit.rules_simulation import clean_file
from tests.unit.rules_support import EVENTS_SOURCE, REFERENCE_SOURCE, envelopes_for

ROOT = Path(__file__).resolve().parents[2]
RULES_DOC = ROOT / "docs" / "rules.md"
SAMPLE = ROOT / "data" / "sample"

NOT_GENERATED: set[tuple[str, str]] = set()
"""(rule, severity) the scenario generator has no anomaly kind for (allowed, but listed:
its labels then never hold the alert, so the scenario tests do not exercise the rule)."""

PAIRS = {(row.rule, severity) for row in CATALOGUE for severity in row.severities}
"""Every (rule, severity) the catalogue raises."""


def _differences(name: str, ours: object, theirs: object) -> str:
    return f"{name}: the catalogue has {ours!r}, but found {theirs!r}"


def test_rule_ids_are_the_catalogues_in_the_model_and_its_json_schema() -> None:
    committed = json.loads((JSON_DIR / "alert.schema.json").read_text(encoding="utf-8"))
    generated = json.loads(schema_files()["alert.schema.json"])

    assert get_args(RuleId) == RULE_IDS
    for where, schema in (("schemas.export", generated), ("schemas/json", committed)):
        enum = tuple(schema["properties"]["rule"]["enum"])
        assert enum == RULE_IDS, (
            _differences(f"{where} alert rule enum", RULE_IDS, enum)
            + "; regenerate with: .venv/bin/python -m schemas.export"
        )


def test_each_row_is_told_apart_and_has_severities_subjects_and_families() -> None:
    labels = [row.label for row in CATALOGUE]
    severities = set(get_args(Severity))

    assert len(set(labels)) == len(labels), f"two catalogue rows share a name: {labels}"
    for row in CATALOGUE:
        assert row.severities and row.subjects and row.families, row.label
        assert set(row.severities) <= severities, row.label
        assert list(row.severities) == sorted(row.severities, key=get_args(Severity).index), (
            f"{row.label}: severities go least urgent first"
        )
    parts = [(row.rule, severity) for row in CATALOGUE for severity in row.severities]
    assert len(parts) == len(set(parts)), "a (rule, severity) is in two rows"


def test_every_rule_has_one_pair_of_names_on_its_first_row() -> None:
    """The console's rule filter and names come from these (``GET /api/rules``)."""
    unnamed = [row.label for row in CATALOGUE if not row.part and not (row.name_zh and row.name_en)]
    named_parts = [row.label for row in CATALOGUE if row.part and (row.name_zh or row.name_en)]

    assert not unnamed, f"rules without name_zh and name_en on their first row: {unnamed}"
    assert not named_parts, f"names belong to a rule's first row, not to a part: {named_parts}"
    assert tuple(RULE_NAMES) == RULE_IDS
    for language in ("zh", "en"):
        names = [getattr(name, language) for name in RULE_NAMES.values()]
        assert len(set(names)) == len(names), f"two rules share a {language} name: {names}"


def test_every_threshold_belongs_to_a_rule_and_every_named_one_exists() -> None:
    known = {f.name for f in fields(Thresholds)}
    named = {name for row in CATALOGUE for name in row.thresholds} | set(COMMON_THRESHOLDS)

    unknown = {
        row.label: sorted(set(row.thresholds) - known)
        for row in CATALOGUE
        if set(row.thresholds) - known
    }
    assert not unknown, f"catalogue rows name thresholds Thresholds lacks: {unknown}"
    assert not known - named, f"thresholds no catalogue row reads: {sorted(known - named)}"


def test_the_rules_file_takes_exactly_the_catalogue_thresholds_and_defaults(
    tmp_path: Path,
) -> None:
    shipped = tomllib.loads(resources.files("rules").joinpath("defaults.toml").read_text())
    every = tmp_path / "every.toml"
    lines = ["[thresholds]"]
    for f in fields(Thresholds):
        value = getattr(Thresholds(), f.name)
        text = json.dumps(list(value)) if isinstance(value, Names) else repr(value)
        lines.append(f"{f.name} = {text}")
    every.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert "thresholds" not in shipped, (
        "rules/defaults.toml has a [thresholds] table: the defaults' one home is "
        "schemas.catalogue.Thresholds"
    )
    assert default_config().thresholds == Thresholds()
    assert load_config(every).thresholds == Thresholds()


def test_the_engine_raises_exactly_the_immediate_rows_on_arrival() -> None:
    """The sample through one engine without watermarks: what comes out while the events
    arrive is the immediate path; the rest comes when the watermark finally passes."""
    labels = json.loads((SAMPLE / "scenario.labels.json").read_text(encoding="utf-8"))
    events = clean_file(SAMPLE / "scenario.jsonl", {m["line"] for m in labels["malformed"]})
    engine = Engine(default_config(), sources=[EVENTS_SOURCE, REFERENCE_SOURCE])
    on_arrival: list[Alert] = []
    for event in events:
        if isinstance(event, RiskArea | Venue):
            on_arrival += engine.feed(ReferenceRecord(REFERENCE_SOURCE, event))
        else:
            on_arrival += engine.feed_all(envelopes_for(event, EVENTS_SOURCE))
    highest = max(e.event_time for e in events if not isinstance(e, RiskArea | Venue))
    later = engine.feed_all(
        [Watermark(EVENTS_SOURCE, highest), Idle(REFERENCE_SOURCE), Idle(EVENTS_SOURCE)]
    )

    def paths(alerts: list[Alert]) -> dict[tuple[str, str], DetectionPath]:
        return {(a.rule, a.severity): detection_path(a.rule, a.severity) for a in alerts}

    wrong = {p: path for p, path in paths(on_arrival).items() if path != "immediate"}
    assert not wrong, f"raised on arrival, but the catalogue says otherwise: {wrong}"
    wrong = {p: path for p, path in paths(later).items() if path != "ordered"}
    assert not wrong, f"raised only when the watermark passed, but the catalogue says: {wrong}"
    found = {(a.rule, a.severity, a.evidence) for a in [*on_arrival, *later]}
    assert found == {(a["rule"], a["severity"], tuple(a["evidence"])) for a in labels["alerts"]}
    assert set(DETECTION_PATHS) == set(get_args(DetectionPath))


def _raised_in(path: Path) -> set[str]:
    """The rule ids ``make_alert`` is called with in one module (its first argument)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "make_alert"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def test_the_rule_code_raises_the_catalogues_rules_from_their_families_modules() -> None:
    modules = {name: type(family).__module__ for name, family in new_families().items()}
    raised = {path.stem: _raised_in(path) for path in sorted((ROOT / "rules").glob("*.py"))}
    everywhere = set().union(*raised.values())

    assert everywhere == set(RULE_IDS), (
        f"raised but not in the catalogue: {sorted(everywhere - set(RULE_IDS))}; "
        f"in the catalogue but raised nowhere: {sorted(set(RULE_IDS) - everywhere)}"
    )
    for row in CATALOGUE:
        homes = {modules[family].removeprefix("rules.") for family in row.families}
        if row.judges_late_events:
            homes.add("events")  # the per-event rules of every family
        where = {module for module, rules in raised.items() if row.rule in rules}
        assert where & homes, f"{row.label} is raised in {sorted(where)}, not in {sorted(homes)}"


def test_the_generator_promises_only_catalogue_alerts_and_lists_what_it_leaves_out() -> None:
    promised = {tuple(fire.split("/", 1)) for kind in KINDS for fire in kind.fires}

    assert promised <= PAIRS, f"kinds promise what no rule raises: {sorted(promised - PAIRS)}"
    assert PAIRS - promised == NOT_GENERATED, (
        f"not generated by any anomaly kind: {sorted(PAIRS - promised)}; "
        f"listed as not generated: {sorted(NOT_GENERATED)}"
    )


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _table_rows(section: str) -> list[list[str]]:
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows]


def test_the_docs_catalogue_table_is_the_catalogue() -> None:
    docs = _section(RULES_DOC.read_text(encoding="utf-8"), "The catalogue")
    expected = markdown_table().splitlines()
    shown = [line for line in docs.splitlines() if line.startswith("|") or "Every rule" in line]

    stale = [line for line in expected if line and line not in shown]
    extra = [line for line in shown if line not in expected]
    assert not stale and not extra, (
        "docs/rules.md 'The catalogue' is stale (paste `python -m schemas.rules_table`):\n"
        + "\n".join([*(f"  missing: {s}" for s in stale), *(f"  extra:   {e}" for e in extra)])
    )


def test_the_table_command_prints_the_table_and_nothing_else() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "schemas.rules_table"], cwd=ROOT, capture_output=True,
        text=True, check=False, timeout=60,
    )  # fmt: skip

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == markdown_table()


def test_the_docs_rules_table_has_each_row_with_its_severities() -> None:
    rows = _table_rows(_section(RULES_DOC.read_text(encoding="utf-8"), "The rules"))
    severities = set(get_args(Severity))

    assert [r[0] for r in rows] == [row.label for row in CATALOGUE], (
        _differences("docs/rules.md 'The rules' ids", [row.label for row in CATALOGUE],
                     [r[0] for r in rows])
    )  # fmt: skip
    for cells, row in zip(rows, CATALOGUE, strict=True):
        shown = set(re.findall(r"`(\w+)`", cells[2])) & severities
        assert shown == set(row.severities), _differences(
            f"docs/rules.md severities of {row.label}", sorted(row.severities), sorted(shown)
        )


_QUOTED = re.compile(r"`(\w+)`(?:-th)?,?\s*\(?(\d+(?:\.\d+)?)\s*(h|s)?\)?")
"""A threshold quoted with a number: ``name` (3)``, ``(`name` 900)``, ``name` (24 h)``."""


def test_the_defaults_docs_rules_quotes_are_the_catalogues() -> None:
    text = " ".join(RULES_DOC.read_text(encoding="utf-8").split())
    defaults = Thresholds()
    names = {f.name for f in fields(Thresholds)}
    quoted = [m for m in _QUOTED.finditer(text) if m.group(1) in names]

    wrong = [
        f"{m.group(0)!r} (default {getattr(defaults, m.group(1))})"
        for m in quoted
        if float(m.group(2)) * (3600 if m.group(3) == "h" else 1) != getattr(defaults, m.group(1))
    ]
    assert len(quoted) >= len(names) // 2
    assert not wrong, f"docs/rules.md quotes defaults the catalogue does not have: {wrong}"


def test_how_to_add_a_rule_names_files_and_code_that_exist() -> None:
    section = _section(RULES_DOC.read_text(encoding="utf-8"), "How to add a rule")
    tokens = set(re.findall(r"`([^`\s]+)`", section))
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("rules", "schemas", "streams", "tests")
        for path in (ROOT / folder).rglob("*.py")
    )

    paths = [t for t in tokens if "/" in t and "<" not in t]
    missing = [p for p in paths if not any(ROOT.glob(p.rstrip("/")))]
    assert not missing, (
        f"docs/rules.md 'How to add a rule' names files that do not exist: {missing}"
    )
    names = [t for t in tokens if re.fullmatch(r"[A-Za-z_]\w*", t)]
    unknown = [n for n in names if not re.search(rf"\b{re.escape(n)}\b", code)]
    assert not unknown, (
        f"docs/rules.md 'How to add a rule' names code that does not exist: {unknown}"
    )
