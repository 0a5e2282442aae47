"""Who may do what on the pipeline's topics: the ACLs of each principal.

Called by ``controlfeed stack up`` for the local secure broker
(``CONTROLFEED_STACK_SECURE``) and by ``controlfeed kafka acls`` for a production
cluster, as the ``admin`` principal. The names come from the settings, so a
deployment with other topic names gets the same rules. Least privilege, one
principal per role (``docs/security.md``):

- ``producer`` (upstream systems, replay): writes the feed topics; reads nothing.
- ``worker``: reads the feeds, the reference topics and the alert-state topic (its
  sink stores the actions); reads and writes its engine and state topics (and may
  create them, at start) and writes the alerts and the dead letters; its consumer
  groups and transactional ids begin with the worker group's name.
- ``console``: reads the alerts, the venue register and the alert-state topic,
  writes the alert-state topic; its groups begin with ``controlfeed-console``.
- ``downstream`` (grid apps, the health commission, police dispatch): reads the
  alerts, the alert-state topic and the clean topics (``clean.*``, which the
  worker writes), in consumer groups beginning with ``downstream``; never a feed
  or the dead letters, which hold raw ID and phone numbers.
- ``admin``: a super user of the broker (topics, ACLs, users); no ACL needed.

``apply`` is idempotent: creating an ACL that exists changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from confluent_kafka import KafkaException

# confluent_kafka.admin re-exports these public names without an __all__, which
# strict mypy does not follow.
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from streams.exceptions import ControlfeedError
from streams.settings import Settings

__all__ = [
    "CONSOLE_GROUP_PREFIX",
    "DOWNSTREAM_GROUP_PREFIX",
    "PRINCIPALS",
    "acls",
    "apply",
]

PRINCIPALS: Final = ("admin", "worker", "producer", "console", "downstream")
"""The SCRAM users of a secured deployment, one per role."""
DOWNSTREAM_GROUP_PREFIX: Final = "downstream"
"""Consumer groups the ``downstream`` principal may use begin with this."""
CONSOLE_GROUP_PREFIX: Final = "controlfeed-console"

_LITERAL, _PREFIXED = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
Grant = tuple[ResourceType, str, ResourcePatternType, AclOperation]


def _topics(names: Iterable[str], *operations: AclOperation) -> list[Grant]:
    return [(ResourceType.TOPIC, n, _LITERAL, op) for n in names for op in operations]


def _grants(settings: Settings) -> dict[str, list[Grant]]:
    read, write, create = AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE
    feeds = list(settings.feed_topics().values())
    internal = [settings.topic_engine, settings.topic_state]
    group, prefixed = ResourceType.GROUP, _PREFIXED
    return {
        "producer": _topics(feeds, write),
        "worker": [
            *_topics([*feeds, settings.topic_alert_state], read),
            *_topics(internal, read, write, create),
            *_topics([settings.topic_alerts, settings.topic_dead_letter], read, write),
            *_topics(settings.clean_topics().values(), write),
            (group, settings.worker_group, prefixed, read),
            (ResourceType.TRANSACTIONAL_ID, settings.worker_group, prefixed, write),
        ],
        "console": [
            *_topics([settings.topic_alerts, settings.topic_venues], read),
            *_topics([settings.topic_alert_state], read, write),
            (group, CONSOLE_GROUP_PREFIX, prefixed, read),
        ],
        "downstream": [
            *_topics(
                [
                    settings.topic_alerts,
                    settings.topic_alert_state,
                    *settings.clean_topics().values(),
                ],
                read,
            ),
            (group, DOWNSTREAM_GROUP_PREFIX, prefixed, read),
        ],
    }


def acls(settings: Settings) -> list[AclBinding]:
    """Every ACL of every principal but ``admin`` (a super user), as bindings."""
    return [
        AclBinding(
            kind, name, pattern, f"User:{principal}", "*", operation, AclPermissionType.ALLOW
        )
        for principal, grants in _grants(settings).items()
        for kind, name, pattern, operation in grants
    ]


def apply(admin: AdminClient, settings: Settings, timeout: float = 30.0) -> int:
    """Create the ACLs of ``acls`` on the cluster ``admin`` reaches; their number.

    Raises ``ControlfeedError`` when the cluster refuses (e.g. ``admin`` is not a
    super user, or the broker runs no authorizer).
    """
    bindings = acls(settings)
    futures = admin.create_acls(bindings, request_timeout=timeout)
    for binding, future in futures.items():
        try:
            future.result()
        except KafkaException as err:
            raise ControlfeedError(
                f"Kafka refused the ACL {binding.principal} {binding.operation} "
                f"{binding.restype} {binding.name}: {err.args[0].str()}",
                hint="Run it as a super user of a broker with an authorizer "
                "(CONTROLFEED_KAFKA_USERNAME=admin).",
            ) from err
    return len(bindings)
