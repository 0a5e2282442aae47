"""``controlfeed worker``: run the pipeline's worker until stopped.

Registered in ``streams.cli``. Resolves the pseudonym key (refusing to start
without one unless ``--demo-key``), loads the rules configuration, checks
the settings that become metric labels, claims the worker's name, declares
the topics, serves ``/metrics`` and runs the stages in the foreground
(``streams.worker.runtime``). A missing key, an unreadable key file, a bad
rules file, a topic name that cannot be a label, an unreachable broker or a
metrics port that is taken is a ``ControlfeedError`` (message and hint, exit
status 2); a stage that fails later exits with status 1.
"""

from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path

import click
from prometheus_client import start_http_server

from rules import ConfigError, RulesConfig, load_config, tune_gc
from streams.exceptions import ControlfeedError
from streams.metric_labels import label_problem
from streams.settings import Settings
from streams.worker.identity import claim_worker_id
from streams.worker.processes import PORT_FILE, READY_FILE, run_processes
from streams.worker.runtime import ROLES, run_worker
from streams.worker.topics import declare_worker_topics

__all__ = ["check_labels", "pseudonym_key", "rules_config", "worker"]

log = logging.getLogger(__name__)


def pseudonym_key(settings: Settings, demo: bool) -> bytes:
    """The HMAC key from the settings (value, else file), or a throwaway one with ``demo``.

    Raises ``ControlfeedError`` when there is none, the file cannot be read or is empty.
    """
    if settings.pseudonym_key is not None and settings.pseudonym_key.get_secret_value():
        return settings.pseudonym_key.get_secret_value().encode()
    if settings.pseudonym_key_file is not None:
        try:
            key = settings.pseudonym_key_file.read_bytes().strip()
        except OSError as err:
            raise ControlfeedError(
                f"cannot read the pseudonym key file {settings.pseudonym_key_file}: {err.strerror}",
                hint="Point CONTROLFEED_PSEUDONYM_KEY_FILE at a readable file holding the key.",
            ) from err
        if key:
            return key
        raise ControlfeedError(
            f"the pseudonym key file {settings.pseudonym_key_file} is empty",
            hint="Write a long random secret into it, e.g. `openssl rand -hex 32`.",
        )
    if demo:
        log.warning(
            "using a throwaway random pseudonym key (--demo-key): person keys will not "
            "match those of any other run"
        )
        return secrets.token_hex(32).encode()
    raise ControlfeedError(
        "no pseudonym key: the worker will not handle ID numbers without one",
        hint="Set CONTROLFEED_PSEUDONYM_KEY or CONTROLFEED_PSEUDONYM_KEY_FILE (keep the key "
        "apart from the data), or pass --demo-key for a throwaway key.",
    )


def rules_config(settings: Settings) -> RulesConfig:
    """The rules configuration: the defaults, with ``settings.rules_file`` laid over them."""
    try:
        return load_config(settings.rules_file)
    except (ConfigError, OSError) as err:
        raise ControlfeedError(
            f"cannot load the rules file {settings.rules_file}: {err}",
            hint="Fix CONTROLFEED_RULES_FILE or the file (it has the shape of "
            "rules/defaults.toml).",
        ) from err


def check_labels(settings: Settings) -> None:
    """Refuse to start when a setting that becomes a metric label could not be one.

    Topic names label the lag gauges (``streams.metrics``): a name with a long
    run of digits (a run id, a date) or over 64 characters is refused here,
    naming the setting, instead of costing samples once the worker runs.
    Raises ``ControlfeedError``.
    """
    labelled = [*settings.feed_topics().values(), settings.topic_engine]
    for field in settings.topic_fields():
        value = getattr(settings, field)
        problem = label_problem(value) if value in labelled else None
        if problem is not None:
            raise ControlfeedError(
                f"CONTROLFEED_{field.upper()}={value!r} cannot label the worker's metrics: "
                f"{problem}",
                hint="Topic names label the consumer-lag gauges, which must never carry an "
                "id: rename the topic (e.g. without the digit run) or point the setting at "
                "another one.",
            )


def _serve_metrics(host: str, port: int) -> None:
    """Serve ``/metrics``; a worker Prometheus cannot see is not started (``ControlfeedError``)."""
    try:
        start_http_server(port, addr=host)
    except OSError as err:
        raise ControlfeedError(
            f"cannot serve the worker's metrics on {host}:{port}: {err.strerror}",
            hint="Another process holds the port (another worker?): stop it, or set "
            "CONTROLFEED_METRICS_PORT to a free port (and CONTROLFEED_METRICS_HOST to an "
            "address of this host).",
        ) from err


def _configure_logging(level: str) -> None:
    """One line per record on stderr (librdkafka's errors come through ``controlfeed.kafka``)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ControlfeedError(
            f"--loglevel {level!r} is not a log level",
            hint="Use debug, info, warning or error.",
        )
    logging.basicConfig(
        level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    # clickhouse-driver logs each failed connection with a traceback; the sink reports an
    # outage itself, once per retry, in words.
    logging.getLogger("clickhouse_driver").setLevel(max(numeric, logging.ERROR))


def _child(spec: str) -> tuple[Path, int]:
    """``FOLDER:INDEX`` of ``--child`` (set by the parent, never by a user)."""
    folder, _, index = spec.rpartition(":")
    return Path(folder), int(index)


def _run_child(settings: Settings, spec: str, roles: str, unsafe: bool) -> int:
    """One of the parent's processes (``streams.worker.processes``): the key on stdin, the
    metrics on an ephemeral loopback port written for the parent, readiness as a file."""
    folder, index = _child(spec)
    key = sys.stdin.buffer.read().strip()
    if not key:
        raise ControlfeedError(
            "worker process started without a pseudonym key on its standard input",
            hint="Run `controlfeed worker --processes N`; --child is for its own processes.",
        )
    config = rules_config(settings)
    server, _ = start_http_server(0, addr="127.0.0.1")
    (folder / PORT_FILE.format(index=index)).write_text(str(server.server_port))
    tune_gc()

    def ready() -> None:
        log.info("process %d of the worker ready: %s", index, settings.worker_id)
        (folder / READY_FILE.format(index=index)).touch()

    return run_worker(settings, key, config, settings.worker_id, unsafe=unsafe, on_ready=ready,
                      roles=roles.split(","))  # fmt: skip


@click.command()
@click.option("--demo-key", is_flag=True, help="Use a throwaway random pseudonym key.")
@click.option("--loglevel", default="info", show_default=True, help="Log level.")
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes in the group, about one core each "
    "[default: CONTROLFEED_WORKER_PROCESSES, else 1].",
)
@click.option("--unsafe-commit-first", is_flag=True, hidden=True)  # benchmarks/chaos.py only
@click.option("--child", hidden=True)  # FOLDER:INDEX, set by streams.worker.processes
@click.option("--roles", default=",".join(ROLES), hidden=True)  # ditto
@click.pass_obj
def worker(
    settings: Settings,
    demo_key: bool,
    loglevel: str,
    processes: int | None,
    unsafe_commit_first: bool,
    child: str | None,
    roles: str,
) -> None:
    """Consume the feeds and publish an alert for every anomaly (runs until stopped)."""
    _configure_logging(loglevel)
    if child is not None:
        sys.exit(_run_child(settings, child, roles, unsafe_commit_first))
    if processes is not None:
        settings = settings.model_copy(update={"worker_processes": processes})
    key = pseudonym_key(settings, demo_key)
    config = rules_config(settings)
    check_labels(settings)
    name = claim_worker_id(settings.worker_id, settings.worker_group)
    created = declare_worker_topics(settings)
    log.info("topics created: %s", ", ".join(created) or "none")
    try:
        if settings.worker_processes > 1:
            status = run_processes(settings, key, name.name, settings.worker_processes,
                                   loglevel, unsafe=unsafe_commit_first)  # fmt: skip
        else:
            _serve_metrics(settings.metrics_host, settings.metrics_port)
            tune_gc()  # the engines keep minutes of events alive: see rules.tuning
            status = run_worker(settings, key, config, name.name, unsafe=unsafe_commit_first)
    finally:
        name.release()
    sys.exit(status)
