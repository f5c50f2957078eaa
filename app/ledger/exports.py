"""Streaming CSV exports of the ledger: transfers, entries and the trial balance.

UTF-8 with a BOM (so spreadsheet software reads the Chinese memos) and RFC 4180
(CRLF, quotes only where needed, ``None`` as an empty cell), byte-identical on
both databases. The database formats every cell (times as RFC 3339, user text
with its formula prefix neutralised, empty text as NULL), so:

- on PostgreSQL the server writes the CSV itself (``COPY … TO STDOUT WITH
  (FORMAT csv)``) and Python passes its blocks through, adding only the BOM
  and header and turning the record ends LF into CRLF (``_crlf``); parsing the
  rows and writing them again was two thirds of the export's time;
- on SQLite rows come from a streaming cursor in partitions and the C csv
  writer writes them (the reference the PostgreSQL bytes must equal).

Either way nothing is held in memory beyond one partition. ``*_csv`` yield
text, ``*_csv_bytes`` the UTF-8 bytes (what a download sends).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.orm import aliased

from app.core.sheets import FORMULA_PREFIXES
from app.extensions import db
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransfer

BOM = "\ufeff"
BATCH = 5000
TRANSFER_COLUMNS = (
    "id",
    "from_account",
    "to_account",
    "amount_fen",
    "code",
    "fund_id",
    "call_id",
    "grant_id",
    "voucher_no",
    "reverses_id",
    "occurred_at",
    "created_by_id",
    "memo",
)
ENTRY_COLUMNS = ("transfer_id", "account", "debit_fen", "credit_fen")
TRIAL_BALANCE_COLUMNS = ("code", "debits_fen", "credits_fen", "balance_fen")

A = LedgerAccount.__table__
E = LedgerEntry.__table__
T = LedgerTransfer.__table__


def _on_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _occurred_at():
    """The same text as ``clock.rfc3339``, rendered by the database."""
    if _on_postgres():
        return func.to_char(
            func.timezone("UTC", T.c.occurred_at), literal('YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        )
    # SQLite stores UTC as "YYYY-MM-DD HH:MM:SS.ffffff" (SQLAlchemy's fixed format).
    return func.replace(T.c.occurred_at, " ", "T") + literal("Z")


def _text(column):
    """User-typed text as a spreadsheet must show it: ``'`` before a formula-like start.

    Empty text becomes NULL: both are an empty cell in Python's csv writer, while
    PostgreSQL's CSV would write ``""`` for an empty string.
    """
    return func.nullif(
        case(
            (func.substr(column, 1, 1).in_(FORMULA_PREFIXES), literal("'") + column),
            else_=column,
        ),
        literal(""),
    )


def transfers_query(filtered: Select | None = None) -> Select:
    """The transfers export's SELECT; ``filtered`` is a ``select(T.c.id)`` to restrict it."""
    src, dst = aliased(A), aliased(A)
    stmt = (
        select(
            T.c.id,
            src.c.code,
            dst.c.code,
            T.c.amount_fen,
            T.c.code,
            T.c.fund_id,
            T.c.call_id,
            T.c.grant_id,
            _text(T.c.voucher_no),
            T.c.reverses_id,
            _occurred_at(),
            T.c.created_by_id,
            _text(T.c.memo),
        )
        .join(src, src.c.id == T.c.from_account_id)
        .join(dst, dst.c.id == T.c.to_account_id)
        .order_by(T.c.id)
    )
    if filtered is not None:
        stmt = stmt.where(T.c.id.in_(filtered))
    return stmt


def entries_query() -> Select:
    """The entries export's SELECT, in transfer then entry order."""
    return (
        select(E.c.transfer_id, A.c.code, E.c.debit_fen, E.c.credit_fen)
        .join(A, A.c.id == E.c.account_id)
        .order_by(E.c.transfer_id, E.c.id)
    )


def _stream(stmt: Select) -> Iterator[tuple]:
    """Plain tuples straight from the driver's cursor, ``BATCH`` rows at a time."""
    if _on_postgres():
        yield from _copy_rows(stmt)
        return
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    try:
        cursor.execute(_literal_sql(stmt))
        while batch := cursor.fetchmany(BATCH):
            yield from batch
    finally:
        cursor.close()


def _literal_sql(stmt: Select) -> str:
    # COPY takes no bind parameters, so the statement is rendered with literals.
    # Every value in it is an integer or a date from our own filter parsing.
    dialect = db.session.get_bind().dialect
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _copy_rows(stmt: Select) -> Iterator[tuple]:
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    try:
        with cursor.copy(f"COPY ({_literal_sql(stmt)}) TO STDOUT") as copy:
            yield from copy.rows()
    finally:
        cursor.close()


def _copy_csv(stmt: Select) -> Iterator[bytes]:
    """PostgreSQL's own CSV of ``stmt`` (UTF-8, no header), 1,000 records a block."""
    sql = f"COPY ({_literal_sql(stmt)}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')"
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            # psycopg hands over one record per block, as a view of libpq's buffer:
            # copied to bytes at once (holding thousands of views doubled the time),
            # joined a partition at a time, all in C.
            records = map(bytes, copy)
            while part := list(islice(records, 1000)):
                yield b"".join(part)
    finally:
        cursor.close()


def _crlf(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """PostgreSQL's CSV with CRLF record ends, as Python's csv writer ends them.

    Only the LFs outside quoted fields end records: an LF inside a quoted field
    (a memo with a line break) stays as it is. The text between two ``"`` is
    alternately outside and inside a quoted field (a doubled ``""`` inside one
    toggles twice), and the parity carries over from block to block.
    """
    inside = False
    for block in blocks:
        if b'"' not in block:
            yield block if inside else block.replace(b"\n", b"\r\n")
            continue
        parts = block.split(b'"')
        start = 1 if inside else 0
        parts[start::2] = [p.replace(b"\n", b"\r\n") for p in parts[start::2]]
        inside ^= len(parts) % 2 == 0  # an odd number of quotes flips it
        yield b'"'.join(parts)


def write_csv(header: Iterable[str], rows: Iterable[tuple]) -> Iterator[str]:
    """Yield the CSV text in chunks: BOM and header first, then 1,000 rows each.

    Cells are written as they come (``None`` as an empty cell): the queries above
    have already formatted them.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    rows = iter(rows)
    while chunk := list(islice(rows, 1000)):
        writer.writerows(chunk)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _header(columns: Iterable[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(columns)
    return (BOM + buffer.getvalue()).encode("utf-8")


def query_csv_bytes(header: Iterable[str], stmt: Select) -> Iterator[bytes]:
    """The CSV of ``stmt``'s rows as UTF-8 blocks, BOM and header first.

    PostgreSQL writes the records (see the module docstring); ``stmt``'s text
    cells must never be ``''`` (make them NULL), as ``_text`` does.
    """
    if not _on_postgres():
        for chunk in write_csv(header, _stream(stmt)):
            yield chunk.encode("utf-8")
        return
    yield _header(header)
    yield from _crlf(_copy_csv(stmt))


def query_csv(header: Iterable[str], stmt: Select) -> Iterator[str]:
    """``query_csv_bytes`` as text chunks (for callers writing a text file)."""
    if not _on_postgres():
        yield from write_csv(header, _stream(stmt))
        return
    # Blocks hold whole records, but an incremental decoder costs nothing more.
    decode = codecs.getincrementaldecoder("utf-8")().decode
    for block in query_csv_bytes(header, stmt):
        yield decode(block)
    yield decode(b"", final=True)


def transfers_csv(filtered: Select | None = None) -> Iterator[str]:
    """``ledger_transfers.csv``: one row per transfer, columns ``TRANSFER_COLUMNS``."""
    return query_csv(TRANSFER_COLUMNS, transfers_query(filtered))


def transfers_csv_bytes(filtered: Select | None = None) -> Iterator[bytes]:
    """``transfers_csv`` as UTF-8 bytes (the download)."""
    return query_csv_bytes(TRANSFER_COLUMNS, transfers_query(filtered))


def entries_csv() -> Iterator[str]:
    """``ledger_entries.csv``: one row per entry, columns ``ENTRY_COLUMNS``."""
    return query_csv(ENTRY_COLUMNS, entries_query())


def entries_csv_bytes() -> Iterator[bytes]:
    """``entries_csv`` as UTF-8 bytes."""
    return query_csv_bytes(ENTRY_COLUMNS, entries_query())


def trial_balance() -> tuple[list[tuple[str, int, int, int]], tuple[int, int, int]]:
    """Rows ``(code, debits_fen, credits_fen, balance_fen)`` by code, and the totals."""
    # Sorted here, not by the database, whose collation may ignore the colons.
    rows = sorted(
        (code, debits, credits, credits - debits)
        for code, debits, credits in db.session.execute(
            select(A.c.code, A.c.debits_fen, A.c.credits_fen)
        )
    )
    debits = sum(r[1] for r in rows)
    credits = sum(r[2] for r in rows)
    return rows, (debits, credits, credits - debits)


def trial_balance_csv() -> Iterator[str]:
    """``trial_balance.csv``: one row per account, then a ``TOTAL`` row."""
    rows, (debits, credits, balance) = trial_balance()
    return write_csv(TRIAL_BALANCE_COLUMNS, [*rows, ("TOTAL", debits, credits, balance)])


# Files of the audit bundle: name → generator of CSV text chunks.
BUNDLE_FILES = {
    "ledger_transfers.csv": transfers_csv,
    "ledger_entries.csv": entries_csv,
    "trial_balance.csv": trial_balance_csv,
}


def filter_transfers(
    stmt: Select,
    *,
    fund_id: int | None = None,
    call_id: int | None = None,
    grant_id: int | None = None,
    code: str | None = None,
    start=None,
    end=None,
) -> Select:
    """Narrow a SELECT over transfers by fund, call, grant, code and [start, end) in UTC."""
    if fund_id is not None:
        stmt = stmt.where(T.c.fund_id == fund_id)
    if call_id is not None:
        stmt = stmt.where(T.c.call_id == call_id)
    if grant_id is not None:
        stmt = stmt.where(T.c.grant_id == grant_id)
    if code:
        stmt = stmt.where(T.c.code == code)
    if start is not None:
        stmt = stmt.where(T.c.occurred_at >= start)
    if end is not None:
        stmt = stmt.where(T.c.occurred_at < end)
    return stmt
