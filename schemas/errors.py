"""The one root of controlfeed's errors: a message for people and what to do about it.

Every error a user or an operator can act on derives from ``ControlfeedError``:
``str(err)`` says what went wrong, ``err.hint`` what to do (one or two
sentences; may be empty). It lives here, in the lowest layer, so ``rules`` and
``sinks`` subclass it without importing ``streams``. The whole tree, with the
module of each class::

    ControlfeedError                 schemas.errors: the root; also raised as is by
    │                                streams modules (settings, CLI commands, clients)
    ├── RulesError                   rules.exceptions: the rules package
    │   ├── ConfigError              a rules configuration file is missing, not TOML,
    │   │                            or has a bad value (the message names file and key)
    │   └── SnapshotError            an engine snapshot cannot be restored; the worker
    │                                rebuilds that partition from its topic instead
    ├── SinkError                    sinks.exceptions: a store (ClickHouse, chDB)
    │   ├── StoreUnavailableError    unreachable or overloaded now; may succeed later
    │   │   └── StoreBusyError       a chDB data path is held by another process
    │   ├── QueryError               the store refused the statement; fails again
    │   └── MissingDependencyError   chDB is not installed and no server is configured
    ├── SinkServiceError             streams.sink.exceptions: the sink's Kafka side
    │   └── UnreadableRecordError    a record that is not what the worker writes to
    │                                its topic; logged and skipped, never stored
    ├── WireError                    streams.wire: a record's headers are not what the
    │                                worker writes (names the header, never the value)
    ├── StackError                   streams.exceptions: the local stack's services
    │   ├── MissingToolError         Java, Maven or a Debian package is not installed
    │   ├── PortInUseError           a port the stack needs is taken by something else
    │   └── ServiceNotReadyError     a service started but never became ready
    ├── ReplayError                  streams.devtools.replay.exceptions: replay cannot go on
    │   ├── ReplayFileError          a file is missing, unreadable, or damaged gzip
    │   └── TopicsMissingError       a feed topic does not exist on the broker
    ├── TopicsError                  streams.kafka.topics: the broker is unreachable, or
    │                                refused to create or describe a topic
    ├── ScenarioError                streams.devtools.scenario.options: an option of
    │                                ``controlfeed generate`` is unusable
    ├── UsersError                   streams.ops.console.users: the console's users file
    │                                cannot be used, or a user cannot be added
    └── NotStoredError               streams.ops.console.stored: ClickHouse cannot answer
                                     the console (its message is shown in the browser)

Not errors, and so not in the tree (each is caught where it is raised):
``StopRequested`` (streams.kafka.transactions: a stop signal ending a retry
loop), ``_Stuck`` and ``_Doomed`` (the same module: a transaction call that
hangs, a transaction to abort), ``ActionRefused`` (streams.ops.console.lifecycle:
a ``ValueError`` answered as HTTP 400 or 409, never a crash).

``streams.cli.main`` catches ``ControlfeedError`` once and prints message and
hint (as JSON on stdout with ``--json``), exit status 2, never a traceback;
anything else is a bug and keeps its traceback. A family's errors travel up
as they are; code converts one only to add a better message or hint.
"""

from __future__ import annotations

__all__ = ["ControlfeedError"]


class ControlfeedError(Exception):
    """Base of every error a user can act on (the tree is in the module docstring).

    Raised by any layer; caught by ``streams.cli.main`` (and by callers that can
    do better, e.g. the sink service retrying a ``StoreUnavailableError``).
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint
        """One or two sentences saying what to do; may be empty."""
