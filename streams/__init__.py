"""controlfeed's stream layer: the Faust app and agents, the local stack, the CLI."""

__all__: list[str] = []
