"""Copy a generated data set from one database to another, row for row.

    python -m bench.copy_db SOURCE_URL TARGET_URL

The target is created afresh and migrated to the source's schema (head), then
every table is copied in dependency order with executemany; naive times read
from SQLite are UTC and are written as such. Ids, hashes and cached balances
are the source's, so ``flask audit verify`` gives the same head on both. Used
when the operations ran once (on SQLite) and the same data set is wanted on
PostgreSQL, which halves the generation time on a shared 2-core machine.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, create_engine, insert, select, text
from tqdm import tqdm

from bench import common

SKIP = {"alembic_version"}


def _utc(table):
    cols = [c.name for c in table.c if isinstance(c.type, DateTime)]

    def fix(row: dict) -> dict:
        for name in cols:
            value = row.get(name)
            if isinstance(value, datetime) and value.tzinfo is None:
                row[name] = value.replace(tzinfo=UTC)
        return row

    return fix


def copy(source: str, target: str, batch: int = 5000) -> None:
    common.recreate_database(target)
    common.migrate(common.make_app(target))
    src = create_engine(source)
    dst = create_engine(target)
    meta = MetaData()
    meta.reflect(dst)
    from app.extensions import db  # the models' types (JSON, DateTime(timezone=True))

    models = db.metadata.tables
    with src.connect() as s, dst.begin() as d:
        if dst.dialect.name == "postgresql":
            d.execute(text("SET session_replication_role = replica"))  # no FK order trouble
        for table in meta.sorted_tables:
            if table.name in SKIP or table.name not in models:
                continue
            model = models[table.name]
            d.execute(table.delete())  # seed rows of the migrations come from the source too
            total = s.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar()  # noqa: S608
            if not total:
                continue
            fix = _utc(model)
            bar = tqdm(total=total, desc=table.name, file=sys.stderr, mininterval=1.0)
            result = s.execution_options(yield_per=batch).execute(select(model))
            for part in result.partitions(batch):
                d.execute(insert(model), [fix(dict(r._mapping)) for r in part])
                bar.update(len(part))
            bar.close()
            pk = [c for c in model.primary_key.columns]
            if (
                dst.dialect.name == "postgresql"
                and len(pk) == 1
                and pk[0].name == "id"
                and pk[0].autoincrement is not False
            ):
                d.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f'(SELECT max(id) FROM "{table.name}"))'  # noqa: S608
                    )
                )
        if dst.dialect.name == "postgresql":
            d.execute(text("SET session_replication_role = origin"))
    src.dispose()
    dst.dispose()


def main(argv=None) -> int:
    argv = argv or sys.argv[1:]
    t0 = time.perf_counter()
    app = common.make_app(argv[1])
    with app.app_context():
        copy(argv[0], argv[1])
        from app.audit.verify import verify_all
        from app.extensions import db
        from app.ledger import invariants  # noqa: F401

        fault, last, head = verify_all()
        db.session.remove()
        db.engine.dispose()
    print(
        f"copied in {time.perf_counter() - t0:.0f} s; verify: {fault or 'OK'} {last} events, {head}"
    )
    return 1 if fault else 0


if __name__ == "__main__":
    raise SystemExit(main())
