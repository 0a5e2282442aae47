"""What a worker needs before its stages start: the pseudonym key, the rules, sane labels.

Called by ``controlfeed worker`` (``streams.cli.worker``) and, for the rules,
by the console (which explains the rules with the thresholds the worker
uses). Each failure is a ``ControlfeedError`` naming the setting to fix.
"""

from __future__ import annotations

import logging
import secrets

from rules import ConfigError, RulesConfig, load_config
from streams.exceptions import ControlfeedError
from streams.metric_labels import label_problem
from streams.settings import Settings, secret_from_file

__all__ = ["check_labels", "pseudonym_key", "rules_config"]

log = logging.getLogger(__name__)


def pseudonym_key(settings: Settings, demo: bool) -> bytes:
    """The HMAC key from the settings (value, else the first line of its file, read as
    every secret's file is: ``streams.settings.secret_from_file``), or a throwaway one
    with ``demo``.

    Raises ``ControlfeedError`` when there is none, the file cannot be read or is empty.
    """
    if settings.pseudonym_key is not None and settings.pseudonym_key.get_secret_value():
        return settings.pseudonym_key.get_secret_value().encode()
    if settings.pseudonym_key_file is not None:
        key = secret_from_file(
            settings.pseudonym_key_file, "pseudonym key", "CONTROLFEED_PSEUDONYM_KEY_FILE"
        )
        if key:
            return key.encode()
        raise ControlfeedError(
            f"the pseudonym key file {settings.pseudonym_key_file} is empty",
            hint="Write a long random secret into its first line, e.g. `openssl rand -hex 32`.",
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
        # Kept: names the setting that chose the file, which the rules package cannot know.
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
