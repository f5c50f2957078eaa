"""Concurrent submissions to one call get unique project numbers with no gaps."""

import threading

import pytest

from app.applications import operations as apps
from app.applications.models import Application
from app.audit.context import audit_context
from app.extensions import db
from tests import factories

pytestmark = pytest.mark.committed


def test_concurrent_submissions_number_without_gaps_or_duplicates(committed_app):
    with committed_app.app_context(), audit_context(actor_role="test"):
        call = factories.call("open", per_society_limit=1)
        pairs = []
        for _ in range(6):
            applicant = factories.user("applicant")
            pairs.append((factories.application(call, applicant).id, applicant.id))
        db.session.commit()
        call_id = call.id
    barrier = threading.Barrier(len(pairs))
    errors = []

    def submit(app_id, user_id):
        from app.accounts.models import User

        with committed_app.app_context(), audit_context(actor_role="test"):
            try:
                barrier.wait()
                row = db.session.get(Application, app_id)
                apps.submit_application(row, actor=db.session.get(User, user_id))
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with committed_app.app_context():
        numbers = sorted(
            db.session.scalars(
                db.select(Application.project_number).where(Application.call_id == call_id)
            )
        )
    assert numbers == [f"2026-ZL-{i:03d}" for i in range(1, 7)]
