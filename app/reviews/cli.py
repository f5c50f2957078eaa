"""Command-line tools: ``flask rubric check FILE…`` and ``flask review rank …``.

Both work on files alone, with no database and no application context, so they run
on an auditor's or an officer's machine just as well as on the server.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click
from flask.cli import AppGroup
from openpyxl import Workbook

from app.reviews.calibration import NORMALIZATIONS
from app.reviews.rubric import AGGREGATIONS, RubricError, check_rubric, load_rubric, rubric_sha256
from app.reviews.score_file import ScoreFileError, load_scores
from app.reviews.scoring import RankedApplication, rank_applications
from app.reviews.texts import say

rubric_cli = AppGroup("rubric", help="Score sheets (rubrics).")
review_cli = AppGroup("review", help="Expert review scores.")

_LANG = click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of messages.",
)
_EXIT_BAD_INPUT = 2
TABLE_COLUMNS = ("rank", "application", "n", "aggregate", "band_zh", "band_en", "flags")


@rubric_cli.command("check", with_appcontext=False)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_LANG
def check_command(files: tuple[str, ...], lang: str) -> None:
    """Validate rubric files; list every problem and exit 1 if any file is bad."""
    failed = False
    for name in files:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            click.echo(say(lang, "cli_unreadable", file=name, err=exc.strerror or exc))
            failed = True
            continue
        problems = check_rubric(data, lang)
        for problem in problems:
            click.echo(f"{name}: {problem}")
        if problems:
            failed = True
            continue
        rubric = load_rubric(data, lang)
        click.echo(
            say(
                lang,
                "cli_ok",
                file=name,
                id=rubric.id,
                version=rubric.version,
                n=len(rubric.criteria),
                sha=rubric_sha256(data),
            )
        )
    if failed:
        raise click.exceptions.Exit(1)


@review_cli.command("rank", with_appcontext=False)
@click.option("--rubric", "rubric_path", required=True, type=click.Path(dir_okay=False))
@click.option("--scores", "scores_path", required=True, type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(AGGREGATIONS), help="Default: the rubric's.")
@click.option("--normalization", type=click.Choice(NORMALIZATIONS), help="Default: the rubric's.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write .csv or .xlsx.")
@click.option("--json", "as_json", is_flag=True, help="Print the ranking as JSON to stdout.")
@_LANG
def rank_command(
    rubric_path: str,
    scores_path: str,
    method: str | None,
    normalization: str | None,
    out_path: str | None,
    as_json: bool,
    lang: str,
) -> None:
    """Rank applications from a long-format score file (CSV or xlsx)."""
    if out_path and Path(out_path).suffix.lower() not in (".csv", ".xlsx"):
        _fail([say(lang, "cli_out_ext", path=out_path)])
    try:
        rubric = load_rubric(Path(rubric_path).read_bytes(), lang)
    except OSError as exc:
        _fail([say(lang, "cli_unreadable", file=rubric_path, err=exc.strerror or exc)])
    except RubricError as exc:
        _fail([say(lang, "cli_rubric", file=rubric_path, problem=p) for p in exc.problems])
    try:
        sheet = load_scores(rubric, scores_path, lang)
    except ScoreFileError as exc:
        _fail(exc.problems)
    for warning in sheet.warnings:
        click.echo(warning, err=True)
    applications = {r.application for r in sheet.reviews}
    reviewers = {r.reviewer for r in sheet.reviews}
    click.echo(
        say(
            lang,
            "cli_read",
            rows=sheet.rows,
            applications=len(applications),
            reviewers=len(reviewers),
        ),
        err=True,
    )
    ranking = rank_applications(rubric, sheet.reviews, sheet.vetoes, method, normalization)
    if as_json:
        payload = [r.as_dict() for r in ranking]
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for row in _table(ranking):
            click.echo("\t".join(row))
    if out_path:
        try:
            _write(ranking, Path(out_path))
        except OSError as exc:
            _fail([say(lang, "cli_unreadable", file=out_path, err=exc.strerror or exc)])
        click.echo(say(lang, "cli_wrote", path=out_path), err=True)


def _fail(messages: list[str]) -> None:
    """Print messages to stderr and stop with the bad-input exit code."""
    for message in messages:
        click.echo(message, err=True)
    raise click.exceptions.Exit(_EXIT_BAD_INPUT)


def _table(ranking: list[RankedApplication]) -> list[list[str]]:
    """Return the ranking as text rows, header first."""
    rows = [list(TABLE_COLUMNS)]
    for r in ranking:
        rows.append(
            [
                "" if r.rank is None else str(r.rank),
                r.application,
                str(r.n),
                "" if r.aggregate is None else str(r.aggregate),
                "" if r.band is None else r.band.label.zh,
                "" if r.band is None else r.band.label.en,
                ";".join(r.flags),
            ]
        )
    return rows


def _write(ranking: list[RankedApplication], path: Path) -> None:
    """Write the ranking table as CSV (UTF-8 with BOM, for Excel) or xlsx."""
    rows = _table(ranking)
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows(rows)
        return
    book = Workbook()
    sheet = book.active
    sheet.title = "ranking"
    sheet.append(rows[0])
    for r, text in zip(ranking, rows[1:], strict=True):
        # Numbers stay numbers in the spreadsheet so officers can sort and sum them.
        text[0] = r.rank
        text[2] = r.n
        text[3] = None if r.aggregate is None else float(r.aggregate)
        sheet.append(text)
    sheet.freeze_panes = "A2"
    book.save(path)
