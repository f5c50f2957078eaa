"""Backup and restore: the chain, the data and the files survive the round trip."""

import io

from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.audit.verify import verify_all
from app.core.files import store_upload, verify_file
from app.core.models import StoredFile
from app.extensions import db
from tests import factories
from tests.conftest import make_app

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_backup_and_restore_round_trip(committed_app, databases, tmp_path):
    with committed_app.app_context():
        factories.user("officer", name="备份测试")
        stored = store_upload(io.BytesIO(PDF), "scan.pdf", kind="scan")
        db.session.commit()
        events = db.session.scalar(select(func.count(AuditEvent.seq)))
        archive = tmp_path / "backup.tar.gz"
        result = committed_app.test_cli_runner().invoke(args=["backup", "--out", str(archive)])
        assert result.exit_code == 0, result.output
        sha = stored.sha256

    target = make_app(databases.new_url(), tmp_path / "restored-files")
    runner = target.test_cli_runner()
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    with target.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.seq))) == events
        assert db.session.scalar(select(User).where(User.name == "备份测试")) is not None
        row = db.session.scalar(select(StoredFile).where(StoredFile.sha256 == sha))
        assert verify_file(row)
        fault, last, _ = verify_all()
        assert fault is None and last == events
    again = runner.invoke(args=["restore", str(archive)])
    assert again.exit_code != 0
    assert "not empty" in again.output
    forced = runner.invoke(args=["restore", str(archive), "--force"])
    assert forced.exit_code == 0, forced.output
    with target.app_context():
        db.session.remove()
        db.engine.dispose()


def test_backup_while_writes_continue_restores_a_consistent_prefix(
    committed_app, databases, tmp_path
):
    import threading

    from app.audit import trail
    from app.audit.context import audit_context

    stop, errors = threading.Event(), []
    with committed_app.app_context():
        factories.user("officer")
        db.session.commit()
        before = db.session.scalar(select(func.count(AuditEvent.seq)))

    def append() -> None:
        with committed_app.app_context():
            try:
                i = 0
                while not stop.is_set():
                    with audit_context(actor_role="system", user_agent="writer"):
                        trail.record("test.append", "thing", i, after={"i": i})
                        db.session.commit()
                    i += 1
            except Exception as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)
            finally:
                db.session.remove()

    writer = threading.Thread(target=append)
    writer.start()
    archive = tmp_path / "live.tar.gz"
    try:
        while True:  # let the writer get going, so the backup really races it
            with committed_app.app_context():
                if db.session.scalar(select(func.count(AuditEvent.seq))) > before + 20:
                    db.session.remove()
                    break
                db.session.remove()
        result = committed_app.test_cli_runner().invoke(args=["backup", "--out", str(archive)])
        assert result.exit_code == 0, result.output
    finally:
        stop.set()
        writer.join(timeout=60)
    assert not errors, errors[:3]
    with committed_app.app_context():
        after = db.session.scalar(select(func.count(AuditEvent.seq)))
        db.session.remove()

    target = make_app(databases.new_url(), tmp_path / "restored-live")
    result = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    with target.app_context():
        restored = db.session.scalar(select(func.count(AuditEvent.seq)))
        assert before + 20 < restored <= after  # a snapshot taken mid-stream
        fault, last, _ = verify_all()  # ...that is a whole, unbroken prefix of the chain
        assert fault is None and last == restored, str(fault)
        numbers = db.session.scalars(
            select(AuditEvent.entity_id)
            .where(AuditEvent.action == "test.append")
            .order_by(AuditEvent.seq)
        ).all()
        assert numbers == [str(i) for i in range(len(numbers))]  # no hole, no torn write
        db.session.remove()
        db.engine.dispose()
