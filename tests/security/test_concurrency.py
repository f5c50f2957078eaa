"""No lost data under concurrency (on PostgreSQL, where it matters most).

- 100 interleaved edits of one draft: every save either succeeds with the next
  version or is refused with 409; none is lost silently.
- A double-submitted form (same body twice at once) creates one row.

The 50 racing award approvals (tests/awards/test_race.py) and the 16 × 25
concurrent audit appends (tests/audit/test_concurrency.py) live with their modules.
"""

from __future__ import annotations

import random
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.applications import operations as apps
from app.applications.models import Application
from app.audit.context import audit_context
from app.audit.models import AuditEvent
from app.audit.verify import verify_all
from app.core.errors import Conflict
from app.extensions import db
from app.ledger.models import LedgerTransfer
from app.stations.models import Station
from tests import factories
from tests.conftest import ON_POSTGRES, csrf_token, login

pytestmark = [
    pytest.mark.committed,
    pytest.mark.skipif(not ON_POSTGRES, reason="concurrency is proven on PostgreSQL"),
]
THREADS, EDITS = 10, 10


def test_interleaved_edits_never_lose_an_update(committed_app):
    with committed_app.app_context(), audit_context(actor_role="test"):
        applicant = factories.user("applicant")
        row = factories.application(factories.call(), applicant)
        db.session.commit()
        app_id, user_id, start = row.id, applicant.id, row.version
        station = row.station_id
    saved: list[tuple[int, str]] = []  # (version written, marker)
    refused: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def edit(thread: int) -> None:
        rng = random.Random(thread)
        with committed_app.app_context(), audit_context(actor_role="test"):
            try:
                barrier.wait()
                user = db.session.get(User, user_id)
                for i in range(EDITS):
                    marker = f"t{thread}-e{i}"
                    current = db.session.get(Application, app_id)
                    seen = current.version
                    db.session.commit()  # end the read; others may write now
                    if rng.random() < 0.5:
                        threading.Event().wait(rng.random() / 200)
                    data = factories.application_data(
                        db.session.get(Station, station), summary=marker
                    )
                    try:
                        done = apps.save_draft(
                            db.session.get(Application, app_id),
                            data,
                            actor=user,
                            expected_version=seen,
                        )
                        version = done.version
                        db.session.commit()
                        saved.append((version, marker))
                    except Conflict:
                        db.session.rollback()
                        refused.append(marker)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=edit, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    assert len(saved) + len(refused) == THREADS * EDITS
    assert saved and refused, "the edits did interleave"
    versions = sorted(v for v, _m in saved)
    assert versions == list(range(start + 1, start + 1 + len(saved))), "one version per save"
    with committed_app.app_context():
        row = db.session.get(Application, app_id)
        assert row.version == start + len(saved)
        assert row.summary == max(saved)[1], "the last successful save is what is stored"
        events = db.session.scalars(
            select(AuditEvent.after).where(
                AuditEvent.action == "application.save", AuditEvent.entity_id == str(app_id)
            )
        ).all()
        assert sorted(e["version"] for e in events if e["version"] > start) == versions
        fault, _last, _head = verify_all()
        assert fault is None, str(fault)
        db.session.remove()


def test_double_submitted_appropriation_creates_one_transfer(committed_app):
    with committed_app.app_context(), audit_context(actor_role="test"):
        finance = factories.user("finance")
        fund = factories.fund(amount_fen=0)
        db.session.commit()
        fund_id, who = fund.id, SimpleNamespace(email=finance.email)
    clients = []
    for _ in range(2):
        client = committed_app.test_client()
        with committed_app.app_context():
            login(client, who)
        clients.append(client)
    body = {"fund_id": str(fund_id), "amount": "1,000.00", "memo": "双击", "request_key": "k" * 32}
    answers: list[int] = []
    barrier = threading.Barrier(len(clients))

    def submit(client) -> None:
        with committed_app.app_context():
            token = csrf_token(client, "/ledger/appropriate")
            barrier.wait()
            answers.append(client.post("/ledger/appropriate", data={**body, "csrf_token": token}))
            db.session.remove()

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(a.status_code for a in answers)
    assert all(s < 500 for s in statuses), statuses
    with committed_app.app_context():
        rows = db.session.scalars(
            select(LedgerTransfer).where(LedgerTransfer.idempotency_key.like("web:appropriate:%"))
        ).all()
        assert len(rows) == 1 and rows[0].amount_fen == 100_000
        events = db.session.scalar(
            select(func.count(AuditEvent.seq)).where(AuditEvent.action == "ledger.appropriate")
        )
        assert events == 1, "one transfer, one audit event"
        fault, _last, _head = verify_all()
        assert fault is None, str(fault)
        db.session.remove()
