"""The rules configuration: thresholds, engine settings and the fixed places.

The thresholds' names, types and defaults are the rule catalogue's
(``schemas.catalogue.Thresholds``); ``rules/defaults.toml`` (shipped in the
package) holds the engine settings and the places of docs/domain.md.
``load_config(path)`` takes both and lays an optional override file over them
(the same shape: ``[thresholds]``, ``[engine]``, ``[places.<id>]``): the worker,
the console and ``controlfeed generate`` pass the operator's path; tests build
``RulesConfig`` objects directly or with ``dataclasses.replace``. Every problem
raises ``ConfigError`` naming the file and the setting; a name the defaults do
not know is an error, so a typo never silently keeps a default, and settings
that must keep an order (a warning below its critical, the 1-3-5 deadlines in
sequence) are checked together.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from rules.exceptions import ConfigError
from schemas.catalogue import Names, Thresholds, threshold_defaults

__all__ = [
    "DEFAULTS_FILE",
    "Place",
    "RulesConfig",
    "Thresholds",
    "default_config",
    "load_config",
]

DEFAULTS_FILE: Final = "defaults.toml"
"""The name of the defaults inside the ``rules`` package."""

PlaceKind = Literal["checkpoint", "site"]


@dataclass(frozen=True)
class Place:
    """A fixed place: a checkpoint or a key site, with its coordinates."""

    place_id: str
    """``checkpoint_id`` of scans there, or ``site_id`` of check-ins."""
    name: str
    """For people."""
    kind: PlaceKind
    """``checkpoint`` (scans happen there) or ``site`` (a key site only)."""
    lat: float
    """Latitude, WGS-84 degrees."""
    lon: float
    """Longitude, WGS-84 degrees."""
    key_site: bool
    """Watched by ``patrol-gap``."""
    grid: str | None = None
    """The community grid put on alerts at this place, if configured."""


@dataclass(frozen=True)
class RulesConfig:
    """Everything the rules engine is configured with; built once, passed down."""

    thresholds: Thresholds
    """The thresholds of docs/rules.md (``schemas.catalogue`` has their defaults)."""
    places: dict[str, Place] = field(default_factory=dict)
    """The fixed places by id (treat as read-only)."""
    dedupe_horizon_s: int = 3600
    """How long behind the watermark event ids are remembered (docs/watermark.md)."""
    state_horizon_s: int = 172800
    """How long behind the watermark silent per-person and per-incident state is kept."""

    @property
    def key_sites(self) -> tuple[str, ...]:
        """The sites ``patrol-gap`` watches, in configuration order."""
        return tuple(p.place_id for p in self.places.values() if p.key_site)


_ORDERED: Final = (
    ("fever_warning_c", "fever_critical_c"),
    ("dispatch_s", "arrive_s"),
    ("arrive_s", "resolve_s"),
)
"""Pairs of thresholds whose first must stay below the second: a warning at or above its
critical would never be raised; the response deadlines run dispatch, arrival, resolution."""
_BODY_C: Final = (34.0, 45.0)
"""Where a fever threshold must lie, in degrees Celsius (100.4 is Fahrenheit)."""

_INT_MIN: Final = {
    "noncompliance_min_failures": 1,
    "crowding_window_s": 1,
    "surge_window_s": 1,
}


def _threshold(name: str, kind: Any, value: Any, where: str) -> Any:
    if kind is int or kind == "int":
        if type(value) is not int or value < _INT_MIN.get(name, 0):
            raise ConfigError(f"{where}: {name} must be a whole number >= {_INT_MIN.get(name, 0)}")
        return value
    if kind is float or kind == "float":
        if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{where}: {name} must be a number >= 0")
        return float(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {name} must be a list of strings")
    return Names(value)


def _thresholds(table: dict[str, Any], where: str) -> Thresholds:
    known = {f.name: f.type for f in fields(Thresholds)}
    missing = sorted(known.keys() - table.keys())
    if missing:
        raise ConfigError(f"{where}: [thresholds] lacks {', '.join(missing)}")
    values = {name: _threshold(name, kind, table[name], where) for name, kind in known.items()}
    if not 0 < values["surge_alpha"] <= 1:
        raise ConfigError(f"{where}: surge_alpha must be in (0, 1]")
    _check_orderings(values, where)
    return Thresholds(**values)


def _check_orderings(values: dict[str, Any], where: str) -> None:
    """The checks that involve several thresholds (``_ORDERED``) or a plausible range."""
    low, high = _BODY_C
    for name in ("fever_warning_c", "fever_critical_c"):
        if not low <= values[name] <= high:
            raise ConfigError(
                f"{where}: {name} = {values[name]:g} is not a body temperature in degrees "
                f"Celsius ({low:g} to {high:g})"
            )
    for first, second in _ORDERED:
        if values[first] >= values[second]:
            raise ConfigError(
                f"{where}: {first} ({values[first]:g}) must be below {second} ({values[second]:g})"
            )


def _place(place_id: str, table: dict[str, Any], where: str) -> Place:
    unknown = sorted(table.keys() - {"name", "kind", "lat", "lon", "key_site", "grid"})
    if unknown:
        raise ConfigError(f"{where}: [places.{place_id}] has unknown keys {', '.join(unknown)}")
    try:
        name, kind = table["name"], table["kind"]
        lat, lon, key_site = table["lat"], table["lon"], table.get("key_site", False)
    except KeyError as err:
        raise ConfigError(f"{where}: [places.{place_id}] lacks {err.args[0]}") from err
    grid = table.get("grid")
    ok = (
        isinstance(name, str)
        and kind in ("checkpoint", "site")
        and type(lat) in (int, float)
        and type(lon) in (int, float)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
        and isinstance(key_site, bool)
        and (grid is None or isinstance(grid, str))
    )
    if not ok:
        raise ConfigError(
            f"{where}: [places.{place_id}] needs name (text), kind (checkpoint or site), "
            "lat and lon (degrees), key_site (true/false) and optionally grid (text)"
        )
    return Place(place_id, name, kind, float(lat), float(lon), key_site, grid)


def _merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    """``override`` laid over ``base``: known tables key by key, places place by place."""
    unknown = sorted(override.keys() - {"thresholds", "engine", "places"})
    if unknown:
        raise ConfigError(f"{where}: unknown tables {', '.join(unknown)}")
    merged = {name: dict(table) for name, table in base.items()}
    for table in ("thresholds", "engine"):
        extra = sorted(override.get(table, {}).keys() - base[table].keys())
        if extra:
            raise ConfigError(f"{where}: [{table}] has unknown settings {', '.join(extra)}")
        merged[table].update(override.get(table, {}))
    places = {pid: dict(p) for pid, p in base["places"].items()}
    for pid, table in override.get("places", {}).items():
        places[pid] = {**places.get(pid, {}), **table}
    merged["places"] = places
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read the rules configuration {path}: {err.strerror}") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from err


def _build(data: dict[str, Any], where: str) -> RulesConfig:
    engine = data["engine"]
    for name in ("dedupe_horizon_s", "state_horizon_s"):
        value = engine.get(name)
        if type(value) is not int or value < 0:
            raise ConfigError(f"{where}: [engine] {name} must be a whole number >= 0")
    places = {pid: _place(pid, table, where) for pid, table in data["places"].items()}
    return RulesConfig(
        thresholds=_thresholds(data["thresholds"], where),
        places=places,
        dedupe_horizon_s=engine["dedupe_horizon_s"],
        state_horizon_s=engine["state_horizon_s"],
    )


def _defaults() -> dict[str, Any]:
    """The catalogue's thresholds, with the engine settings and places of the shipped file."""
    text = resources.files("rules").joinpath(DEFAULTS_FILE).read_text(encoding="utf-8")
    return {"thresholds": threshold_defaults(), **tomllib.loads(text)}


def load_config(override: str | Path | None = None) -> RulesConfig:
    """The shipped defaults, with the file ``override`` laid over them when given.

    Called once by the worker at start-up (the path is a setting) and by tests.
    Raises ``ConfigError`` naming the file and the setting for anything unusable.
    """
    data = _defaults()
    where = f"rules/{DEFAULTS_FILE}"
    if override is not None:
        where = str(override)
        data = _merge(data, _read(Path(override)), where)
    return _build(data, where)


@cache
def default_config() -> RulesConfig:
    """The shipped defaults, read once per process."""
    return load_config()
