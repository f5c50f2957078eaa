"""Long-format score files (CSV or xlsx): application, reviewer, criterion, score.

A blank score means not applicable; a row whose criterion is a veto key with score 1
raises that veto. ``load_scores`` checks every row against the rubric and reports all
bad rows at once.
"""

from __future__ import annotations

import csv
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from app.reviews.calibration import ReviewTotal
from app.reviews.rubric_types import Rubric
from app.reviews.scoring import VetoMark, review_total
from app.reviews.texts import plain, say

COLUMNS = ("application", "reviewer", "criterion", "score")


class ScoreFileError(ValueError):
    """The score file cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ScoreFile:
    """Review totals and veto marks read from a score file."""

    reviews: list[ReviewTotal]
    vetoes: list[VetoMark]
    warnings: list[str]
    rows: int


def _cell(value: object) -> str:
    """Return a cell as text; whole-number floats from xlsx lose their ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, cells as text) for every row, header included.

    Raises OSError, UnicodeDecodeError or ValueError when the file cannot be read.
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
            raise ValueError(str(exc) or type(exc).__name__) from None
        try:
            sheet = book.worksheets[0]
            for line, row in enumerate(sheet.iter_rows(values_only=True), 1):
                yield line, [_cell(v) for v in row]
        finally:
            book.close()
        return
    # utf-8-sig: spreadsheets saving "CSV UTF-8" prepend a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.reader(handle), 1):
            yield line, [_cell(v) for v in row]


def load_scores(rubric: Rubric, path: str | Path, lang: str = "zh") -> ScoreFile:
    """Read a score file and return review totals and veto marks for ``rubric``.

    Raises ScoreFileError listing every bad row, an unreadable file or missing columns.
    """
    name = str(path)
    try:
        rows = list(read_rows(path))
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise ScoreFileError([say(lang, "cli_unreadable", file=name, err=exc)]) from None
    rows = [(line, cells) for line, cells in rows if any(cells)]
    if not rows:
        raise ScoreFileError([say(lang, "cli_empty", file=name)])
    header = [unicodedata.normalize("NFKC", c).strip().lower() for c in rows[0][1]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ScoreFileError([say(lang, "cli_columns", file=name, columns=", ".join(missing))])
    index = [header.index(c) for c in COLUMNS]

    problems: list[str] = []
    warnings: list[str] = []
    scores: dict[tuple[str, str], dict[str, Decimal | None]] = defaultdict(dict)
    vetoes: list[VetoMark] = []
    seen: set[tuple[str, str, str]] = set()
    for line, cells in rows[1:]:
        cells = cells + [""] * (len(header) - len(cells))
        application, reviewer, key, text = (cells[i] for i in index)
        if not (application and reviewer and key):
            problems.append(say(lang, "cli_blank", line=line))
            continue
        if (application, reviewer, key) in seen:
            problems.append(
                say(
                    lang,
                    "cli_duplicate",
                    line=line,
                    application=application,
                    reviewer=reviewer,
                    key=key,
                )
            )
            continue
        seen.add((application, reviewer, key))
        # A reviewer who only raised a veto still counts as one of the application's reviews.
        pair = scores[(application, reviewer)]
        text = unicodedata.normalize("NFKC", text).strip()
        if key in rubric.veto_keys:
            if text not in ("", "0", "1", "0.0", "1.0"):
                problems.append(say(lang, "cli_veto_value", line=line, key=key, value=text))
            elif text.startswith("1"):
                vetoes.append(VetoMark(application, reviewer, key))
            continue
        if key not in rubric.criterion_keys:
            problems.append(say(lang, "cli_unknown", line=line, key=key))
            continue
        criterion = rubric.criterion(key)
        if not text:
            if criterion.required:
                warnings.append(say(lang, "cli_required_blank", line=line, key=key))
            pair[key] = None
            continue
        try:
            score = Decimal(text)
        except InvalidOperation:
            score = None
        if score is None or not score.is_finite():
            problems.append(say(lang, "cli_number", line=line, value=text))
        elif not criterion.min <= score <= criterion.max:
            problems.append(
                say(
                    lang,
                    "cli_range",
                    line=line,
                    key=key,
                    value=plain(score),
                    min=plain(criterion.min),
                    max=plain(criterion.max),
                )
            )
        elif not criterion.is_on_step(score):
            problems.append(
                say(
                    lang,
                    "cli_step",
                    line=line,
                    key=key,
                    value=plain(score),
                    step=plain(criterion.step),
                    min=plain(criterion.min),
                )
            )
        else:
            pair[key] = score
    if problems:
        raise ScoreFileError(problems)
    reviews = [
        ReviewTotal(application, reviewer, review_total(rubric, given))
        for (application, reviewer), given in scores.items()
    ]
    return ScoreFile(reviews, vetoes, warnings, len(rows) - 1)
