"""``controlfeed worker``: run the pipeline's Faust worker until stopped.

Registered in ``streams.cli``. Resolves the pseudonym key (refusing to start
without one unless ``--demo-key``), loads the rules configuration, declares
the topics, serves ``/metrics`` and runs the Faust worker in the foreground.
A missing key, an unreadable key file, a bad rules file or an unreachable
broker is a ``ControlfeedError`` (message and hint, exit status 2).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import click
from prometheus_client import start_http_server

from rules import ConfigError, RulesConfig, load_config, tune_gc
from streams.exceptions import ControlfeedError
from streams.settings import Settings
from streams.worker.topics import declare_worker_topics

__all__ = ["pseudonym_key", "rules_config", "worker"]

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


def _serve_metrics(host: str, port: int) -> None:
    try:
        start_http_server(port, addr=host)
    except OSError as err:
        log.warning("metrics not served: %s:%d: %s", host, port, err.strerror)


@click.command()
@click.option("--demo-key", is_flag=True, help="Use a throwaway random pseudonym key.")
@click.option("--loglevel", default="info", show_default=True, help="Faust log level.")
@click.option(
    "--datadir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Faust's working folder [default: <data_dir>/worker].",
)
@click.pass_obj
def worker(settings: Settings, demo_key: bool, loglevel: str, datadir: Path | None) -> None:
    """Consume the feeds and publish an alert for every anomaly (runs until stopped)."""
    key = pseudonym_key(settings, demo_key)
    config = rules_config(settings)
    created = declare_worker_topics(settings)
    folder = datadir or settings.data_dir / "worker"
    folder.mkdir(parents=True, exist_ok=True)
    # faust is imported only here: at import it reads ``--loop`` from sys.argv,
    # which would break ``controlfeed replay --loop N``.
    import faust

    from streams.worker.app import build_app

    app = build_app(settings, key, config, folder)
    _serve_metrics(settings.metrics_host, settings.metrics_port)
    log.info("topics created: %s", ", ".join(created) or "none")
    runner = faust.Worker(app, loglevel=loglevel)
    # Faust's start-up spinner, kept for --loglevel warning and above, sets the
    # root logger to DEBUG: every debug call of aiokafka then builds a record,
    # which cost the worker nine tenths of its speed. No spinner, no DEBUG.
    runner.spinner = None
    tune_gc()  # the engines keep minutes of events alive: see rules.tuning
    runner.execute_from_commandline()
