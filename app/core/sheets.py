"""Spreadsheet downloads: CSV with a BOM and xlsx with summary and detail sheets.

Two writers any module can use for the sheets its users download
(DOMAIN.md, "What each user downloads"):

- ``CsvWriter`` — UTF-8 with a BOM (so Excel reads the Chinese), RFC 4180
  (CRLF, quotes only where needed). Text cells starting with ``= + - @``, a
  tab or a CR get a leading ``'`` so a spreadsheet never runs them as a
  formula (CSV injection); numbers stay numbers.
- ``XlsxBook`` — XlsxWriter in constant-memory mode (rows stream to disk, so
  a million-row sheet costs a few MB): a ``汇总`` summary sheet first, then
  ``明细`` detail sheets; every sheet has a title row carrying the unit
  (``单位：元``), a frozen header row, and the footer 制表单位 / 制表人 /
  审核人 / 日期 as its last row and as the printed page footer. Text is
  neutralised as in CSV and always written as a string, never a formula.

Columns are declared once (``Column``) and serve both formats::

    cols = [Column("编号", "int"), Column("摘要"), Column("金额（元）", "yuan")]
    with XlsxBook(fh, title="拨付台账", footer=Footer("学会部", "张三")) as book:
        detail = book.detail("明细", cols)
        for row in rows:
            detail.append(row)          # "yuan" cells take integer fen
        book.summary([Column("项目"), Column("金额（元）", "yuan")]).append(["合计", total])

Constant-memory mode writes each sheet's rows in order, so a summary computed
from the details is appended after them (its sheet still comes first: create
it first with ``book.summary(cols)`` and append later).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter

from app.core import clock

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
XLSX_MAX_ROWS = 1_048_576
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"


def neutralise(value):
    """A text cell a spreadsheet will show as text: ``'`` before a formula-like start.

    Only strings are touched; ``int``/``Decimal`` cells stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def yuan(fen: int | None) -> Decimal | None:
    """Integer fen as a ``Decimal`` of 元 with exactly 2 places (never a float)."""
    if fen is None or fen == "":
        return None
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Column:
    """One column: its header and how its cells are written.

    ``kind``: ``text`` (neutralised string), ``int`` (integer), ``yuan`` (the
    value is integer fen, shown as 元 with 2 decimals), ``datetime`` (shown in
    Asia/Shanghai), ``date``. CSV headers are ``title`` (stable names for
    machines); xlsx headers are ``label`` when given (words for people).
    """

    title: str
    kind: str = "text"
    width: int = 14
    label: object = None  # the xlsx header (e.g. a lazy translated string); defaults to title

    @property
    def header(self) -> str:
        return str(self.label) if self.label is not None else self.title


def _cell(column: Column, value):
    """The plain value of one cell, shared by both formats."""
    if value is None or value == "":
        return None
    if column.kind == "yuan":
        return yuan(value)
    if column.kind == "int":
        return int(value)
    if column.kind == "datetime":
        if isinstance(value, datetime):
            return clock.local(value).strftime("%Y-%m-%d %H:%M:%S")
        return neutralise(str(value))
    if column.kind == "date" and isinstance(value, date):
        return value.isoformat()
    return neutralise(value if isinstance(value, str) else str(value))


class CsvWriter:
    """RFC 4180 CSV with a BOM on a binary file; ``append`` neutralises text cells."""

    def __init__(self, binary_fh, columns: Sequence[Column] | Sequence[str]):
        self.columns = [c if isinstance(c, Column) else Column(c) for c in columns]
        self._text = io.TextIOWrapper(binary_fh, encoding="utf-8", newline="", write_through=True)
        self._text.write(BOM)
        self._writer = csv.writer(self._text, lineterminator="\r\n")
        self._writer.writerow([neutralise(c.title) for c in self.columns])
        self.rows = 0

    def append(self, values: Sequence) -> None:
        """Write one record; cells follow the columns' kinds."""
        self._writer.writerow(
            [
                "" if (v := _cell(c, value)) is None else v
                for c, value in zip(self.columns, values, strict=True)
            ]
        )
        self.rows += 1

    def close(self) -> None:
        """Flush and hand the binary file back to the caller (it stays open)."""
        self._text.flush()
        self._text.detach()


def write_csv(binary_fh, columns, rows: Iterable[Sequence]) -> int:
    """Write a whole CSV to ``binary_fh``; returns the number of records."""
    writer = CsvWriter(binary_fh, columns)
    for row in rows:
        writer.append(row)
    writer.close()
    return writer.rows


@dataclass(frozen=True)
class Footer:
    """Who made the sheet: 制表单位, 制表人; 审核人 is left for a signature."""

    unit: str = ""
    preparer: str = ""
    reviewer: str = ""
    day: date | None = None

    def text(self) -> str:
        day = (self.day or clock.today()).isoformat()
        return (
            f"制表单位：{self.unit}    制表人：{self.preparer}    "
            f"审核人：{self.reviewer or '　　　　'}    日期：{day}"
        )


_TEXT, _YUAN, _INT, _OTHER = "text", "yuan", "int", "other"
_FAST_KINDS = {"text": _TEXT, "yuan": _YUAN, "int": _INT}


class XlsxSheet:
    """One sheet being streamed; continues on ``名称(2)`` past Excel's row limit."""

    HEADER_ROWS = 2  # the title with the unit, then the column headers

    def __init__(self, book: XlsxBook, name: str, columns: Sequence[Column]):
        self.book, self.name, self.columns = book, name, list(columns)
        self._kinds = tuple(_FAST_KINDS.get(c.kind, _OTHER) for c in self.columns)
        self.rows, self._part = 0, 1
        self._open(name)

    def _open(self, name: str) -> None:
        book = self.book
        self.ws = book.workbook.add_worksheet(name)
        # The undecorated writers: the public ones check every call for "A1" cell
        # names, which ``append`` never passes (private, so looked up with a fallback).
        self._write_string = getattr(self.ws, "_write_string", self.ws.write_string)
        self._write_number = getattr(self.ws, "_write_number", self.ws.write_number)
        for index, column in enumerate(self.columns):
            fmt = book.money if column.kind == "yuan" else None
            self.ws.set_column(index, index, column.width, fmt)
        title = f"{book.title}（单位：{book.unit}）"
        self.ws.write_string(0, 0, neutralise(title), book.bold)
        for index, column in enumerate(self.columns):
            self.ws.write_string(1, index, neutralise(column.header), book.header)
        self.ws.freeze_panes(self.HEADER_ROWS, 0)
        self.ws.set_footer("&L" + book.footer.text().replace("&", "&&"))
        self._next = self.HEADER_ROWS

    def append(self, values: Sequence) -> None:
        """Write one row; text is written as a string, never a formula.

        The same cells as ``_cell`` gives, with its common kinds inlined: this
        loop runs for every cell of a sheet of up to a million rows.
        """
        if self._next >= XLSX_MAX_ROWS - 2:  # room for the footer rows
            self._finish()
            self._part += 1
            self._open(f"{self.name}({self._part})")
        row, money = self._next, self.book.money
        write_string, write_number = self._write_string, self._write_number
        for index, (kind, value) in enumerate(zip(self._kinds, values, strict=True)):
            if value is None or value == "":
                continue
            if kind is _TEXT:
                if value.__class__ is not str:
                    value = str(value)
                if value.startswith(FORMULA_PREFIXES):
                    value = "'" + value
                write_string(row, index, value)
            elif kind is _YUAN:
                # Display only: fen / 100 is exact in a double far beyond any fund's
                # total, and equals float(yuan(fen)) (both round the same quotient).
                write_number(row, index, int(value) / 100, money)
            elif kind is _INT:
                write_number(row, index, int(value))
            else:
                cell = _cell(self.columns[index], value)
                if cell is None:
                    continue
                if isinstance(cell, Decimal):
                    write_number(row, index, float(cell), money)
                elif isinstance(cell, int):
                    write_number(row, index, cell)
                else:
                    write_string(row, index, cell)
        self._next += 1
        self.rows += 1

    def _finish(self) -> None:
        self.ws.write_string(self._next + 1, 0, self.book.footer.text())


class XlsxBook:
    """An xlsx file: ``汇总`` first, ``明细`` sheets after, in constant memory.

    ``target`` is a path or a binary file object. Use as a context manager or
    call ``close()``; footers are written when the book closes.
    """

    def __init__(self, target, *, title: str, footer: Footer, unit: str = "元"):
        self.title, self.footer, self.unit = title, footer, unit
        self.workbook = xlsxwriter.Workbook(
            target,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.bold = self.workbook.add_format({"bold": True, "font_size": 13})
        self.header = self.workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.money = self.workbook.add_format({"num_format": "#,##0.00"})
        self.sheets: list[XlsxSheet] = []

    def summary(self, columns: Sequence[Column], name: str = "汇总") -> XlsxSheet:
        """The summary sheet; create it before any detail sheet so it comes first."""
        if self.sheets:
            raise RuntimeError("create the summary sheet first")
        return self._add(name, columns)

    def detail(self, name: str, columns: Sequence[Column]) -> XlsxSheet:
        """A detail sheet (``明细`` or ``明细-…``), after the summary."""
        if not self.sheets:
            raise RuntimeError("create the summary sheet first")
        return self._add(name, columns)

    def _add(self, name: str, columns) -> XlsxSheet:
        sheet = XlsxSheet(self, name, columns)
        self.sheets.append(sheet)
        return sheet

    def close(self) -> None:
        """Write every sheet's footer row and the file."""
        for sheet in self.sheets:
            sheet._finish()
        self.workbook.close()

    def __enter__(self) -> XlsxBook:
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        if exc_type is None:
            self.close()
