"""Spreadsheet imports shared by every module: read an xlsx, check every row, preview,
then commit all rows or none.

A module declares its columns (``Column``), a ``check(line, cells, seen)`` that turns a
row's cells into an ``ImportRow`` (data plus every problem, in Chinese), and a
``create(data)`` that writes one row through its own audited operation. This module
does the rest:

- ``parse(stream, columns, check)`` — the rows with their problems, for the preview;
  raises ``ValidationFailed`` (field ``file``) when the file is not an xlsx or a column
  is missing.
- ``commit(rows, create, noun=…)`` — refuses the whole sheet if any row has a problem
  (``details`` lists 第 N 行：…), else runs ``create`` for every row inside one
  savepoint: one refusal rolls every row back.
- ``template_xlsx(columns, example)`` — the downloadable template: the header row, and a
  填表说明 sheet with each column's hint and an example.
- ``stash`` / ``unstash`` / ``discard`` — the uploaded file kept between preview and
  commit (by its sha256, under ``UPLOAD_DIR/imports/<kind>/``).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter
from flask import Response, abort, current_app, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from wtforms.validators import DataRequired

from app.core.errors import DomainError, ValidationFailed
from app.extensions import db

TOKEN = re.compile(r"^[0-9a-f]{64}$")
MAX_ROWS = 5000


@dataclass(frozen=True)
class Column:
    """A column of an import sheet: its header and a hint shown in the template."""

    header: str
    hint: object = ""  # str or lazy text
    required: bool = True


@dataclass
class ImportRow:
    """One data row, parsed, with every problem found (empty when the row is fine)."""

    line: int
    data: dict
    problems: list[str] = field(default_factory=list)
    cells: dict = field(default_factory=dict)


def cell_text(value) -> str:
    """A cell as trimmed text (whole floats without ``.0``; dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return str(value).strip()


def read_rows(stream, columns) -> list[tuple[int, dict]]:
    """``(line, {header: text})`` for every non-empty data row of the first sheet.

    The header row is found among the first 5 rows (it holds the first column's
    header). Raises ``ValidationFailed`` (field ``file``).
    """
    try:
        book = load_workbook(io.BytesIO(stream.read()), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ValidationFailed(_("文件不是有效的 xlsx 表格。"), field="file") from None
    try:
        rows = list(book.worksheets[0].iter_rows(values_only=True, max_row=MAX_ROWS + 6))
    finally:
        book.close()
    key = columns[0].header
    header_at = next(
        (i for i, r in enumerate(rows[:5]) if r and key in [cell_text(c) for c in r]), None
    )
    if header_at is None:
        raise ValidationFailed(_("找不到表头行（需含“%(c)s”等列）。", c=key), field="file")
    header = [cell_text(c) for c in rows[header_at]]
    missing = [c.header for c in columns if c.header not in header]
    if missing:
        raise ValidationFailed(_("缺少列：%(cols)s", cols="、".join(missing)), field="file")
    if len(rows) - header_at - 1 > MAX_ROWS:
        raise ValidationFailed(_("一次最多导入 %(n)s 行。", n=MAX_ROWS), field="file")
    idx = {c.header: header.index(c.header) for c in columns}
    out = []
    for line, raw in enumerate(rows[header_at + 1 :], start=header_at + 2):
        cells = [cell_text(c) for c in (raw or ())]
        cells += [""] * (len(header) - len(cells))
        if not any(cells):
            continue
        if cells[0].startswith(("制表单位", "制表人", "填表说明")):
            break  # a footer row
        out.append((line, {h: cells[i] for h, i in idx.items()}))
    return out


def parse(stream, columns, check: Callable[[int, dict, dict], ImportRow]) -> list[ImportRow]:
    """Every row checked: ``check(line, cells, seen)`` (``seen`` is shared across rows,
    for duplicates within the sheet). Required columns left empty are problems too."""
    seen: dict = {}
    out = []
    for line, cells in read_rows(stream, columns):
        row = check(line, cells, seen)
        row.cells = cells
        empty = [c.header for c in columns if c.required and not cells.get(c.header)]
        if empty:
            row.problems.insert(0, _("未填写：%(cols)s", cols="、".join(empty)))
        out.append(row)
    return out


def commit(rows: list[ImportRow], create: Callable[[dict], object], *, noun: str) -> list:
    """Create every row, or none: refused when the sheet is empty or any row has a
    problem; a refusal while writing rolls back every row written before it."""
    if not rows:
        raise ValidationFailed(_("表格中没有数据行。"), field="file")
    bad = [r for r in rows if r.problems]
    if bad:
        raise ValidationFailed(
            _("导入失败：%(n)s 行有错误，没有导入任何%(noun)s。", n=len(bad), noun=noun),
            field="file",
            details=[_("第 %(line)s 行：", line=r.line) + "；".join(r.problems) for r in bad],
        )
    created = []
    current = None
    try:
        with db.session.begin_nested():
            for current in rows:
                created.append(create(current.data))
    except DomainError as err:
        raise ValidationFailed(
            _(
                "导入失败（第 %(line)s 行：%(msg)s），没有导入任何%(noun)s。",
                line=current.line if current else "?",
                msg=err.message,
                noun=noun,
            ),
            field="file",
        ) from None
    return created


def template_xlsx(columns, example: list | None = None, *, note: str = "") -> bytes:
    """The import template: the header row on the first sheet (fill in below it); a
    second sheet 填表说明 with each column's hint and an example row."""
    fh = io.BytesIO()
    book = xlsxwriter.Workbook(fh, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("导入")
    help_sheet = book.add_worksheet("填表说明")
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    for i, col in enumerate(columns):
        sheet.write_string(0, i, col.header, bold)
        sheet.set_column(i, i, max(14, len(col.header) * 3), text)
    sheet.freeze_panes(1, 0)
    help_sheet.write_string(0, 0, _("列名"), bold)
    help_sheet.write_string(0, 1, _("是否必填"), bold)
    help_sheet.write_string(0, 2, _("说明"), bold)
    help_sheet.write_string(0, 3, _("示例"), bold)
    help_sheet.set_column(0, 0, 20)
    help_sheet.set_column(2, 3, 40)
    for i, col in enumerate(columns, start=1):
        help_sheet.write_string(i, 0, col.header)
        help_sheet.write_string(i, 1, _("必填") if col.required else _("选填"))
        help_sheet.write_string(i, 2, str(col.hint))
        if example and i - 1 < len(example):
            help_sheet.write_string(i, 3, str(example[i - 1]))
    if note:
        help_sheet.write_string(len(columns) + 2, 0, note)
    book.close()
    return fh.getvalue()


def _dir(kind: str) -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "imports" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def stash(data: bytes, kind: str) -> str:
    """Keep an uploaded sheet until it is committed; returns its token (sha256)."""
    token = hashlib.sha256(data).hexdigest()
    (_dir(kind) / f"{token}.xlsx").write_bytes(data)
    return token


def unstash(token: str, kind: str) -> bytes | None:
    """The kept sheet of ``token``, or ``None`` (bad or unknown token)."""
    if not TOKEN.match(token or ""):
        return None
    path = _dir(kind) / f"{token}.xlsx"
    return path.read_bytes() if path.exists() else None


def discard(token: str, kind: str) -> None:
    """Forget a committed sheet."""
    if TOKEN.match(token or ""):
        (_dir(kind) / f"{token}.xlsx").unlink(missing_ok=True)


# --- the page every import uses: upload → preview → commit ---------------------------


class SheetForm(FlaskForm):
    file = FileField(_l("导入表格（xlsx）"), validators=[DataRequired()])


def import_page(
    kind: str,
    *,
    title: str,
    columns,
    preview: Callable,
    run: Callable,
    done: Callable[[list], str],
    done_url: str,
    template: tuple[bytes, str] | Callable[[], tuple[bytes, str]],
    shown: list[tuple[str, str]] | None = None,
):
    """The import view shared by every module (thin: the checks are the operations').

    GET: the upload form. POST with a file: ``preview(stream)`` → every row with its
    problems; the file is kept under a token. POST with ``token`` and ``commit``:
    ``run(stream)`` writes all rows or none (refused: the preview again with the
    reasons, nothing written). GET ``?template=1``: the empty sheet, ``template`` giving
    ``(bytes, file name)``. ``shown`` picks the preview columns (header, data key).
    """
    if request.method == "GET" and request.args.get("template"):
        data, name = template() if callable(template) else template
        return send_template(data, name, f"{kind}-import")
    form = SheetForm()
    page = {
        "form": form,
        "title": title,
        "columns": columns,
        "template_url": request.path + "?template=1",
        "shown": shown or [(c.header, c.header) for c in columns],
    }
    token = request.form.get("token", "")
    if request.method == "POST" and token and request.form.get("commit"):
        data = unstash(token, kind)
        if data is None:
            abort(404)
        try:
            created = run(io.BytesIO(data))
        except DomainError as err:
            db.session.rollback()
            rows = _safe_preview(preview, data)
            form.file.errors = [err.message]
            return render_template(
                "imports/page.html",
                rows=rows,
                token=None,
                bad=sum(1 for r in rows if r.problems),
                details=err.details,
                **page,
            ), err.status if err.status >= 400 else 400
        db.session.commit()
        discard(token, kind)
        flash(done(created), "success")
        return redirect(done_url)
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            rows = preview(io.BytesIO(data))
        except DomainError as err:
            form.file.errors = [err.message]
            return render_template("imports/page.html", **page), err.status
        bad = sum(1 for r in rows if r.problems)
        return render_template(
            "imports/page.html", rows=rows, token=stash(data, kind), bad=bad, **page
        )
    return render_template("imports/page.html", **page), 400 if form.errors else 200


def _safe_preview(preview, data: bytes) -> list[ImportRow]:
    try:
        return preview(io.BytesIO(data))
    except DomainError:
        return []


def send_template(data: bytes, name: str, kind: str):
    """Send an import template (no personal data: not audited as a download)."""
    from urllib.parse import quote

    from app.core.sheets import XLSX_MIME

    response = Response(data, mimetype=XLSX_MIME)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{kind}.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
    return response
