"""rules.config: the shipped defaults are docs/rules.md's; override files; errors."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import pytest

from rules import ConfigError, default_config, load_config
from tests.oracle import Thresholds as OracleThresholds
from tests.oracle.world import KEY_SITES, SITE_COORDINATES


def test_every_threshold_default_is_the_oracles() -> None:
    ours = dataclasses.asdict(default_config().thresholds)
    theirs = dataclasses.asdict(OracleThresholds())

    for name, value in theirs.items():
        expected = frozenset(value) if isinstance(value, tuple) else value
        assert ours[name] == expected, name


def test_medicine_categories_and_police_types_are_those_of_the_rules() -> None:
    th = default_config().thresholds

    assert th.medicine_categories == {"fever", "cough", "antiviral", "antibiotic"}
    assert th.police_incident_types == {
        "rumor",
        "counterfeit_goods",
        "illegal_vaccine",
        "checkpoint_conflict",
    }


def test_places_are_the_five_checkpoints_and_the_bus_station() -> None:
    config = default_config()

    assert config.key_sites == KEY_SITES
    assert {p: (v.lat, v.lon) for p, v in config.places.items()} == SITE_COORDINATES
    assert [p for p, v in config.places.items() if v.kind == "site"] == ["bus-station"]


def test_the_defaults_file_ships_inside_the_package() -> None:
    assert resources.files("rules").joinpath("defaults.toml").is_file()


def test_an_override_changes_only_what_it_names(tmp_path: Path) -> None:
    override = tmp_path / "rules.toml"
    override.write_text(
        '[thresholds]\nfever_warning_c = 37.5\n[places.bus-station]\ngrid = "qingjiang-1"\n'
    )

    config = load_config(override)

    assert config.thresholds.fever_warning_c == 37.5
    assert config.thresholds.fever_critical_c == 38.5
    assert config.places["bus-station"].grid == "qingjiang-1"
    assert config.places["bus-station"].lat == 29.9870


def test_an_override_can_add_a_place(tmp_path: Path) -> None:
    override = tmp_path / "rules.toml"
    override.write_text(
        '[places.new-toll]\nname = "n"\nkind = "checkpoint"\nlat = 30.1\nlon = 103.1\n'
    )

    config = load_config(override)

    assert config.places["new-toll"].key_site is False
    assert "new-toll" not in config.key_sites


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thresholds]\nfever_warnng_c = 37.5\n", "unknown settings fever_warnng_c"),
        ("[thresholds]\ncrowding_window_s = 0\n", "crowding_window_s"),
        ('[thresholds]\nfever_warning_c = "hot"\n', "fever_warning_c"),
        ("[thresholds]\nsurge_alpha = 1.5\n", "surge_alpha"),
        ("[thresholds]\nfever_warning_c = 39.0\n", "fever_warning_c .39. must be below fever_cr"),
        ("[thresholds]\nfever_critical_c = 37.3\n", "must be below fever_critical_c .37.3."),
        ("[thresholds]\nfever_critical_c = 101.3\n", "not a body temperature in degrees Celsius"),
        ("[thresholds]\narrive_s = 30\n", "dispatch_s .60. must be below arrive_s .30."),
        ("[thresholds]\nresolve_s = 120\n", "arrive_s .180. must be below resolve_s .120."),
        ("[thresholds]\nmedicine_categories = [1]\n", "medicine_categories"),
        ("[engine]\ndedupe_horizon_s = -1\n", "dedupe_horizon_s"),
        ("[placs.x]\n", "unknown tables placs"),
        ('[places.x]\nname = "x"\nkind = "road"\nlat = 1\nlon = 1\n', "places.x"),
        ("[places.x]\nlat = 1\n", "lacks name"),
        ("not toml = = 1\n", "not valid TOML"),
    ],
)
def test_a_bad_override_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    override = tmp_path / "rules.toml"
    override.write_text(text)

    with pytest.raises(ConfigError, match=message) as caught:
        load_config(override)
    assert str(override) in str(caught.value)


def test_a_missing_override_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
