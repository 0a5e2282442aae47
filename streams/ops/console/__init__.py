"""``controlfeed console``: the operators' console (``docs/console.md``).

``lifecycle`` says what each action does to an alert (pure); ``book`` holds
what one console knows; ``follow`` reads the alerts and alert-state topics
into it; ``users`` keeps logins; ``explain`` puts each rule in plain words;
``app`` is the web app and its JSON API, ``guard`` who may call which route
and the security headers, ``params`` the list routes' filters, ``actions``
the writer to the alert-state topic, ``stored`` the reader of ClickHouse,
``health`` the pipeline's health. The click commands are ``streams.cli.console``.
"""

from __future__ import annotations

__all__: list[str] = []
