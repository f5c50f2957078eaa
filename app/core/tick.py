"""Time-based transitions: each module registers what the clock moves.

``flask --app wsgi tick`` runs them all; each handler must be idempotent
(running tick twice at the same time changes nothing the second time).
"""

from __future__ import annotations

from collections.abc import Callable

HANDLERS: list[tuple[str, Callable[[], int]]] = []


def on_tick(name: str):
    """Register a handler returning how many things it moved."""

    def decorate(fn):
        HANDLERS.append((name, fn))
        return fn

    return decorate


def run_tick() -> dict[str, int]:
    """Run every handler (the caller commits)."""
    return {name: fn() for name, fn in HANDLERS}
