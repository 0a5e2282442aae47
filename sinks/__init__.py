"""Writers of events and alerts to ClickHouse; knows ``schemas``, never ``streams``."""

__all__: list[str] = []
