"""Where ``controlfeed status`` reads from: the worker's ``/metrics`` and Prometheus.

Called by ``streams.cli.status``. The worker is required: when it does not
answer, ``scrape_worker`` raises ``ControlfeedError`` (exit status 2) saying
what to do. Prometheus is optional: ``alerts_last_hour`` returns ``None`` and a
reason when it cannot answer, and the status falls back to the worker's
counters.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Final

from streams.exceptions import ControlfeedError
from streams.ops.status.report import AlertCounts, Snapshot, parse_snapshot

__all__ = ["ALERTS_PROMQL", "alerts_last_hour", "base_url", "scrape_worker"]

ALERTS_PROMQL: Final = "sum by (rule, severity) (increase(controlfeed_alerts_total[1h]))"
"""Alerts of the last hour per rule and severity, over every worker Prometheus scrapes."""


def base_url(text: str, option: str, path: str = "") -> str:
    """``text`` (``host:port`` or ``http[s]://host:port[/path]``) as an http(s) URL, with
    ``path`` when it has none; ``ControlfeedError`` naming ``option`` when it is not one.

    Called by ``controlfeed status`` for ``--url`` and ``--prometheus-url``.
    """
    url = text if "://" in text else f"http://{text}"
    parts = urllib.parse.urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ControlfeedError(
            f"{option} {text!r} is not an http(s) URL",
            hint=f"Write it as {option} http://HOST:PORT{path} (or HOST:PORT).",
        )
    return url.rstrip("/") if parts.path not in ("", "/") else url.rstrip("/") + path


def scrape_worker(url: str, timeout: float = 3.0) -> Snapshot:
    """One scrape of the worker's metrics at ``url`` (``http://HOST:PORT/metrics``).

    Raises ``ControlfeedError`` when nothing answers there, or when what
    answers does not serve Prometheus text.
    """
    taken_at = time.time()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (http(s) only)
            text = resp.read().decode("utf-8")
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ControlfeedError(
            f"the worker is not reachable: nothing answers {url} ({reason})",
            hint="Start it with `controlfeed worker` (or check its log), or set "
            "CONTROLFEED_METRICS_PORT to the port it serves /metrics on (--url for a "
            "worker on another host).",
        ) from err
    try:
        return parse_snapshot(text, taken_at)
    except ValueError as err:
        raise ControlfeedError(
            f"{url} does not serve Prometheus metrics: {err}",
            hint="Another program uses the port: set CONTROLFEED_METRICS_PORT to the worker's.",
        ) from err


def alerts_last_hour(prometheus_url: str, timeout: float = 3.0) -> tuple[AlertCounts | None, str]:
    """Alerts of the last hour from Prometheus, or ``None`` and why it could not say."""
    query = urllib.parse.urlencode({"query": ALERTS_PROMQL})
    url = f"{prometheus_url}/api/v1/query?{query}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (fixed http URL)
            body = json.load(resp)
        results = body["data"]["result"]
        counts = {
            (r["metric"]["rule"], r["metric"]["severity"]): round(float(r["value"][1]))
            for r in results
        }
    except (urllib.error.URLError, OSError) as err:
        return None, f"Prometheus is not reachable at {prometheus_url} ({err})"
    except (ValueError, KeyError, TypeError) as err:
        return None, f"Prometheus at {prometheus_url} gave an unexpected answer ({err!r})"
    note = f"Prometheus at {prometheus_url}: increase(controlfeed_alerts_total[1h])"
    return AlertCounts("prometheus", "last 1h", note, {k: n for k, n in counts.items() if n}), ""
