"""The README's main job, ``make demo`` (``controlfeed demo --console``), as a user runs it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading

import httpx
from clickhouse_driver import Client

from streams.devtools.demo import SAMPLE
from streams.devtools.stack import Stack
from streams.kafka.clients import admin_client
from streams.settings import Settings
from tests.integration.helpers import CLI, free_port


def test_the_demo_raises_the_sample_alerts_stores_them_and_serves_them_in_the_console(
    stack: Stack, settings: Settings
) -> None:
    labelled = len(json.loads(SAMPLE.with_suffix(".labels.json").read_text())["alerts"])
    port = free_port()
    env = {**os.environ, "COLUMNS": "200", "CONTROLFEED_CONSOLE_PORT": str(port)}
    proc = subprocess.Popen([*CLI, "demo", "--console"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    timer = threading.Timer(400, proc.kill)  # a hung demo fails the test, never the suite
    timer.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Demo login:"):
                break
        out = "".join(lines)
        login = re.search(r"Demo login: demo / (\S+)", out)
        assert login, out[-3000:]
        assert f"Console: http://127.0.0.1:{port}/" in out
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            me = client.post("/api/login", json={"name": "demo", "password": login.group(1)})
            assert me.status_code == 200, me.text
            assert me.json()["role"] == "operator"
            alerts = client.get("/api/alerts?limit=500").json()
            assert alerts["total"] == labelled
            # The demo's console reads the run's database on the local server: history and
            # evidence are there too.
            assert client.get("/api/history?limit=1").json()["total"] == labelled
            detail = client.get(f"/api/alerts/{alerts['alerts'][0]['alert_id']}").json()
            assert detail["evidence"], detail["evidence_note"]
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        rest, _ = proc.communicate(timeout=60)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
    out += rest
    assert proc.returncode == 0, out[:4000] + "\n...\n" + out[-1000:]
    assert "3 of 3 checks passed" in out
    assert f"{labelled} alerts, {labelled} labelled: equal to the labels" in out
    assert "each valid event once" in out
    assert "controlfeed query" in out
    assert "throwaway pseudonym key" in out
    assert "console stopped; deleting the run's topics" in out
    run = re.search(r"demo\.([0-9a-f]{8})\.", out)
    assert run, out[-3000:]
    topics = admin_client(settings, "test-demo").list_topics(timeout=10).topics
    assert not [t for t in topics if t.startswith(f"demo.{run.group(1)}.")]
    assert "CONTROLFEED_CLICKHOUSE_URL=clickhouse://127.0.0.1:" in out
    server = Client.from_url(settings.stack_clickhouse_url)
    databases = server.execute("SHOW DATABASES")
    server.disconnect()
    assert (f"demo_{run.group(1)}",) not in databases  # dropped with the topics
