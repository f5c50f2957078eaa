"""The ledger CSV exports: PostgreSQL's own CSV must equal Python's csv writer, byte for byte."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.ledger import exports
from app.ledger import operations as ledger
from app.ledger.models import LedgerTransfer
from tests import factories
from tests.conftest import ON_POSTGRES
from tests.ledger import key

# Everything the two CSV writers could disagree on: quotes, commas, CR and LF (alone,
# together, leading, trailing), the ``\.`` end-of-data marker, spaces at either end,
# formula starts, tabs, the empty string and characters outside the BMP.
AWKWARD = [
    "", " ", "  x ", '"', '""', 'say "hi"', ",", "a,b", "\r", "\n", "\r\n", "x\ny", "\n\n",
    "\\.", "\\.\n", "\\", ".", "\t", "=1+2", "-5", "+", "@me", "'", "😀", "𠀀汉字",
    "普通 memo, with a comma",
]  # fmt: skip
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
AWKWARD_TEXT = st.lists(st.sampled_from(AWKWARD) | TEXT, max_size=5).map("".join)


def _python_csv(header, rows) -> bytes:
    """What ``csv.writer`` (RFC 4180, CRLF, minimal quoting) writes, with the BOM."""
    return b"".join(chunk.encode("utf-8") for chunk in exports.write_csv(header, rows))


def _postgres_csv(rows) -> bytes:
    """PostgreSQL's ``COPY … WITH (FORMAT csv)`` rules: LF record ends, ``""`` for ''."""

    def cell(value):
        if value is None:
            return ""
        text = str(value)
        if text == "" or any(c in text for c in ',"\n\r'):
            return '"' + text.replace('"', '""') + '"'
        return text

    return "".join(",".join(map(cell, row)) + "\n" for row in rows).encode("utf-8")


@given(
    rows=st.lists(
        st.tuples(st.integers(), AWKWARD_TEXT.map(lambda s: s or None), st.none() | TEXT),
        max_size=8,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_crlf_turns_postgres_csv_into_the_csv_writers(rows, cuts):
    """Record ends become CRLF, LFs inside quoted fields stay, wherever the blocks split."""
    rows = [tuple(None if v == "" else v for v in row) for row in rows]  # the queries' NULLIF
    data = _postgres_csv(rows)
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    blocks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    expected = _python_csv(("a", "b", "c"), rows)
    assert exports._header(("a", "b", "c")) + b"".join(exports._crlf(blocks)) == expected


@pytest.fixture
def payable(app, session):
    """Grant 9100 with money payable, so each example can disburse from it; a finance user."""
    actor = factories.user("finance")
    with app.test_request_context():
        ledger.appropriate(91, 10**9, actor=actor, key=key())
        ledger.reserve(91, 910, 10**9, actor=actor, key=key())
        ledger.commit(910, 9100, 10**9, actor=actor, key=key())
        ledger.release(9100, 10**9, actor=actor, key=key())
    return actor


@settings(
    max_examples=25 if ON_POSTGRES else 10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(memo=AWKWARD_TEXT, other=AWKWARD_TEXT, voucher=AWKWARD_TEXT)
def test_export_equals_the_csv_writer_for_any_text(app, payable, memo, other, voucher):
    """Random memos and vouchers in the ledger: the export (COPY on PostgreSQL) writes
    exactly what Python's csv writer writes for the same rows."""
    assume(voucher.strip() and len(voucher.strip()) <= 64)
    # Each example in a savepoint of its own, so a voucher number may come again.
    with app.test_request_context(), db.session.begin_nested() as example:
        first = ledger.appropriate(92, 1, actor=payable, key=key(), memo=memo)
        second = ledger.disburse(9100, 1, actor=payable, key=key(), voucher_no=voucher, memo=other)
        ids = [first.id, second.id]
        filtered = select(LedgerTransfer.id).where(LedgerTransfer.id.in_(ids))
        rows = db.session.execute(exports.transfers_query(filtered)).all()
        expected = _python_csv(exports.TRANSFER_COLUMNS, rows)
        data = b"".join(exports.transfers_csv_bytes(filtered))
        text = "".join(exports.transfers_csv(filtered))
        example.rollback()
    assert data == expected
    assert text.encode("utf-8") == expected
    parsed = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert [r[0] for r in parsed[1:]] == [str(i) for i in ids]


def test_awkward_memos_and_the_entries_are_byte_identical(app, payable):
    with app.test_request_context():
        ids = [
            ledger.appropriate(93, 1, actor=payable, key=key(), memo=memo).id for memo in AWKWARD
        ]
        rows = db.session.execute(exports.transfers_query()).all()
        data = b"".join(exports.transfers_csv_bytes())
        entries = b"".join(exports.entries_csv_bytes())
        entry_rows = db.session.execute(exports.entries_query()).all()
    assert data == _python_csv(exports.TRANSFER_COLUMNS, rows)
    assert entries == _python_csv(exports.ENTRY_COLUMNS, entry_rows)
    assert data.startswith(b"\xef\xbb\xbfid,from_account,to_account,amount_fen,")
    memos = {
        r["id"]: r["memo"]
        for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    }
    # Empty text is an empty cell; formula starts are neutralised; the rest is kept.
    assert [memos[str(i)] for i in ids][:3] == ["", " ", "  x "]
    assert memos[str(ids[AWKWARD.index("=1+2")])] == "'=1+2"
    assert memos[str(ids[AWKWARD.index("x\ny")])] == "x\ny"
    assert b'"x\ny"' in data and b"\r\n\r\n" not in data


def test_an_empty_ledger_is_the_header_alone(app, session):
    with app.test_request_context():
        nothing = select(LedgerTransfer.id).where(LedgerTransfer.id < 0)
        data = b"".join(exports.transfers_csv_bytes(nothing))
    assert data == "\ufeff".encode() + ",".join(exports.TRANSFER_COLUMNS).encode() + b"\r\n"


def test_xlsx_rows_hold_the_cells_of_each_kind():
    """``XlsxSheet.append``'s inlined kinds write what ``_cell`` gives, cell by cell."""
    from openpyxl import load_workbook

    from app.core.sheets import Column, Footer, XlsxBook, _cell

    cols = [
        Column("text"), Column("yuan", "yuan"), Column("int", "int"),
        Column("when", "datetime"), Column("day", "date"),
    ]  # fmt: skip
    when = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    rows = [
        ("=1+2", 12345, "7", when, date(2026, 3, 2)),
        (42, "99", 8, "2026-03-01T16:30:00Z", None),
        ("", None, "", None, ""),
        ("  x ", -1, -3, None, None),
        ("\\.", 10**12 + 1, 0, None, None),
    ]
    buffer = io.BytesIO()
    with XlsxBook(buffer, title="台账", footer=Footer("学会部", "测试")) as book:
        book.summary([Column("项目")]).append(["合计"])
        detail = book.detail("明细", cols)
        for row in rows:
            detail.append(row)
        with pytest.raises(ValueError):
            detail.append(rows[0][:-1])
    sheet = load_workbook(io.BytesIO(buffer.getvalue()))["明细"]
    for number, row in enumerate(rows, start=3):
        for index, (column, value) in enumerate(zip(cols, row, strict=True)):
            cell = sheet.cell(number, index + 1)
            expected = _cell(column, value)
            if isinstance(expected, Decimal):
                assert cell.value == float(expected) and cell.number_format == "#,##0.00"
            else:
                assert cell.value == expected, (number, column.title)
    assert sheet.cell(3, 1).data_type == "s" and sheet.cell(3, 1).value == "'=1+2"
    assert sheet.cell(4, 1).value == "42" and sheet.cell(4, 3).value == 8
