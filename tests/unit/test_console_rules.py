"""The console's rules come from the catalogue: ``GET /api/rules`` and ``explain``.

``streams.ops.console.explain``: every catalogue rule is explained (in its own
words or from its row), and a rule without written words gets its names and
the thresholds it reads with the running values; the route serves the
catalogue's rules and names behind the login, and the page keeps no list of
its own.
"""

# ruff: noqa: RUF001 (Chinese text takes full-width punctuation)
from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import cast

import httpx

from rules import default_config
from schemas.catalogue import CATALOGUE, RULE_IDS, RULE_NAMES, RuleRow
from streams.ops.console.actions import Actions
from streams.ops.console.app import STATIC, make_app
from streams.ops.console.book import Book
from streams.ops.console.explain import _from_catalogue, _texts, explain, rule_list
from streams.ops.console.users import Users
from streams.settings import Settings

PASSWORD = "correct horse battery"

NEW_RULE = RuleRow(
    "queue-jumping", ("venue",), "window", ("warning",), ("venue",),
    ("crowding_window_s", "temperature_required_types"), name_zh="插队", name_en="Queue jumping",
)  # fmt: skip
"""A rule the catalogue does not have, so ``explain.py`` has no words for it."""


def test_every_catalogue_rule_is_explained_in_both_languages() -> None:
    config = default_config()

    for rule in RULE_IDS:
        text = explain(rule, config)
        assert text["zh"] and text["en"], rule
        assert text != {"zh": rule, "en": rule}, f"{rule} is explained by its id only"
    assert set(_texts(config.thresholds)) <= set(RULE_IDS), "words for a rule that is not one"


def test_a_rule_without_words_gets_its_names_and_running_thresholds() -> None:
    config = default_config()
    running = dataclasses.replace(config.thresholds, crowding_window_s=600)

    zh, en = _from_catalogue([NEW_RULE], running)

    assert en == (
        "Queue jumping. Thresholds: crowding_window_s = 600; temperature_required_types = "
        "pharmacy, restaurant, hotel, bus_station, mall, supermarket."
    )
    assert zh.startswith("插队。阈值：crowding_window_s = 600；temperature_required_types = ")
    assert NEW_RULE.rule not in _texts(running)


def test_a_rule_of_two_rows_reads_the_thresholds_of_both() -> None:
    rows = [row for row in CATALOGUE if row.rule == "inspection-failed"]
    first = dataclasses.replace(rows[0], thresholds=("patrol_gap_s",))

    _zh, en = _from_catalogue([first, rows[1]], default_config().thresholds)

    assert len(rows) == 2 and rows[1].part
    assert (
        en == "Inspection failed. Thresholds: patrol_gap_s = 7200; reinspection_within_s = 86400."
    )


def test_without_names_or_thresholds_the_id_stands_in() -> None:
    bare = RuleRow("bare-rule", ("venue",), "immediate", ("info",), ("venue",))

    assert _from_catalogue([bare], default_config().thresholds) == ("bare-rule。", "bare-rule.")
    assert explain("no-such-rule", default_config()) == {"zh": "no-such-rule", "en": "no-such-rule"}


def test_the_rule_list_is_the_catalogues_in_its_order() -> None:
    listed = rule_list()

    assert [r["id"] for r in listed] == list(RULE_IDS)
    assert {r["id"]: (r["zh"], r["en"]) for r in listed} == RULE_NAMES
    assert listed[3] == {"id": "fever", "zh": "发热", "en": "Fever"}


def test_the_page_keeps_no_list_of_rules_of_its_own() -> None:
    script = (STATIC / "console.js").read_text(encoding="utf-8")

    written = [rule for rule in RULE_IDS if f'"{rule}"' in script]
    assert not written, f"console.js names rules itself; they come from GET /api/rules: {written}"
    assert "/api/rules" in script


def test_the_rules_route_serves_the_catalogue_behind_the_login(tmp_path: Path) -> None:
    users = Users(tmp_path / "users.json")
    users.add("view", "viewer", PASSWORD)
    actions = cast(Actions, object())  # GET routes never write
    app = make_app(Settings(), Book(), users, actions, default_config(), "s" * 32)

    async def ask() -> tuple[int, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            anonymous = (await client.get("/api/rules")).status_code
            login = await client.post("/api/login", json={"name": "view", "password": PASSWORD})
            assert login.is_success, login.text
            return anonymous, await client.get("/api/rules")

    anonymous, answer = asyncio.run(ask())

    assert anonymous == 401
    assert answer.status_code == 200
    assert answer.json() == {"rules": rule_list()}
    assert "script-src 'self'" in answer.headers["content-security-policy"]
