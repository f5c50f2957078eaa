"""Create the PostgreSQL database of a URL when it does not exist (``make serve-prod``)."""

from __future__ import annotations

import sys

from bench import common


def main(url: str) -> int:
    if not common.is_postgres(url):
        return 0
    if not common.database_exists(url):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        admin = create_engine(
            make_url(url).set(database="postgres").render_as_string(hide_password=False),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        print(f"created database {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
