"""SIGKILL the real server at random points while work goes on; nothing is half done.

20 kills in ``make test``; ``make soak`` (SOAK=1) runs 200. SQLite only (the
server runs on a committed database file), as DESIGN says for crash tests.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from app import create_app
from app.applications.models import Application, Attachment, Revision
from app.audit.models import AuditEvent
from app.core.files import storage_root, verify_file
from app.core.models import StoredFile
from app.extensions import db
from app.ledger.models import LedgerEntry, LedgerTransfer
from tests.conftest import ON_POSTGRES
from tests.security import crash_harness

KILLS = 200 if os.environ.get("SOAK") else 20
pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="crash tests run once, on SQLite")


def test_random_kills_leave_no_half_applied_work(tmp_path):
    site, driver, server = crash_harness.run(tmp_path / "site", KILLS)
    assert not driver.errors, driver.errors[:5]
    assert server.full_restarts >= 1
    assert driver.statuses.get(("appropriate", 302)), driver.statuses  # work really went on

    verify = site.flask("audit", "verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    app = create_app(
        {
            "ENV_NAME": "development",
            "SQLALCHEMY_DATABASE_URI": site.url,
            "UPLOAD_DIR": str(site.root / "files"),
        }
    )
    with app.app_context():
        try:
            _check_consistency()
            temps = list((storage_root() / "tmp").glob("up-*"))
            temps += list(storage_root().glob("*/*/.tmp-*"))
        finally:
            db.session.remove()
            db.engine.dispose()
    gc = site.flask("files", "gc")
    assert f"removed {len(temps)} temporary files" in gc.stdout, gc.stdout
    assert not list((site.root / "files" / "tmp").glob("up-*"))
    assert not list((site.root / "files").glob("*/*/.tmp-*"))


def _check_consistency() -> None:
    # Every stored file row points to bytes that exist and match their digest.
    bad = [row.id for row in db.session.scalars(select(StoredFile)) if not verify_file(row)]
    assert not bad, f"stored_file rows with missing or corrupt bytes: {bad}"
    # Every attachment's file row exists (a crash between bytes and row leaves no row).
    assert not db.session.scalar(
        select(func.count(Attachment.id)).where(Attachment.file_id.notin_(select(StoredFile.id)))
    )
    # Every submitted application has its revision and its project number.
    submitted = db.session.scalars(select(Application).where(Application.state != "draft")).all()
    for app in submitted:
        assert app.project_number, app.id
        assert db.session.scalar(
            select(func.count(Revision.id)).where(Revision.application_id == app.id)
        ), app.id
        assert (
            db.session.scalar(
                select(func.count(AuditEvent.seq)).where(
                    AuditEvent.action == "application.submit",
                    AuditEvent.entity_id == str(app.id),
                )
            )
            == 1
        ), app.id
    # Every transfer has its two entries and exactly one audit event.
    transfers = db.session.scalars(select(LedgerTransfer)).all()
    assert len(transfers) > 1
    for transfer in transfers:
        entries = db.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.transfer_id == transfer.id)
        )
        events = db.session.scalar(
            select(func.count(AuditEvent.seq)).where(
                AuditEvent.entity_type == "transfer", AuditEvent.entity_id == str(transfer.id)
            )
        )
        assert (entries, events) == (2, 1), transfer.id
