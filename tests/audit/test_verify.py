"""``flask audit verify`` passes after the demo and names the altered row."""

from __future__ import annotations

import re

from sqlalchemy import text, update

from app.audit.models import AuditEvent
from app.core.ddl import append_only_create, append_only_drop
from app.extensions import db

PASSWORD = "Passw0rd-demo1"


def test_verify_passes_after_demo_and_names_an_altered_row(committed_app):
    runner = committed_app.test_cli_runner()
    demo = runner.invoke(args=["demo", "--password", PASSWORD])
    assert demo.exit_code == 0, demo.output
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    match = re.search(r"OK (\d+) events, head ([0-9a-f]{64})", ok.output)
    assert match and int(match.group(1)) > 20

    victim = int(match.group(1)) // 2
    with committed_app.app_context():
        dialect = db.engine.dialect.name
        for statement in append_only_drop("audit_event", dialect):
            db.session.execute(text(statement))
        table = AuditEvent.__table__
        db.session.execute(update(table).where(table.c.seq == victim).values(reason="改过"))
        for statement in append_only_create("audit_event", dialect):
            db.session.execute(text(statement))
        db.session.commit()
        db.session.remove()

    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code != 0
    assert f"seq {victim}: altered_row" in bad.output
    assert "OK" not in bad.output
