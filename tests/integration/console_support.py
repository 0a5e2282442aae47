"""Helpers of the console's tests: a running ``controlfeed console``, logins, alerts to send."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from schemas.alerts import Alert, alert_id
from streams.kafka import clients
from streams.ops.console.users import Users
from streams.settings import PROJECT_ROOT, Settings
from tests.integration.helpers import CLI, free_port, topic_env

T0 = datetime(2022, 10, 14, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
# Not after a decimal point: the fraction of a float (a time, a rate) is not a phone number.
ID_SHAPED = re.compile(rb"(?<![0-9.])[0-9]{17}[0-9X](?![0-9])")
PHONE_SHAPED = re.compile(rb"(?<![0-9.])1[3-9][0-9]{9}(?![0-9])")


def make_alert(n: int, rule: str = "fever", severity: str = "warning", **extra: str) -> Alert:
    """A valid alert about a checkpoint, ``n`` minutes after ``T0``."""
    when = T0 + timedelta(minutes=n)
    evidence = (f"ev-{n:06d}",)
    fields: dict[str, object] = {
        "checkpoint_id": extra.pop("checkpoint_id", "jinjiguan-toll"),
        "grid": extra.pop("grid", "qingjiang-canping"),
        "person_masked": "5***************1X",
        "message": extra.pop("message", f"{rule} #{n}"),
    }
    return Alert(
        alert_id=alert_id(rule, severity, evidence, when, str(fields["checkpoint_id"])),
        rule=rule, severity=severity, subject="checkpoint", event_time=when,  # type: ignore[arg-type]
        evidence=evidence, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def send_alerts(settings: Settings, alerts: list[Alert]) -> None:
    """Put ``alerts`` on the alerts topic as the worker would (keyed by subject)."""
    producer = clients.producer(settings, "test-console-alerts")
    for alert in alerts:
        producer.produce(settings.topic_alerts, alert.model_dump_json().encode(),
                         (alert.checkpoint_id or alert.alert_id).encode())  # fmt: skip
    assert producer.flush(30) == 0


def add_users(path: Path) -> None:
    """An operator ``op``, a viewer ``view`` and an admin ``boss``, all with ``PASSWORD``."""
    users = Users(path)
    for name, role in (("op", "operator"), ("view", "viewer"), ("boss", "admin")):
        users.add(name, role, PASSWORD)


class Console:
    """One ``controlfeed console`` process of a test."""

    def __init__(
        self, settings: Settings, folder: Path, port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.env = env or {}
        self.folder = folder
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"console-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.responses: list[bytes] = []
        """Every response body the test's clients received (scanned for IDs and phones)."""
        self._clients: list[httpx.Client] = []

    def start(self, timeout: float = 60) -> None:
        env = {
            **os.environ, **topic_env(self.settings),
            "CONTROLFEED_CONSOLE_PORT": str(self.port),
            "CONTROLFEED_CONSOLE_USERS_FILE": str(self.folder / "users.json"),
            "CONTROLFEED_DATA_DIR": str(self.folder / "data"),
            "CONTROLFEED_CLICKHOUSE_URL": "",  # no evidence store unless a test gives one
            **self.env,
        }  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([*CLI, "console", "--loglevel", "info"], cwd=PROJECT_ROOT,
                                         env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).json()["ready"]:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.2)

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self, user: str | None = None) -> httpx.Client:
        """An HTTP client of this console (logged in as ``user``), recording its responses."""

        def keep(response: httpx.Response) -> None:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                return  # endless; the stream tests read it themselves
            response.read()
            self.responses.append(response.content)

        client = httpx.Client(base_url=self.url, timeout=10, event_hooks={"response": [keep]})
        self._clients.append(client)
        if user is not None:
            me = client.post("/api/login", json={"name": user, "password": PASSWORD})
            assert me.status_code == 200, me.text
            client.headers["x-csrf-token"] = me.json()["csrf"]
        return client


@contextmanager
def running(settings: Settings, folder: Path) -> Iterator[Console]:
    """A console for the test with the users of ``add_users``, stopped afterwards; then no
    response the test's clients received may hold an ID- or phone-shaped number."""
    add_users(folder / "users.json")
    console = Console(settings, folder)
    console.start()
    try:
        yield console
    finally:
        console.stop()
    for body in console.responses:
        assert not ID_SHAPED.search(body) and not PHONE_SHAPED.search(body), body[:300]


def wait_for(predicate: object, timeout: float = 10.0, every: float = 0.05) -> float:
    """Seconds until ``predicate()`` held; fails the test after ``timeout``."""
    assert callable(predicate)
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(every)
    return time.monotonic() - started
