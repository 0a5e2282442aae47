"""Fixed geography of Yucheng district: key sites, community grids and villages.

The five checkpoints and the bus station carry docs/domain.md's coordinates. The 7
community grids of Qingjiang subdistrict lie in the city; the 14 villages of
Bifengxia town north-west of it. Each grid is a disc small enough (at most
``radius_km``) that two places in it are never 5 km apart, the distance from
which impossible travel can fire: background people stay in their grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "CHECKPOINTS",
    "GRIDS",
    "KEY_SITES",
    "LOCAL_REACH_KM",
    "Grid",
    "Site",
    "haversine_km",
]

LOCAL_REACH_KM = 4.0
"""Upper bound of any distance a background person travels (impossible travel needs 5)."""


@dataclass(frozen=True)
class Site:
    """A checkpoint or the bus station (docs/domain.md)."""

    site_id: str
    name: str
    lat: float
    lon: float
    checkpoint: bool
    """False only for the bus station, a key site but no checkpoint."""
    weight: float
    """Share of checkpoint traffic (checkpoints only)."""


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


KEY_SITES: tuple[Site, ...] = (
    Site("jinjiguan-toll", "金鸡关收费站", 30.0206, 103.0633, True, 3.0),
    Site("fengming-toll", "凤鸣收费站", 29.9428, 103.0450, True, 2.0),
    Site("xikang-bridge", "西康大桥", 29.9915, 102.9995, True, 2.0),
    Site("yaan-north-toll", "雅安北收费站", 30.0600, 103.0300, True, 2.0),
    Site("caoba-toll", "草坝收费站", 30.0550, 103.1530, True, 1.0),
    Site("bus-station", "雅安汽车客运站", 29.9870, 103.0050, False, 0.0),
)
CHECKPOINTS: tuple[Site, ...] = tuple(s for s in KEY_SITES if s.checkpoint)

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
