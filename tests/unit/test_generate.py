"""controlfeed generate: determinism, gzip, the world it draws, time order, options."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from streams.cli import main
from streams.devtools.scenario import ScenarioOptions, Summary, generate_to, labels_path_for
from streams.devtools.scenario.options import DEFAULT_START

FEEDS = ("checkpoint_scan", "venue_scan", "patrol_event", "risk_area", "venue")
TYPES = {
    "pharmacy", "restaurant", "hotel", "mahjong", "bus_station", "mall", "supermarket",
    "residential", "construction_site", "police_station", "other",
}  # fmt: skip
SMALL = ScenarioOptions(seed=11, duration_s=3 * 3600, population=2000, rate=0.5, anomaly_rate=0.02)


def valid_lines(path: Path) -> list[dict[str, object]]:
    """The file's records, without the lines the labels call malformed."""
    labels = json.loads(labels_path_for(path).read_text())
    bad = {m["line"] for m in labels["malformed"]}
    lines = path.read_bytes().splitlines()
    return [json.loads(line) for n, line in enumerate(lines, 1) if n not in bad]


def id_is_valid(number: str) -> bool:
    """GB 11643 ISO 7064 MOD 11-2, written out here independently of the generator."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
    return len(number) == 18 and "10X98765432"[total % 11] == number[17]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Summary]:
    path = tmp_path_factory.mktemp("small") / "s.jsonl"
    return path, generate_to(path, SMALL)


def test_same_seed_gives_the_same_bytes(tmp_path: Path, small: tuple[Path, Summary]) -> None:
    again = tmp_path / "again.jsonl"
    generate_to(again, SMALL)

    assert again.read_bytes() == small[0].read_bytes()
    assert labels_path_for(again).read_bytes() == labels_path_for(small[0]).read_bytes()


def test_another_seed_gives_other_bytes(tmp_path: Path, small: tuple[Path, Summary]) -> None:
    other = tmp_path / "other.jsonl"
    generate_to(other, ScenarioOptions(**{**SMALL.__dict__, "seed": 12}))

    assert other.read_bytes() != small[0].read_bytes()


def test_gzip_holds_the_same_lines_and_no_time_or_name(
    tmp_path: Path, small: tuple[Path, Summary]
) -> None:
    packed = tmp_path / "s.jsonl.gz"
    generate_to(packed, SMALL)
    raw = packed.read_bytes()

    assert gzip.decompress(raw) == small[0].read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # MTIME
    assert not raw[3] & 0x08  # no FNAME
    assert (tmp_path / "s.labels.json").read_bytes() == labels_path_for(small[0]).read_bytes()


def test_every_line_carries_feed_and_time_order_is_kept(small: tuple[Path, Summary]) -> None:
    records = valid_lines(small[0])
    keys = [(r["event_time"], r.get("event_id", "")) for r in records]

    assert all(r["feed"] in FEEDS for r in records)
    assert keys == sorted(keys)  # file order is the rules' order: (event_time, event_id)


def test_reference_records_come_first(small: tuple[Path, Summary]) -> None:
    records = valid_lines(small[0])
    first_event = next(k for k, r in enumerate(records) if "event_id" in r)

    assert {r["feed"] for r in records[:first_event]} == {"venue", "risk_area"}
    assert all(
        r["event_time"] == DEFAULT_START.strftime("%Y-%m-%dT%H:%M:%S.000+08:00")
        for r in records[:first_event]
    )


def test_id_numbers_are_valid_residents_and_travellers(small: tuple[Path, Summary]) -> None:
    people = {r["person_id"] for r in valid_lines(small[0]) if isinstance(r.get("person_id"), str)}

    assert all(id_is_valid(str(p)) for p in people)
    assert any(str(p).startswith("511802") for p in people)
    assert any(not str(p).startswith("511802") for p in people)


def test_venues_of_every_type_stand_in_every_grid(small: tuple[Path, Summary]) -> None:
    venues = [r for r in valid_lines(small[0]) if r["feed"] == "venue"]
    grids = {str(v["grid"]) for v in venues}

    assert len([g for g in grids if g.startswith("qingjiang-")]) == 7
    assert len([g for g in grids if g.startswith("bifengxia-")]) == 14
    for grid in grids:
        assert {v["type"] for v in venues if v["grid"] == grid} == TYPES, grid


def test_37_mahjong_parlours_are_closed(small: tuple[Path, Summary]) -> None:
    closed = {
        r["venue_id"]
        for r in valid_lines(small[0])
        if r["feed"] == "venue" and r["type"] == "mahjong" and r["status"] == "closed"
    }

    assert len(closed) == 37


def test_coordinates_are_around_yaan(small: tuple[Path, Summary]) -> None:
    venues = [r for r in valid_lines(small[0]) if r["feed"] == "venue"]

    assert all(29.93 <= float(str(v["lat"])) <= 30.07 for v in venues)
    assert all(102.97 <= float(str(v["lon"])) <= 103.17 for v in venues)


def test_summary_counts_match_the_labels(small: tuple[Path, Summary]) -> None:
    path, summary = small
    labels = json.loads(labels_path_for(path).read_text())

    assert summary.events == labels["events"]
    assert summary.lines == len(path.read_bytes().splitlines())
    assert sum(summary.malformed.values()) == len(labels["malformed"])
    assert sum(summary.alerts.values()) == len(labels["alerts"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["out.txt"], "does not end in .jsonl"),
        (["out.jsonl", "--duration", "3x"], "not a duration"),
        (["out.jsonl", "--rate", "-1"], "out of range"),
        (["out.jsonl", "--seed", "x"], "not a whole number"),
        (["out.jsonl", "--start", "2022-10-14T08:00:00"], "no UTC offset"),
        (["missing-folder/out.jsonl"], "cannot write"),
    ],
)
def test_bad_options_exit_2_with_a_hint(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SystemExit) as exit_:
        main(["generate", *args, "--no-progress"])

    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert message in err and "what to do:" in err
    assert "Traceback" not in err
