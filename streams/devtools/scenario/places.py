"""Geography of Yucheng district: the rules' places, community grids and villages.

The checkpoints and key sites are the rules configuration's places (their one
home is ``rules/defaults.toml``, with an operator's file laid over it):
``sites_of`` turns them into ``Site`` objects with the traffic share each
checkpoint gets here. The 7 community grids of Qingjiang subdistrict lie in
the city; the 14 villages of Bifengxia town north-west of it. Each grid is a
disc small enough (at most ``radius_km``) that two places in it are never as
far apart as impossible travel needs (``impossible_travel_min_km``, 5 km by
default): background people stay in their grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from rules import Place

__all__ = [
    "CHECKPOINT_WEIGHTS",
    "GRIDS",
    "Grid",
    "Site",
    "haversine_km",
    "local_reach_km",
    "sites_of",
]

CHECKPOINT_WEIGHTS: Final[dict[str, float]] = {
    "jinjiguan-toll": 3.0,
    "fengming-toll": 2.0,
    "xikang-bridge": 2.0,
    "yaan-north-toll": 2.0,
    "caoba-toll": 1.0,
}
"""Share of checkpoint traffic by checkpoint id; a configured checkpoint not listed gets 1."""


def local_reach_km(impossible_travel_min_km: float) -> float:
    """Upper bound of any distance a background person travels: 0.8 of what impossible
    travel needs (4 km of the default 5)."""
    return 0.8 * impossible_travel_min_km


@dataclass(frozen=True)
class Site:
    """A place of the rules configuration: a checkpoint, a key site, or both."""

    site_id: str
    lat: float
    lon: float
    checkpoint: bool
    """Scans happen here (``kind = "checkpoint"``)."""
    key_site: bool
    """Patrols check in here (``patrol-gap`` watches it)."""
    weight: float
    """Share of checkpoint traffic (checkpoints only)."""


def sites_of(places: dict[str, Place]) -> tuple[Site, ...]:
    """The configured places as sites, in the configuration's order."""
    return tuple(
        Site(
            place.place_id,
            place.lat,
            place.lon,
            place.kind == "checkpoint",
            place.key_site,
            CHECKPOINT_WEIGHTS.get(place.place_id, 1.0) if place.kind == "checkpoint" else 0.0,
        )
        for place in places.values()
    )


@dataclass(frozen=True)
class Grid:
    """A community grid of Qingjiang or a village of Bifengxia."""

    grid_id: str
    name: str
    town: str
    lat: float
    lon: float
    radius_km: float
    weight: float
    """Share of the population living here."""


_QINGJIANG = (
    ("canping", "苍坪社区", 29.9935, 103.0080, 0.9),
    ("shawan", "沙湾社区", 29.9840, 103.0190, 0.7),
    ("wenhua", "文化路社区", 29.9990, 103.0250, 0.7),
    ("binjiang", "滨江社区", 30.0060, 103.0390, 0.7),
    ("qiaotouyan", "桥头堰社区", 30.0130, 103.0510, 0.7),
    ("beijiao", "北郊社区", 30.0210, 103.0320, 0.7),
    ("nanjiao", "南郊社区", 29.9560, 103.0400, 0.7),
)
_BIFENGXIA = (
    "houyan 后盐村",
    "hongpai 红牌村",
    "huanglong 黄龙村",
    "zishi 紫石村",
    "dahe 大河村",
    "fenghuang 凤凰村",
    "bifeng 碧峰村",
    "xinzhuang 新庄村",
    "baishu 柏树村",
    "liba 李坝村",
    "shuangqiao 双桥村",
    "yanjing 岩鲸村",
    "guanyin 观音村",
    "qinglong 青龙村",
)


def _grids() -> tuple[Grid, ...]:
    grids = [
        Grid(f"qingjiang-{key}", name, "青江街道", lat, lon, radius, 3.0)
        for key, name, lat, lon, radius in _QINGJIANG
    ]
    for index, text in enumerate(_BIFENGXIA):
        key, name = text.split()
        row, col = divmod(index, 5)
        lat = 30.030 + 0.012 * row + 0.002 * (col % 2)
        lon = 102.984 + 0.013 * col + 0.004 * row
        grids.append(Grid(f"bifengxia-{key}", name, "碧峰峡镇", lat, lon, 0.45, 1.0))
    return tuple(grids)


GRIDS: tuple[Grid, ...] = _grids()


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of radius 6371 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))
