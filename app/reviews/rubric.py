"""Rubric files: TOML score sheets parsed and validated into frozen dataclasses.

The format is documented in ``rubrics/README.md``. ``load_rubric`` either returns a
``Rubric`` or raises ``RubricError`` listing every problem found, so an author fixes a
file in one pass instead of one error per run.
"""

from __future__ import annotations

import hashlib
import tomllib
from decimal import Decimal

from app.reviews.rubric_parser import Parser
from app.reviews.rubric_types import (
    AGGREGATIONS,
    EFFECTS,
    KINDS,
    NORMALIZATIONS,
    STEPS,
    TRIGGERS,
    Band,
    Criterion,
    Rubric,
    RubricError,
    Veto,
)
from app.reviews.texts import Text, say

__all__ = [
    "AGGREGATIONS",
    "EFFECTS",
    "KINDS",
    "NORMALIZATIONS",
    "STEPS",
    "TRIGGERS",
    "Band",
    "Criterion",
    "Rubric",
    "RubricError",
    "Text",
    "Veto",
    "check_rubric",
    "load_rubric",
    "rubric_sha256",
]


def rubric_sha256(data: bytes) -> str:
    """Return the hex sha256 of the rubric file's exact bytes (the snapshot pin)."""
    return hashlib.sha256(data).hexdigest()


def check_rubric(data: bytes, lang: str = "zh") -> list[str]:
    """Return every problem in the rubric file (an empty list when it is valid)."""
    try:
        load_rubric(data, lang)
    except RubricError as exc:
        return exc.problems
    return []


def load_rubric(data: bytes, lang: str = "zh") -> Rubric:
    """Parse and validate rubric TOML bytes; raise RubricError listing every problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RubricError([say(lang, "utf8")]) from None
    try:
        # Decimal floats keep weights like 12.5 exact when they are summed to 100.
        raw = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RubricError([say(lang, "toml", err=exc)]) from None
    if not isinstance(raw, dict):  # pragma: no cover - tomllib always returns a table
        raise RubricError([say(lang, "toml", err=type(raw).__name__)])
    return Parser(lang).rubric(raw)
