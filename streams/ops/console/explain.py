"""Each rule in plain words, with the thresholds it runs with, in Chinese and English.

Called by the console's detail view (``GET /api/alerts/{id}``) with the
rules configuration the console was started with (``CONTROLFEED_RULES_FILE``
over ``rules/defaults.toml``, the same as the worker's), so the numbers an
operator reads are the ones that fired. ``docs/rules.md`` is the full text.

Every rule of the catalogue has a text written here so far; a rule without
one (a new rule, until someone writes it) gets one made from its catalogue
rows: its names and each threshold it reads with the running value. ``rule_list``
gives the console's page the rules and their names (``GET /api/rules``).
"""

# ruff: noqa: RUF001 (Chinese text takes full-width punctuation)
from __future__ import annotations

from collections.abc import Sequence

from rules import RulesConfig
from schemas.catalogue import CATALOGUE, RULE_NAMES, RuleRow, Thresholds, threshold_text

__all__ = ["explain", "rule_list"]


def _mins(seconds: int) -> str:
    return f"{seconds / 60:g}"


def rule_list() -> list[dict[str, str]]:
    """Every rule of the catalogue as ``{"id", "zh", "en"}``, in catalogue order.

    Called by ``GET /api/rules``: the page builds its rule filter and the names it
    shows from it, so a rule added to the catalogue is there with no edit here.
    """
    return [{"id": rule, "zh": name.zh, "en": name.en} for rule, name in RULE_NAMES.items()]


def explain(rule: str, config: RulesConfig) -> dict[str, str]:
    """``{"zh": ..., "en": ...}`` for ``rule``, with the thresholds of ``config``.

    Called by ``GET /api/alerts/{id}``. A rule without a text here gets one from its
    catalogue rows (``_from_catalogue``); a rule the catalogue does not know (an old
    stored alert) gets its id in both.
    """
    text = _texts(config.thresholds).get(rule)
    if text is None:
        rows = [row for row in CATALOGUE if row.rule == rule]
        text = _from_catalogue(rows, config.thresholds) if rows else (rule, rule)
    zh, en = text
    return {"zh": zh, "en": en}


def _setting(name: str, thresholds: Thresholds) -> str:
    """``name = value`` as the rules file would give it (names joined by commas)."""
    return f"{name} = {threshold_text(thresholds, name)}"


def _from_catalogue(rows: Sequence[RuleRow], thresholds: Thresholds) -> tuple[str, str]:
    """(zh, en) for a rule ``_texts`` has no text for: the names of its first row (its id
    without them) and every threshold its rows read, with the value it runs with.

    Called by ``explain``; ``rows`` are the rule's catalogue rows, at least one.
    """
    first = rows[0]
    settings = [_setting(name, thresholds) for name in _read_by(rows)]
    zh, en = first.name_zh or first.rule, first.name_en or first.rule
    if not settings:
        return f"{zh}。", f"{en}."
    return f"{zh}。阈值：{'；'.join(settings)}。", f"{en}. Thresholds: {'; '.join(settings)}."


def _read_by(rows: Sequence[RuleRow]) -> list[str]:
    """The thresholds the rows read, each once, in the rows' order."""
    return list(dict.fromkeys(name for row in rows for name in row.thresholds))


def _texts(t: Thresholds) -> dict[str, tuple[str, str]]:
    """The written (zh, en) of each rule, with the thresholds ``t``. Called by ``explain``."""
    return {
        "risk-area-visitor": (
            "行程码显示到过风险地区的人员在卡口或场所扫码；卡口入境为严重。",
            "A checkpoint or venue scan whose travel code shows a risk area; critical when "
            "entering at a checkpoint.",
        ),
        "health-code-abnormal": (
            "扫码时健康码为黄码或红码（红码为严重）。",
            "A yellow or red health code at a scan (red is critical).",
        ),
        "no-code": ("扫码时未出示健康码。", "A scan without any health code."),
        "fever": (
            f"体温达到 {t.fever_warning_c:g}°C 为警告，达到 {t.fever_critical_c:g}°C 为严重。",
            f"A temperature of {t.fever_warning_c:g} °C or more is a warning, "
            f"{t.fever_critical_c:g} °C or more critical.",
        ),
        "pharmacy-fever-purchase": (
            "在药店购买" + "、".join(sorted(t.medicine_categories)) + "类药品。",
            "A purchase of " + ", ".join(sorted(t.medicine_categories)) + " medicine at a "
            "pharmacy.",
        ),
        "venue-noncompliance": (
            f"需测温场所在同一天内第 {t.noncompliance_min_failures} 次不合规扫码"
            "（未测温、员工未戴口罩、药品购买未登记）。",
            f"The {t.noncompliance_min_failures}th failing scan of a venue in one day (no "
            "temperature taken, staff without a mask, an unregistered medicine purchase).",
        ),
        "closed-venue-activity": (
            "已关闭的场所仍有扫码（仍在营业）。",
            "Scans at a venue that is closed: it still trades.",
        ),
        "crowding": (
            f"场所在一个 {_mins(t.crowding_window_s)} 分钟时段内的扫码数超过其核定容量。",
            f"More scans at a venue in one {_mins(t.crowding_window_s)}-minute window than its "
            "capacity.",
        ),
        "returnee-untested": (
            f"来自风险地区的入境人员在 {t.returnee_test_within_s // 3600:g} 小时内"
            "没有核酸采样记录。",
            f"Someone who entered with risky travel has no nucleic acid test within "
            f"{t.returnee_test_within_s // 3600:g} hours.",
        ),
        "impossible-travel": (
            f"同一人员两次扫码之间的速度超过 {t.impossible_travel_kmh:g} 公里/小时"
            f"（距离至少 {t.impossible_travel_min_km:g} 公里）：健康码可能被冒用。",
            f"One person's two scans imply over {t.impossible_travel_kmh:g} km/h (at least "
            f"{t.impossible_travel_min_km:g} km apart): the code may be shared.",
        ),
        "checkpoint-surge": (
            f"卡口 {_mins(t.surge_window_s)} 分钟内的入境量高出常态 {t.surge_sigmas:g} 个标准差、"
            f"且至少多 {t.surge_min_excess:g} 人。",
            f"A checkpoint's entries in {_mins(t.surge_window_s)} minutes exceed their usual "
            f"level by {t.surge_sigmas:g} standard deviations and at least "
            f"{t.surge_min_excess:g} people.",
        ),
        "police-incident": (
            "巡逻警力上报的警情（" + "、".join(sorted(t.police_incident_types)) + "）。",
            "An incident reported by a patrol ("
            + ", ".join(sorted(t.police_incident_types))
            + ").",
        ),
        "response-sla-breach": (
            f"警情未在时限内处置（1-3-5）：{_mins(t.dispatch_s)} 分钟派警、"
            f"{_mins(t.arrive_s)} 分钟到场、{_mins(t.resolve_s)} 分钟处结。",
            f"An incident missed a deadline (1-3-5): dispatch within {_mins(t.dispatch_s)} min, "
            f"arrival within {_mins(t.arrive_s)} min, resolution within {_mins(t.resolve_s)} min.",
        ),
        "patrol-gap": (
            f"重点部位超过 {_mins(t.patrol_gap_s)} 分钟无巡逻签到。",
            f"A key site had no patrol check-in for {_mins(t.patrol_gap_s)} minutes.",
        ),
        "inspection-failed": (
            f"场所检查不合格；{t.reinspection_within_s // 3600:g} 小时内未复查为严重。",
            f"A venue failed an inspection; no re-inspection within "
            f"{t.reinspection_within_s // 3600:g} hours is critical.",
        ),
    }
