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
from app.awards.models import Award
from app.core.files import storage_root, verify_file
from app.core.models import StoredFile
from app.extensions import db
from app.ledger.models import LedgerEntry, LedgerTransfer
from app.projects.models import Tranche
from tests.conftest import ON_POSTGRES
from tests.security import crash_harness

KILLS = 200 if os.environ.get("SOAK") else 20
pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="crash tests run once, on SQLite")


def test_random_kills_leave_no_half_applied_work(tmp_path):
    site, driver, server = crash_harness.run(tmp_path / "site", KILLS)
    assert not driver.errors, driver.errors[:5]
    assert server.full_restarts >= 1
    # Every kind of work really happened between the kills (the server said so).
    assert all(driver.counts.values()), (driver.counts, driver.lost, driver.refused)
    print(
        f"\ncrash: {KILLS} kills ({server.full_restarts} whole-server), done {driver.counts}, "
        f"answers lost to a kill {driver.lost}, refused while down {driver.down}, "
        f"seconds { ({k: round(v, 1) for k, v in driver.timings.items()}) }; {site.seed_log}"
    )

    app = create_app(
        {
            "ENV_NAME": "development",
            "SQLALCHEMY_DATABASE_URI": site.url,
            "UPLOAD_DIR": str(site.root / "files"),
            "AUDIT_SIGNING_KEY": str(site.root / "keys"),
        }
    )
    cli = app.test_cli_runner()  # the real commands, without starting another interpreter
    with app.app_context():
        try:
            verify = cli.invoke(args=["audit", "verify"])
            assert verify.exit_code == 0, verify.output
            _check_confirmed_work_kept(driver)
            _check_consistency()
            print(f"crash: committed after the kills {_landed(site)}")
            temps = list((storage_root() / "tmp").glob("up-*"))
            temps += list(storage_root().glob("*/*/.tmp-*"))
            gc = cli.invoke(args=["files", "gc"])
            assert gc.exit_code == 0, gc.output
        finally:
            db.session.remove()
            db.engine.dispose()
    assert f"removed {len(temps)} temporary files" in gc.output, gc.output
    assert not list((site.root / "files" / "tmp").glob("up-*"))
    assert not list((site.root / "files").glob("*/*/.tmp-*"))


def _check_confirmed_work_kept(driver) -> None:
    """What the server confirmed survived every later kill."""
    done = driver.done
    digests = set(db.session.scalars(select(StoredFile.sha256)))
    assert set(done["upload"]) <= digests
    for app_id in done["submit"]:
        assert db.session.get(Application, app_id).state != "draft", app_id
    for award_id in done["approve"]:
        assert db.session.get(Award, award_id).state == "approved", award_id
    for tranche_id in done["pay"]:
        assert db.session.get(Tranche, tranche_id).state == "paid", tranche_id
    for transfer_id in done["appropriate"]:
        assert db.session.get(LedgerTransfer, transfer_id), transfer_id


def _landed(site) -> dict:
    """What the database holds of the driver's work (confirmed by the server or not)."""

    def count(stmt) -> int:
        return db.session.scalar(stmt)

    return {
        "uploads": count(
            select(func.count(AuditEvent.seq)).where(
                AuditEvent.action == "application.attach",
                AuditEvent.entity_id == str(site.drafts[-1]),
                AuditEvent.user_agent != "crash-seed",
            )
        ),
        "submitted": count(
            select(func.count(Application.id)).where(
                Application.id.in_(site.drafts), Application.state != "draft"
            )
        ),
        "approved": count(
            select(func.count(Award.id)).where(Award.id.in_(site.awards), Award.state != "proposed")
        ),
        "paid": count(select(func.count(Tranche.id)).where(Tranche.state == "paid")),
        "appropriations": count(
            select(func.count(AuditEvent.seq)).where(AuditEvent.action == "ledger.appropriate")
        ),
    }


def _events(action: str, entity_id) -> int:
    return db.session.scalar(
        select(func.count(AuditEvent.seq)).where(
            AuditEvent.action == action, AuditEvent.entity_id == str(entity_id)
        )
    )


def _check_consistency() -> None:
    # Every stored file row points to bytes that exist and match their digest.
    bad = [row.id for row in db.session.scalars(select(StoredFile)) if not verify_file(row)]
    assert not bad, f"stored_file rows with missing or corrupt bytes: {bad}"
    # Every attachment's file row exists (a crash between bytes and row leaves no row).
    assert not db.session.scalar(
        select(func.count(Attachment.id)).where(Attachment.file_id.notin_(select(StoredFile.id)))
    )
    # Every attachment added has its one audit event, and no event names a missing file.
    attached = db.session.scalars(
        select(AuditEvent.after).where(AuditEvent.action == "application.attach")
    ).all()
    assert {a["sha256"] for a in attached if a and "sha256" in a} <= set(
        db.session.scalars(select(StoredFile.sha256))
    )
    # Every submitted application has its revision, its project number, one submit event.
    submitted = db.session.scalars(select(Application).where(Application.state != "draft")).all()
    assert submitted
    for app in submitted:
        assert app.project_number, app.id
        assert db.session.scalar(
            select(func.count(Revision.id)).where(Revision.application_id == app.id)
        ), app.id
        assert _events("application.submit", app.id) == 1, app.id
    # Every approved award has its commit transfer and one approval event; none half.
    for award in db.session.scalars(select(Award)):
        commits = db.session.scalar(
            select(func.count(LedgerTransfer.id)).where(
                LedgerTransfer.idempotency_key == f"award:{award.id}:commit"
            )
        )
        approved = award.state != "proposed"
        assert (commits, _events("award.approve", award.id)) == (int(approved),) * 2, award.id
        assert (award.approved_by_id is not None) == approved, award.id
    # Every paid tranche has its disbursement and one payment event; none half.
    for tranche in db.session.scalars(
        select(Tranche).where(Tranche.release_transfer_id.is_not(None))
    ):
        paid = tranche.state == "paid"
        pays = db.session.scalar(
            select(func.count(LedgerTransfer.id)).where(
                LedgerTransfer.idempotency_key == f"tranche:{tranche.id}:pay"
            )
        )
        assert (pays, _events("tranche.pay", tranche.id)) == (int(paid),) * 2, tranche.id
        assert (tranche.voucher_no is not None) == paid, tranche.id
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
