"""Validation of rubric TOML documents: every fault is collected, none stops the check."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.reviews.rubric_types import (
    AGGREGATIONS,
    BAND_KEYS,
    CRITERION_KEYS,
    DEFAULTS,
    EFFECTS,
    KEY,
    KINDS,
    NORMALIZATIONS,
    SLUG,
    STEPS,
    TOP_KEYS,
    TRIGGERS,
    VETO_KEYS,
    Band,
    Criterion,
    Rubric,
    RubricError,
    Veto,
)
from app.reviews.texts import Text, language_name, plain, say


def _num(value: Any) -> Decimal | None:
    """Return a finite Decimal for a TOML int/float, None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


class Parser:
    """Collects problems while building a Rubric, so all of them are reported at once."""

    def __init__(self, lang: str):
        self.lang = lang
        self.problems: list[str] = []

    def add(self, where: str, code: str, **kw: Any) -> None:
        """Record one problem at location ``where``."""
        message = say(self.lang, code, **kw)
        self.problems.append(f"{where}: {message}" if where else message)

    def unknown(self, where: str, table: dict, allowed: set[str]) -> None:
        """Record every key of ``table`` that is not in ``allowed``."""
        for key in table:
            if key not in allowed:
                self.add(where, "unknown", key=key)

    def string(self, where: str, table: dict, key: str, *, required: bool = True) -> str | None:
        """Return a non-empty string value, recording a problem otherwise."""
        if key not in table:
            if required:
                self.add(where, "missing", key=key)
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.add(where, "string", key=key)
            return None
        return value

    def number(self, where: str, table: dict, key: str, default: Any = None) -> Decimal | None:
        """Return a number value (or its default), recording a problem otherwise."""
        if key not in table:
            if default is None:
                self.add(where, "missing", key=key)
            return None if default is None else Decimal(default)
        value = _num(table[key])
        if value is None:
            self.add(where, "number", key=key)
        return value

    def integer(self, where: str, table: dict, key: str, default: int | None = None) -> int | None:
        """Return an integer value (or its default), recording a problem otherwise."""
        if key not in table:
            if default is None:
                self.add(where, "missing", key=key)
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, "integer", key=key)
            return None
        return value

    def choice(self, where: str, table: dict, key: str, choices: tuple[str, ...]) -> str | None:
        """Return a value that must be one of ``choices`` (default: the DEFAULTS entry)."""
        value = table.get(key, DEFAULTS.get(key))
        if value is None:
            self.add(where, "missing", key=key)
        elif value not in choices:
            self.add(where, "choice", key=key, value=value, choices=" | ".join(choices))
            return None
        return value

    def text(self, where: str, table: dict, key: str) -> Text | None:
        """Return a bilingual ``{zh, en}`` text, recording missing translations."""
        if key not in table:
            self.add(where, "missing", key=f"{key}.zh / {key}.en")
            return None
        value = table[key]
        if not isinstance(value, dict):
            self.add(where, "text", key=key)
            return None
        self.unknown(where, {f"{key}.{k}": v for k, v in value.items()}, {f"{key}.zh", f"{key}.en"})
        parts = {}
        for code in ("zh", "en"):
            part = value.get(code)
            if not isinstance(part, str) or not part.strip():
                name = language_name(self.lang, code)
                self.add(where, "translation", key=key, language=name, part=code)
            else:
                parts[code] = part
        return Text(**parts) if len(parts) == 2 else None

    def tables(self, raw: dict, key: str) -> list[dict]:
        """Return an array of tables, recording a problem if it has another shape."""
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            self.add("", "array", key=key)
            return []
        return value

    def rubric(self, raw: dict) -> Rubric:
        """Validate the whole document and return the Rubric or raise RubricError."""
        self.unknown("", raw, TOP_KEYS)
        rubric_id = self.string("", raw, "id")
        if rubric_id is not None and not SLUG.match(rubric_id):
            self.add("", "slug", value=rubric_id)
        version = self.integer("", raw, "version")
        if version is not None and version < 1:
            self.add("", "at_least", key="version", limit=1)
        kind = self.choice("", raw, "kind", KINDS)
        title = self.text("", raw, "title")
        min_reviews = self.integer("", raw, "min_reviews", DEFAULTS["min_reviews"])
        if min_reviews is not None and min_reviews < 1:
            self.add("", "at_least", key="min_reviews", limit=1)
        aggregation = self.choice("", raw, "aggregation", AGGREGATIONS)
        trim_min_n = self.integer("", raw, "trim_min_n", DEFAULTS["trim_min_n"])
        # Dropping the highest and lowest must leave at least one total.
        if trim_min_n is not None and trim_min_n < 3:
            self.add("", "at_least", key="trim_min_n", limit=3)
        normalization = self.choice("", raw, "normalization", NORMALIZATIONS)
        spread = self.number("", raw, "disagreement_range", DEFAULTS["disagreement_range"])
        if spread is not None and not 0 <= spread <= 100:
            self.add("", "range_100", key="disagreement_range")
        headings = self.headings(raw)

        criteria_tables = self.tables(raw, "criteria")
        veto_tables = self.tables(raw, "veto")
        criteria = [self.criterion(i, t) for i, t in enumerate(criteria_tables, 1)]
        vetoes = [self.veto(i, t) for i, t in enumerate(veto_tables, 1)]
        bands = self.bands(self.tables(raw, "bands"))
        if not criteria_tables:
            self.add("", "empty", key="[[criteria]]")
        self.duplicates({"criteria": criteria_tables, "veto": veto_tables})
        weights = [_num(t.get("weight")) for t in criteria_tables]
        if weights and None not in weights and sum(weights) != 100:
            self.add("", "weights", total=plain(sum(weights)))

        if self.problems:
            raise RubricError(self.problems)
        return Rubric(
            id=rubric_id,
            version=version,
            kind=kind,
            title=title,
            criteria=tuple(criteria),
            bands=tuple(bands),
            vetoes=tuple(vetoes),
            min_reviews=min_reviews,
            aggregation=aggregation,
            trim_min_n=trim_min_n,
            normalization=normalization,
            disagreement_range=spread,
            headings=headings,
        )

    def headings(self, raw: dict) -> tuple[tuple[str, str], ...]:
        """Return the optional Chinese→English heading translations."""
        value = raw.get("headings", {})
        if not isinstance(value, dict) or not all(
            isinstance(v, str) and v.strip() for v in value.values()
        ):
            self.add("", "string", key="headings.*")
            return ()
        return tuple(value.items())

    def criterion(self, index: int, table: dict) -> Criterion | None:
        """Validate one ``[[criteria]]`` table."""
        where = f"criteria[{index}]" + (
            f" ({table['key']})" if isinstance(table.get("key"), str) else ""
        )
        self.unknown(where, table, CRITERION_KEYS)
        key = self.string(where, table, "key")
        if key is not None and not KEY.match(key):
            self.add(where, "keyname", value=key)
        title = self.text(where, table, "title")
        group = self.string(where, table, "group", required=False)
        subgroup = self.string(where, table, "subgroup", required=False)
        source = self.string(where, table, "source", required=False)
        if source is not None and not KEY.match(source):
            self.add(where, "keyname", value=source)
        weight = self.number(where, table, "weight")
        if weight is not None and weight <= 0:
            self.add(where, "positive", key="weight")
        low = self.number(where, table, "min")
        high = self.number(where, table, "max")
        step = self.number(where, table, "step", 1)
        if step is not None and step not in STEPS:
            self.add(where, "step", value=plain(step))
            step = None
        required = table.get("required", True)
        if not isinstance(required, bool):
            self.add(where, "boolean", key="required")
        if low is not None and high is not None and low >= high:
            self.add(where, "min_max", min=plain(low), max=plain(high))
            low = high = None
        shape = None
        if low is not None and high is not None and step is not None:
            shape = Criterion(key or "", title, Decimal(1), low, high, step)
            if not shape.is_on_step(high):
                self.add(
                    where,
                    "off_step",
                    key="max",
                    value=plain(high),
                    min=plain(low),
                    step=plain(step),
                )
        threshold = None
        if "comment_required_below" in table:
            threshold = self.number(where, table, "comment_required_below")
        if shape is not None and threshold is not None and not low < threshold <= high:
            self.add(
                where,
                "out_of_range",
                key="comment_required_below",
                value=plain(threshold),
                min=plain(low),
                max=plain(high),
            )
        levels = self.levels(where, table.get("levels", {}), shape)
        if shape is None or key is None or title is None or weight is None or weight <= 0:
            return None
        return Criterion(
            key,
            title,
            weight,
            low,
            high,
            step,
            required,
            threshold,
            levels,
            group,
            subgroup,
            source,
        )

    def levels(
        self, where: str, value: Any, c: Criterion | None
    ) -> tuple[tuple[Decimal, Text], ...]:
        """Validate the optional level descriptors: score → text or {zh, en}."""
        if not isinstance(value, dict):
            self.add(where, "text", key="levels")
            return ()
        out = []
        for raw_key, descriptor in value.items():
            try:
                point = Decimal(raw_key.strip())
            except ArithmeticError:
                point = None
            if point is None or not point.is_finite():
                self.add(where, "level_key", value=raw_key)
                continue
            if isinstance(descriptor, str) and descriptor.strip():
                text = Text(descriptor, descriptor)
            else:
                text = self.text(where, {f"levels.{raw_key}": descriptor}, f"levels.{raw_key}")
            if c is not None and not c.min <= point <= c.max:
                self.add(
                    where,
                    "out_of_range",
                    key="levels",
                    value=raw_key,
                    min=plain(c.min),
                    max=plain(c.max),
                )
            elif c is not None and not c.is_on_step(point):
                self.add(
                    where,
                    "off_step",
                    key="levels",
                    value=raw_key,
                    min=plain(c.min),
                    step=plain(c.step),
                )
            if text is not None:
                out.append((point, text))
        return tuple(sorted(out, key=lambda pair: pair[0]))

    def veto(self, index: int, table: dict) -> Veto | None:
        """Validate one ``[[veto]]`` table."""
        where = f"veto[{index}]" + (
            f" ({table['key']})" if isinstance(table.get("key"), str) else ""
        )
        self.unknown(where, table, VETO_KEYS)
        key = self.string(where, table, "key")
        if key is not None and not KEY.match(key):
            self.add(where, "keyname", value=key)
        title = self.text(where, table, "title")
        effect = self.choice(where, table, "effect", EFFECTS)
        trigger = self.choice(where, table, "trigger", TRIGGERS)
        if None in (key, title, effect, trigger):
            return None
        return Veto(key, title, effect, trigger)

    def bands(self, tables: list[dict]) -> list[Band]:
        """Validate ``[[bands]]``: highest first, strictly descending, the last at 0."""
        if not tables:
            self.add("", "empty", key="[[bands]]")
        out, previous = [], None
        for index, table in enumerate(tables, 1):
            where = f"bands[{index}]"
            self.unknown(where, table, BAND_KEYS)
            low = self.number(where, table, "min")
            label = self.text(where, table, "label")
            if low is not None and not 0 <= low <= 100:
                self.add(where, "range_100", key="min")
            if low is not None and previous is not None and low >= previous:
                self.add(where, "band_order", value=plain(low), prev=plain(previous))
            if low is not None:
                previous = low
            if low is not None and label is not None:
                out.append(Band(low, label))
        if tables and previous is not None and previous != 0:
            self.add(f"bands[{len(tables)}]", "band_floor", value=plain(previous))
        return out

    def duplicates(self, sections: dict[str, list[dict]]) -> None:
        """Record keys used twice, across criteria and veto items alike."""
        seen: dict[str, str] = {}
        for section, tables in sections.items():
            for index, table in enumerate(tables, 1):
                key = table.get("key")
                if not isinstance(key, str):
                    continue
                here = f"{section}[{index}]"
                if key in seen:
                    self.add(here, "duplicate", value=key, first=seen[key])
                else:
                    seen[key] = here
