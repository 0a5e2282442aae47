"""Pydantic models of the input feeds and of alerts; knows nothing of Kafka or ClickHouse."""

__all__: list[str] = []
