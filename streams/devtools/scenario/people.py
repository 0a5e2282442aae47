"""People of a scenario: resident ID numbers, phones, plates, home counties.

ID numbers follow GB 11643-1999: a 6-digit county code, the birth date
``YYYYMMDD``, a 3-digit sequence (odd for men) and an ISO 7064 MOD 11-2 check
character. Residents carry Yucheng's code 511802; travellers other real county
codes. ``IdFactory`` hands out numbers never handed out before in a scenario, so
two people never share one. Used by ``world`` (background people) and the
anomaly makers (people of their own).
"""

from __future__ import annotations

import calendar
import functools
import random
from datetime import date
from typing import NamedTuple

__all__ = [
    "HOME_COUNTY",
    "RISK_COUNTIES",
    "SAFE_COUNTIES",
    "IdFactory",
    "Person",
    "id_check_char",
    "is_valid_id",
    "make_phone",
    "make_plate",
]

HOME_COUNTY = "511802"
"""Yucheng district, Ya'an."""

SAFE_COUNTIES: dict[str, str] = {
    "511803": "雅安市名山区",
    "511822": "雅安市荥经县",
    "511823": "雅安市汉源县",
    "511824": "雅安市石棉县",
    "511825": "雅安市天全县",
    "511826": "雅安市芦山县",
    "511827": "雅安市宝兴县",
    "510104": "成都市锦江区",
    "510105": "成都市青羊区",
    "510106": "成都市金牛区",
    "510108": "成都市成华区",
    "511102": "乐山市市中区",
    "511402": "眉山市东坡区",
    "510603": "德阳市旌阳区",
    "510703": "绵阳市涪城区",
    "513301": "甘孜州康定市",
    "110105": "北京市朝阳区",
    "310115": "上海市浦东新区",
    "440305": "深圳市南山区",
    "530102": "昆明市五华区",
    "420106": "武汉市武昌区",
    "330106": "杭州市西湖区",
}
"""Counties that no scenario ever lists as risky: background travel stays among these."""

RISK_COUNTIES: dict[str, str] = {
    "650102": "乌鲁木齐市天山区",
    "540102": "拉萨市城关区",
    "620102": "兰州市城关区",
    "150102": "呼和浩特市新城区",
    "440106": "广州市天河区",
    "510107": "成都市武侯区",
    "610113": "西安市雁塔区",
    "500112": "重庆市渝北区",
}
"""Counties the risk_area feed lists (medium/high) and clears (low) during a scenario."""

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_PHONE_PREFIXES = tuple(
    [str(n) for n in range(130, 140)]
    + ["150", "151", "152", "153", "155", "156", "157", "158", "159", "166", "176", "177", "178"]
    + [str(n) for n in range(180, 190)]
    + ["198", "199"]
)
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_PLATE_CHARS = _PLATE_LETTERS + "0123456789"


def _weigh(digits: str, offset: int) -> int:
    """The check sum's part of ``digits`` standing at ``offset`` in the 17."""
    return sum(int(d) * w for d, w in zip(digits, _WEIGHTS[offset:], strict=False))


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def is_valid_id(text: str) -> bool:
    """18 characters, 17 digits and a digit or ``X``, a real birth date, a correct check."""
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        return False
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return id_check_char(text[:17]) == text[17]


def make_phone(rng: random.Random) -> str:
    """An 11-digit mainland mobile number."""
    x = rng.getrandbits(32)
    return (
        f"{_PHONE_PREFIXES[x % len(_PHONE_PREFIXES)]}{x // len(_PHONE_PREFIXES) % 100_000_000:08d}"
    )


def make_plate(rng: random.Random, prefix: str = "川T") -> str:
    """A plate such as ``川T3K5P2``: province character, city letter, five characters."""
    return prefix + rng.choice(_PLATE_LETTERS) + "".join(rng.choices(_PLATE_CHARS, k=4))


class Person(NamedTuple):
    """One person's identity as the scans show it."""

    person_id: str
    """The 18-character ID number."""
    phone: str | None
    """11 digits, or None when the scan shows none."""

    @property
    def fragment(self) -> str:
        """The ``"person_id":...,"phone":...`` part of a scan line."""
        if self.phone is None:
            return f'"person_id":"{self.person_id}"'
        return f'"person_id":"{self.person_id}","phone":"{self.phone}"'


@functools.cache
def _birth_dates() -> tuple[tuple[str, int], ...]:
    """Every birth date 1937-2006 (people of 16 to 85) as ``YYYYMMDD``, with its check sum part."""
    months = [(f"{m:02d}", _weigh(f"{m:02d}", 10)) for m in range(1, 13)]
    days = [(f"{d:02d}", _weigh(f"{d:02d}", 12)) for d in range(1, 32)]
    dates = []
    for year in range(1937, 2007):
        y_text, y_part = f"{year:04d}", _weigh(f"{year:04d}", 6)
        for month, (m_text, m_part) in enumerate(months, 1):
            for d_text, d_part in days[: calendar.monthrange(year, month)[1]]:
                dates.append((y_text + m_text + d_text, y_part + m_part + d_part))
    return tuple(dates)


class IdFactory:
    """Hands out ID numbers never handed out before in this scenario.

    The check character is a weighted sum; the parts of region, birth date and
    sequence are cached, so that a district's worth of numbers costs little.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()
        self._regions: dict[str, int] = {}
        self._sequences = [(f"{n:03d}", _weigh(f"{n:03d}", 14)) for n in range(1000)]

    def new_id(self, county: str = HOME_COUNTY) -> str:
        """A valid, unused ID number of someone born in ``county``."""
        rng, days, used = self._rng, _birth_dates(), self._used
        region = self._regions.get(county)
        if region is None:
            region = self._regions[county] = _weigh(county, 0)
        while True:
            x = rng.getrandbits(32)
            born, born_part = days[x % len(days)]
            sequence, part = self._sequences[x // len(days) % 1000]
            number = county + born + sequence + _CHECK[(region + born_part + part) % 11]
            if number not in used:
                used.add(number)
                return number

    def new_person(self, county: str = HOME_COUNTY, phone_share: float = 0.95) -> Person:
        """A person with a fresh ID number and, usually, a phone."""
        number = self.new_id(county)
        phone = make_phone(self._rng) if self._rng.random() < phone_share else None
        return Person(number, phone)
