"""The console in a real browser: Playwright driving Debian's chromium over loopback.

Playwright cannot download its own browser here, so it launches
``/usr/bin/chromium`` headless with the flags a closed network needs
(``CHROMIUM`` and ``FLAGS``, shared with ``benchmarks/console.py``). Screenshots land
in ``<data_dir>/screenshots`` (``docs/images`` holds
the current ones, copied from there).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from benchmarks.console import CHROMIUM, FLAGS
from schemas.catalogue import RULE_NAMES
from sinks import Batcher, migrate, open_store
from streams.devtools.demo import SAMPLE, sample_labels
from streams.devtools.stack.process import terminate
from streams.kafka.read import read_topic
from streams.kafka.topics import declare_topics
from streams.settings import Settings
from tests.integration.console_support import (
    ID_SHAPED,
    PASSWORD,
    PHONE_SHAPED,
    Console,
    add_users,
    make_alert,
    running,
    send_alerts,
    wait_for,
)
from tests.integration.helpers import (
    assert_labelled,
    run_cli,
    start_worker,
    wait_ready,
    worker_env,
)


@pytest.fixture
def console(declared: Settings, tmp_path: Path) -> Iterator[Console]:
    with running(declared, tmp_path) as console:
        yield console


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(settings: Settings) -> Path:
    folder = settings.data_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _login(browser: Browser, console: Console, user: str = "op", path: str = "/") -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    bodies: list[bytes] = []
    page.on("response", lambda r: bodies.append(r.body()) if "event-stream" not in
            (r.headers.get("content-type") or "") else None)  # fmt: skip
    page.context.on("close", lambda _: console.responses.extend(bodies))
    page.goto(console.url + path)
    page.fill("input[name=name]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#login")).to_be_hidden()
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    console.responses.extend(bodies)
    return page


def _row(page: Page, alert_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#alerts tbody tr[data-id="{alert_id}"]')


def test_alerts_appear_live_and_an_ack_shows_in_another_browser_within_a_second(
    console: Console, declared: Settings, browser: Browser, shots: Path
) -> None:
    first, second = _login(browser, console), _login(browser, console, "view")
    expect(first.locator("#new-banner")).to_be_hidden()  # nothing new yet
    hostile = make_alert(1, severity="critical",
                         message='<script>window.pwned=1</script><b>bold</b> fever')  # fmt: skip
    alerts = [hostile, make_alert(2), make_alert(3, "no-code", "info")]

    sent = time.monotonic()
    send_alerts(declared, alerts)
    expect(first.locator("#new-banner")).to_contain_text("3", timeout=2000)
    appeared = time.monotonic() - sent
    first.click("#new-banner")
    second.click("#new-banner")
    expect(first.locator("#new-banner")).to_be_hidden()

    for alert in alerts:
        expect(_row(first, alert.alert_id)).to_be_visible()
    cell = _row(first, hostile.alert_id).locator("td.message")
    expect(cell).to_have_text("<script>window.pwned=1</script><b>bold</b> fever")
    assert cell.locator("b").count() == 0 and first.evaluate("window.pwned") is None
    place = _row(first, hostile.alert_id).locator("td").nth(4)
    expect(place).to_contain_text("金鸡关收费站")  # the configured name, in Chinese
    assert appeared < 2.0
    expect(first).to_have_title("(1) 疫情防控指挥中心")

    _row(first, hostile.alert_id).click()
    expect(first.locator("#detail h2")).to_contain_text("bold")
    first.screenshot(path=str(shots / "console-list.png"))
    first.keyboard.press("a")
    acked = time.monotonic()
    expect(_row(second, hostile.alert_id)).to_have_attribute("data-status", "acknowledged",
                                                          timeout=1000)  # fmt: skip
    assert time.monotonic() - acked < 1.0 + 0.5  # the click's own round trip included
    expect(first.locator("#detail .trail li")).to_have_count(1)
    expect(first).to_have_title("疫情防控指挥中心")  # no critical alert left unacknowledged
    first.screenshot(path=str(shots / "console-detail.png"))

    second.reload()  # survives a reload (and a console restart: test_console_api)
    expect(_row(second, hostile.alert_id)).to_have_attribute("data-status", "acknowledged")
    _row(second, hostile.alert_id).click()
    expect(second.locator("#detail h2")).to_be_visible()
    assert second.locator("#detail button[data-action]").count() == 0  # a viewer has none
    for page in (first, second):
        page.context.close()
    for body in console.responses:
        assert not ID_SHAPED.search(body) and not PHONE_SHAPED.search(body)


def test_keyboard_triage_and_filters_in_the_url(
    console: Console, declared: Settings, browser: Browser
) -> None:
    alerts = [make_alert(n, severity="critical" if n < 2 else "warning") for n in range(4)]
    send_alerts(declared, alerts)
    page = _login(browser, console, path="/?severity=critical&rule=fever")
    expect(page.locator("#alerts tbody tr[data-id]")).to_have_count(2)
    expect(page.locator("select[name=severity]")).to_have_value("critical")
    # The rule filter is the catalogue's (GET /api/rules), its choice restored from the URL.
    options = page.locator("select[name=rule] option")
    expect(options).to_have_count(len(RULE_NAMES) + 1)  # and "all"
    expect(page.locator("select[name=rule]")).to_have_value("fever")
    expect(page.locator('select[name=rule] option[value="patrol-gap"]')).to_have_text("巡逻空档")
    expect(_row(page, alerts[0].alert_id).locator("td").nth(3)).to_have_text("发热")
    page.click("#lang")
    expect(page.locator('select[name=rule] option[value="patrol-gap"]')).to_have_text("Patrol gap")
    expect(page.locator("select[name=rule]")).to_have_value("fever")
    page.click("#lang")

    page.keyboard.press("j")  # the first row
    page.keyboard.press("j")  # the second
    page.keyboard.press("r")
    expect(_row(page, alerts[0].alert_id)).to_have_attribute("data-status", "resolved")
    page.keyboard.press("k")
    page.keyboard.press("a")
    expect(_row(page, alerts[1].alert_id)).to_have_attribute("data-status", "acknowledged")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()

    page.select_option("select[name=status]", "resolved")
    assert "status=resolved" in page.url and "severity=critical" in page.url
    assert "rule=fever" in page.url
    expect(page.locator("#alerts tbody tr[data-id]")).to_have_count(1)
    page.reload()  # the URL restores the same view
    expect(page.locator("#alerts tbody tr[data-id]")).to_have_count(1)
    expect(page.locator("select[name=status]")).to_have_value("resolved")
    page.context.close()


def test_the_health_view_and_the_map_show_a_running_pipeline(
    worker_settings: Settings, tmp_path: Path, browser: Browser, shots: Path
) -> None:
    declare_topics(worker_settings)
    env = worker_env(worker_settings, tmp_path / "data")
    worker = start_worker(worker_settings, tmp_path / "worker.log", env=env)
    add_users(tmp_path / "users.json")
    metrics = {"CONTROLFEED_METRICS_PORT": env["CONTROLFEED_METRICS_PORT"]}
    console = Console(worker_settings, tmp_path, env=metrics)
    try:
        wait_ready(tmp_path / "worker.log", timeout=120)
        console.start()
        replay = run_cli("replay", "--no-progress", str(SAMPLE), settings=worker_settings)
        assert replay.returncode == 0, replay.stderr
        page = _login(browser, console)
        # Alerts in the list already, or behind the banner (a locator: the CSP forbids eval).
        arrived = page.locator("#alerts tbody tr[data-id], #new-banner:not([hidden])").first
        expect(arrived).to_be_visible(timeout=60_000)
        if page.locator("#new-banner").is_visible():
            page.click("#new-banner")
        expect(page.locator("#alerts tbody tr[data-id]")).not_to_have_count(0)
        labels = sample_labels()
        viewer = console.client("view")
        wait_for(lambda: viewer.get("/api/alerts").json()["total"] == len(labels["alerts"]), 120)
        shown = viewer.get("/api/alerts?limit=500").json()["alerts"]
        assert_labelled(shown, labels)  # every labelled alert of the sample, once
        sent: dict[str, float] = {}
        for record in read_topic(worker_settings, worker_settings.topic_alerts):
            alert_id = json.loads(record.value() or b"{}")["alert_id"]
            sent.setdefault(alert_id, record.timestamp()[1] / 1000)
        delays = [a["arrived_at"] - sent[a["alert_id"]] for a in shown]
        assert max(delays) < 2.0, sorted(delays)[-5:]  # in the console within 2 s of its record
        expect(page.locator("#counts")).to_contain_text(str(len(labels["alerts"])))

        page.click("#show-health")
        rows = page.locator("#health tr[data-feed]")
        expect(rows).to_have_count(5)
        rate = page.locator('#health tr[data-feed="venue_scan"] td').nth(1)
        expect(rate).not_to_have_text("…", timeout=15_000)  # a rate once two readings exist
        page.screenshot(path=str(shots / "console-health.png"))
        page.click("#show-health")
        page.click("#show-map")
        expect(page.locator("#map svg g.place")).not_to_have_count(0)
        expect(page.locator("#map .alert-marker").first).to_be_visible()
        page.screenshot(path=str(shots / "console-map.png"))
        marked = page.locator("#map g.place:has(.alert-marker)").first
        place = marked.get_attribute("data-place")
        marked.click()
        expect(page.locator("#search")).to_have_value(str(place))
        page.context.close()
        for body in console.responses:
            assert not ID_SHAPED.search(body) and not PHONE_SHAPED.search(body)
    finally:
        console.stop()
        terminate(worker)


def test_bulk_actions_wait_for_their_undo_and_sound_is_armed_by_a_click(
    console: Console, declared: Settings, browser: Browser
) -> None:
    alerts = [make_alert(n) for n in range(3)]
    send_alerts(declared, alerts)
    page = _login(browser, console)
    expect(page.locator("#alerts tbody tr[data-id]")).to_have_count(3)
    newest, middle = alerts[2].alert_id, alerts[1].alert_id

    for key in ("j", "x", "j", "x", "A"):  # select the two newest, acknowledge both
        page.keyboard.press(key)
    expect(page.locator("#toast")).to_contain_text("2")
    page.click("#undo")
    page.wait_for_timeout(6000)  # past the 5 s in which the bulk action can be undone
    for alert_id in (newest, middle):
        expect(_row(page, alert_id)).to_have_attribute("data-status", "new")

    expect(page.locator("#bulk")).to_contain_text("2")  # still selected after the undo
    page.keyboard.press("R")
    for alert_id in (newest, middle):
        expect(_row(page, alert_id)).to_have_attribute("data-status", "resolved", timeout=10_000)
    expect(_row(page, alerts[0].alert_id)).to_have_attribute("data-status", "new")
    expect(page.locator("#bulk")).to_be_hidden()

    page.click("#arm-sound")
    expect(page.locator("#arm-sound")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("typeof AudioContext") == "function"
    page.context.close()


def test_the_history_of_a_day_comes_from_clickhouse_and_can_still_be_taken(
    declared: Settings, tmp_path: Path, browser: Browser, shots: Path, ch_database: str,
    settings: Settings,
) -> None:  # fmt: skip
    url = f"clickhouse://127.0.0.1:{settings.clickhouse_tcp_port}/{ch_database}"
    older = [make_alert(n, severity="critical" if n == 1 else "warning") for n in (1, 2)]
    live = make_alert(30)  # 2022-10-14, 08:30 UTC: the same day in China Standard Time
    store = open_store(url, tmp_path / "chdb")
    migrate(store)
    batcher = Batcher(store)
    for alert in (*older, live):
        batcher.add_alert(alert)
    batcher.flush()
    store.close()
    send_alerts(declared, [live])  # only the live one is on the alerts topic
    add_users(tmp_path / "users.json")
    console = Console(declared, tmp_path, env={"CONTROLFEED_CLICKHOUSE_URL": url})
    console.start()
    try:
        page = _login(browser, console, path="/?source=history&day=2022-10-14")
        expect(page.locator("#alerts tbody tr[data-id]")).to_have_count(3)
        expect(page.locator("#stored-note")).to_be_visible()
        expect(page.locator("#stored-total")).to_have_text("ClickHouse: 共 3 条.")
        _row(page, older[0].alert_id).click()
        expect(page.locator("#detail h2")).to_have_text("fever #1")
        page.keyboard.press("a")  # yesterday's alert can still be acknowledged
        expect(_row(page, older[0].alert_id)).to_have_attribute("data-status", "acknowledged")
        page.screenshot(path=str(shots / "console-history.png"))

        page.select_option("select[name=source]", "")  # live: the console's memory only
        expect(page.locator("#alerts tbody tr[data-id]")).to_have_count(1)
        expect(page.locator("#stored-note")).to_be_hidden()
        page.fill("input[name=day]", "2022-10-15")  # a day without alerts
        expect(page.locator("#empty")).to_be_visible()
        assert "day=2022-10-15" in page.url
        page.context.close()
    finally:
        console.stop()
    for body in console.responses:
        assert not ID_SHAPED.search(body) and not PHONE_SHAPED.search(body)
