"""The rubric's frozen dataclasses: Rubric, Criterion, Veto, Band."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from app.reviews.texts import Text

KINDS = ("review", "performance")
AGGREGATIONS = ("mean", "median", "trimmed_mean")
NORMALIZATIONS = ("none", "zscore", "calibrated")
EFFECTS = ("exclude", "hold")
TRIGGERS = ("any", "majority")
STEPS = (Decimal(1), Decimal("0.5"))

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")

# Defaults for keys a rubric may leave out (DOMAIN.md: ≥3 experts, trim at ≥5 scores).
DEFAULTS = {
    "min_reviews": 3,
    "aggregation": "mean",
    "trim_min_n": 5,
    "normalization": "none",
    "disagreement_range": 30,
}
TOP_KEYS = {"id", "version", "kind", "title", "criteria", "veto", "bands", "headings", *DEFAULTS}
CRITERION_KEYS = {
    "key",
    "title",
    "group",
    "subgroup",
    "source",
    "weight",
    "min",
    "max",
    "step",
    "required",
    "comment_required_below",
    "levels",
}
VETO_KEYS = {"key", "title", "effect", "trigger"}
BAND_KEYS = {"min", "label"}


@dataclass(frozen=True)
class Criterion:
    """One scored criterion of a rubric."""

    key: str
    title: Text
    weight: Decimal
    min: Decimal
    max: Decimal
    step: Decimal = Decimal(1)
    required: bool = True
    comment_required_below: Decimal | None = None
    levels: tuple[tuple[Decimal, Text], ...] = ()
    group: str | None = None
    subgroup: str | None = None
    source: str | None = None

    def fraction(self, score: Decimal) -> Decimal:
        """Return the score's position within [min, max] as a fraction 0–1."""
        return (score - self.min) / (self.max - self.min)

    def is_on_step(self, score: Decimal) -> bool:
        """Return whether the score lies on the step grid that starts at min."""
        return (score - self.min) % self.step == 0


@dataclass(frozen=True)
class Veto:
    """A veto item (一票否决) a reviewer may raise."""

    key: str
    title: Text
    effect: str  # "exclude" or "hold"
    trigger: str  # "any" or "majority"


@dataclass(frozen=True)
class Band:
    """A recommendation band: totals at or above ``min`` (down to the next band)."""

    min: Decimal
    label: Text


@dataclass(frozen=True)
class Rubric:
    """A validated score sheet (review or performance)."""

    id: str
    version: int
    kind: str
    title: Text
    criteria: tuple[Criterion, ...]
    bands: tuple[Band, ...]
    vetoes: tuple[Veto, ...] = ()
    min_reviews: int = 3
    aggregation: str = "mean"
    trim_min_n: int = 5
    normalization: str = "none"
    disagreement_range: Decimal = Decimal(30)
    headings: tuple[tuple[str, str], ...] = ()

    def criterion(self, key: str) -> Criterion:
        """Return the criterion with ``key`` or raise KeyError."""
        for c in self.criteria:
            if c.key == key:
                return c
        raise KeyError(key)

    def veto(self, key: str) -> Veto:
        """Return the veto item with ``key`` or raise KeyError."""
        for v in self.vetoes:
            if v.key == key:
                return v
        raise KeyError(key)

    @property
    def criterion_keys(self) -> tuple[str, ...]:
        """Keys of the criteria in file order."""
        return tuple(c.key for c in self.criteria)

    @property
    def veto_keys(self) -> tuple[str, ...]:
        """Keys of the veto items in file order."""
        return tuple(v.key for v in self.vetoes)

    def band_for(self, total: Decimal | None) -> Band | None:
        """Return the highest band whose min the total reaches (None for no total)."""
        if total is None:
            return None
        for band in self.bands:
            if total >= band.min:
                return band
        return None

    def heading(self, name: str, lang: str = "zh") -> str:
        """Return a group/subgroup heading in ``lang``, falling back to the Chinese."""
        if lang == "en":
            return dict(self.headings).get(name, name)
        return name

    def group_weight(self, group: str) -> Decimal:
        """Return the summed weight of the criteria under ``group``."""
        return sum((c.weight for c in self.criteria if c.group == group), Decimal(0))


class RubricError(ValueError):
    """A rubric file failed validation; ``problems`` lists every fault found."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems
