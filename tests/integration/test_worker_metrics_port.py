"""A worker whose metrics port is taken stops, naming the port and the variable to change.

Running on without ``/metrics`` would leave Prometheus blind (``WorkerDown``
fires while the worker works) and ``controlfeed status`` reading whatever
holds the port. Needs the broker: the worker declares its topics first.
"""

from __future__ import annotations

import socket
import subprocess

from streams.settings import PROJECT_ROOT, Settings
from tests.integration.helpers import CLI, worker_env


def test_a_taken_metrics_port_stops_the_worker_with_the_variable_named(
    worker_settings: Settings,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**worker_env(worker_settings), "CONTROLFEED_METRICS_PORT": str(port)}

        done = subprocess.run([*CLI, "worker", "--demo-key"], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    err = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stderr
    assert f"cannot serve the worker's metrics on 127.0.0.1:{port}" in err
    assert "CONTROLFEED_METRICS_PORT" in err and "Traceback" not in err
