"""A plain batch reference implementation of docs/rules.md, used by tests as an oracle.

    from tests.oracle import Alert, Thresholds, run_rules
    alerts = run_rules(events)  # events: parsed JSON objects of an event file, in file order

Independent of `streams/` and `schemas/` on purpose: it reads plain dicts.
"""

from tests.oracle.engine import run_rules
from tests.oracle.model import Alert, Thresholds

__all__ = ["Alert", "Thresholds", "run_rules"]
