"""The committed JSON Schema files match the models."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.export import JSON_DIR, main, schema_files

REGENERATE = "regenerate with: .venv/bin/python -m schemas.export"


def test_committed_schema_files_are_up_to_date() -> None:
    expected = schema_files()
    committed = {p.name: p.read_text(encoding="utf-8") for p in JSON_DIR.glob("*.json")}

    stale = sorted(
        n for n in expected.keys() | committed.keys() if expected.get(n) != committed.get(n)
    )

    assert not stale, f"schemas/json is stale ({', '.join(stale)}); {REGENERATE}"


def test_there_is_one_file_per_contract() -> None:
    assert sorted(schema_files()) == [
        "alert.schema.json",
        "alert_state.schema.json",
        "checkpoint_scan.schema.json",
        "clean_checkpoint_scan.schema.json",
        "clean_patrol_event.schema.json",
        "clean_venue_scan.schema.json",
        "dead_letter.schema.json",
        "patrol_event.schema.json",
        "risk_area.schema.json",
        "venue.schema.json",
        "venue_scan.schema.json",
    ]


def test_every_schema_has_an_id_and_the_outputs_require_their_version() -> None:
    schemas = {name: json.loads(text) for name, text in schema_files().items()}
    ids = [s["$id"] for s in schemas.values()]

    assert len(set(ids)) == len(ids) and all(i.startswith("urn:controlfeed:schema:") for i in ids)
    outputs = [n for n in schemas if n.startswith(("clean_", "alert"))]
    assert len(outputs) == 5
    for name in outputs:
        assert "schema_version" in schemas[name]["required"], name
    assert "schema_version" not in schemas["checkpoint_scan.schema.json"]["properties"]


def test_the_patrol_schema_states_what_each_kind_requires() -> None:
    schema = json.loads(schema_files()["patrol_event.schema.json"])
    required = {
        rule["if"]["properties"]["kind"]["const"]: rule["then"]["required"]
        for rule in schema["allOf"]
    }

    assert required["incident_reported"] == ["incident_id", "incident_type"]
    assert required["inspection"] == ["inspection"]


def test_an_optional_field_is_not_shown_as_nullable() -> None:
    schema = json.loads(schema_files()["checkpoint_scan.schema.json"])

    assert schema["properties"]["phone"]["type"] == "string"
    assert "default" not in schema["properties"]["phone"]


def test_main_writes_the_files_into_a_directory(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(schema_files())
