"""Benchmarks run by hand from the checkout (``python -m benchmarks.<name>``); not shipped."""

__all__: list[str] = []
