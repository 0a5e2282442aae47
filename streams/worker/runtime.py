"""The worker's runtime: its stages on threads of their own, until a signal stops them.

Called by ``controlfeed worker`` once the key, the rules, the topics and the
metrics server are ready. Three stages (``streams.kafka.stage.Stage``) run side by
side, each with its own consumer group and, for the first two, its own
transactional producer; they share nothing but Kafka:

- ingest (``streams.worker.ingest_stage``): input topics -> engine topic and
  dead letters;
- engine (``streams.worker.engine_stage``): engine topic -> alerts and
  checkpoints;
- sink (``streams.sink.service``, when ``settings.sink_enabled``): engine,
  alerts and dead-letter topics -> ClickHouse.

SIGUSR1 writes every thread's stack to stderr (to see where a stage waits).
SIGTERM and SIGINT ask every stage to stop: each commits what it has done
and leaves its group. A stage that fails (a bug, or Kafka refusing the worker
for good, e.g. missing rights) stops the others too and the worker exits with
status 1, for its supervisor to restart it; a broker or ClickHouse outage is
not a failure: the stages wait for it and go on.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import threading
import time
from collections.abc import Callable, Collection
from types import FrameType
from typing import Final

from rules import RulesConfig
from streams.kafka.stage import Stage
from streams.settings import Settings
from streams.worker.engine_stage import EngineStage
from streams.worker.ingest_stage import IngestStage

__all__ = ["ROLES", "STOP_TIMEOUT_S", "run_worker"]

log = logging.getLogger(__name__)

ROLES: Final = ("ingest", "engine", "sink")
"""The stages a worker process can run; one process runs all three."""
STOP_TIMEOUT_S: Final = 60.0
"""How long the stages get to commit and leave their groups once asked to stop."""


def run_worker(
    settings: Settings,
    key: bytes,
    config: RulesConfig,
    worker_id: str,
    *,
    unsafe: bool = False,
    on_ready: Callable[[], None] | None = None,
    roles: Collection[str] = ROLES,
) -> int:
    """Run the stages until a signal or a failure; the exit status (0, or 1 on a failure).

    ``unsafe``: the chaos run's negative control (``EngineStage``); never in production.
    ``on_ready``: called once every stage has its first assignment, instead of the
    ``Ready:`` log line (a process of ``--processes`` tells its parent).
    ``roles``: the stages to run (``ROLES``; a process of ``--processes`` may run some).
    """
    stop = threading.Event()
    stages: list[Stage] = []
    if "ingest" in roles:
        stages.append(IngestStage(settings, key, config, worker_id, stop))
    if "engine" in roles:
        stages.append(EngineStage(settings, config, worker_id, stop, unsafe=unsafe))
    if "sink" in roles and settings.sink_enabled:
        from streams.sink import SinkService  # the sink's store drivers load only if used

        stages.append(SinkService(settings, worker_id, stop))
    failed: list[str] = []

    def guarded(stage: Stage) -> Callable[[], None]:
        def body() -> None:
            try:
                stage.run()
            except Exception:
                log.exception("the %s stage failed; the worker stops", stage.name)
                failed.append(stage.name)
                stop.set()

        return body

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: the worker stops (stages commit and leave their groups)",
                 signal.Signals(signum).name)  # fmt: skip
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    # `kill -USR1 <pid>` writes every thread's stack to stderr: where a stuck stage waits.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    threads = [
        threading.Thread(target=guarded(s), name=f"controlfeed-{s.name}", daemon=True)
        for s in stages
    ]
    for thread in threads:
        thread.start()
    announced = False
    while not stop.wait(0.2):
        if not announced and all(s.ready.is_set() for s in stages if s.needed_for_ready):
            announced = True
            if on_ready is not None:
                on_ready()
            else:
                log.info("Ready: worker %s, stages %s, group %s", worker_id,
                         ", ".join(s.name for s in stages), settings.worker_group)  # fmt: skip
        if not all(t.is_alive() for t in threads):
            stop.set()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        log.warning("stages still busy after %.0f s, leaving anyway: %s", STOP_TIMEOUT_S,
                    ", ".join(stuck))  # fmt: skip
    return 1 if failed else 0
