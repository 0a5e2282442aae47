"""``python -m benchmarks.console``: the operators' console with 10,000 alerts, in a real browser.

Run by hand from the checkout (issue 13: "10,000 alerts stay responsive").
On the local Kafka (started if needed), with topics of its own: a
``controlfeed console`` process and Debian's chromium driven by Playwright
(logged in as a throwaway operator); ``--alerts`` alerts (default 10,000) are
sent to the alerts topic at once, and it times, ``--rounds`` times
(interleaved, medians and ranges printed): the stream bringing them all
behind the "N new" banner, showing them (the page renders 500 rows at a time
with a "show more" row), ``j`` moving the selection, ``a`` acknowledging (the
round trip through the alert-state topic until the row says so), the next
500 rows, a reload, and a filter. The timings are wall-clock seconds seen by
the test driver, on a machine shared with the broker and the console.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import httpx
from playwright.sync_api import Page, sync_playwright
from rich.console import Console as Rich

from schemas.alerts import Alert, alert_id
from streams.devtools.stack import Stack
from streams.kafka import clients
from streams.kafka.topics import declare_topics, pipeline_topics
from streams.ops.console.users import Users
from streams.settings import PROJECT_ROOT, Settings

_out = Rich(highlight=False)
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
_T0 = datetime(2022, 10, 14, 8, 0, tzinfo=UTC)


def _alerts(n: int, tag: str) -> list[Alert]:
    out = []
    for i in range(n):
        when, evidence = _T0 + timedelta(seconds=i), (f"{tag}-{i}",)
        severity = ("critical", "warning", "info")[i % 3]
        out.append(Alert(alert_id=alert_id("fever", severity, evidence, when, "jinjiguan-toll"),
                         rule="fever", severity=severity, subject="checkpoint", event_time=when,
                         evidence=evidence, checkpoint_id="jinjiguan-toll",
                         message=f"fever #{i}"))  # fmt: skip
    return out


def _round(page: Page, settings: Settings, n: int, tag: str) -> dict[str, float]:
    took: dict[str, float] = {}
    sender = clients.producer(settings, "bench-console")
    start = time.monotonic()
    for alert in _alerts(n, tag):
        sender.produce(settings.topic_alerts, alert.model_dump_json().encode())
    sender.flush(60)
    banner = page.locator("#new-banner")
    banner.filter(has_text=f"{n}").wait_for(timeout=180_000)
    took["all behind the banner"] = time.monotonic() - start
    start = time.monotonic()
    banner.click()
    page.locator("#more").wait_for()
    took["show them (500 rows)"] = time.monotonic() - start
    start = time.monotonic()
    page.keyboard.press("j")
    page.locator("#alerts tbody tr.selected").wait_for()
    took["j (select)"] = time.monotonic() - start
    start = time.monotonic()
    page.keyboard.press("a")
    page.locator('#alerts tbody tr.selected[data-status="acknowledged"]').wait_for()
    took["a (acknowledge, round trip)"] = time.monotonic() - start
    start = time.monotonic()
    page.click("#more")
    page.locator("#alerts tbody tr[data-id]").nth(999).wait_for()
    took["show 500 more"] = time.monotonic() - start
    start = time.monotonic()
    page.reload()
    page.locator("#alerts tbody tr[data-id]").first.wait_for()
    took["reload"] = time.monotonic() - start
    start = time.monotonic()
    page.select_option("select[name=severity]", "critical")
    page.locator("#alerts tbody tr[data-id]").first.wait_for()
    took["filter"] = time.monotonic() - start
    page.select_option("select[name=severity]", "")
    return took


@click.command()
@click.option("--alerts", "count", type=click.IntRange(100, 100_000), default=10_000,
              show_default=True, help="Alerts sent per round.")  # fmt: skip
@click.option("--rounds", type=click.IntRange(1, 10), default=3, show_default=True)
def main(count: int, rounds: int) -> None:
    """The console with COUNT alerts: how long the page takes for what operators do."""
    base = Settings()
    Stack(base, ("kafka",)).up()
    tag = uuid.uuid4().hex[:8]
    settings = base.model_copy(update={f: f"bench.{tag}.{getattr(base, f)}"
                                       for f in base.topic_fields()})  # fmt: skip
    declare_topics(settings)
    folder = Path(tempfile.mkdtemp(prefix="controlfeed-bench-console-"))
    password = uuid.uuid4().hex
    Users(folder / "users.json").add("bench", "operator", password)
    port = 18000 + int(tag[:3], 16) % 1000
    env = {**os.environ, **settings.to_env(), "CONTROLFEED_CONSOLE_PORT": str(port),
           "CONTROLFEED_CONSOLE_USERS_FILE": str(folder / "users.json"),
           "CONTROLFEED_DATA_DIR": str(folder)}  # fmt: skip
    log = (folder / "console.log").open("wb")
    command = [sys.executable, "-c", "from streams.cli import main; main()", "console"]
    proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).json()["ready"]:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise click.ClickException(f"the console did not start; see {folder}/console.log")
            time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            for r in range(rounds):
                page = browser.new_page(viewport={"width": 1400, "height": 800})
                page.goto(url)
                page.fill("input[name=name]", "bench")
                page.fill("input[name=password]", password)
                page.click("#login-form button[type=submit]")
                page.locator("#conn[data-state=live]").wait_for()
                with _out.status(f"round {r + 1} of {rounds}: {count:,} alerts..."):
                    for name, seconds in _round(page, settings, count, f"{tag}-{r}").items():
                        results.setdefault(name, []).append(seconds)
                page.close()
                done = ", ".join(f"{k} {v[-1]:.2f} s" for k, v in results.items())
                _out.print(f"round {r + 1}: {done}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
        admin = clients.admin_client(settings, "bench-console")
        admin.delete_topics([s.name for s in pipeline_topics(settings)])
    _out.print(
        f"\n{count:,} alerts per round, {rounds} rounds (round r: the console holds r x {count:,}):"
    )
    for name, values in results.items():
        _out.print(f"  {name:<30} median {statistics.median(values):6.2f} s "
                   f"({min(values):.2f}-{max(values):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
