"""Submission: deadline, per-society limit, project numbers, immutable revisions, idempotency."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.applications import operations as apps
from app.applications.models import Revision
from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from tests import factories
from tests.conftest import csrf_token, login


def test_submit_assigns_a_number_and_an_immutable_revision(session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = factories.application(call, applicant)
    app, created = apps.submit_application(app, actor=applicant)
    assert created and app.state == "submitted"
    assert app.project_number == "2026-ZL-001"
    revision = session.scalar(select(Revision).where(Revision.application_id == app.id))
    assert revision.number == 1 and revision.snapshot["title"] == app.title
    assert revision.snapshot["requested_fen"] == 4_400_000
    from app.applications.operations.common import sha256_of

    assert revision.sha256 == sha256_of(revision.snapshot)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "application.submit"))
    assert event.before == {"state": "draft"}
    assert event.after["project_number"] == "2026-ZL-001"
    assert event.after["sha256"] == revision.sha256
    with pytest.raises(Exception, match="append-only"):
        session.execute(
            text("UPDATE application_revision SET sha256 = 'x' WHERE id = :i"), {"i": revision.id}
        )


def test_incomplete_submission_lists_every_missing_item(session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    with pytest.raises(ValidationFailed) as exc:
        apps.submit_application(app, actor=applicant)
    assert "申报书尚不完整" in exc.value.message
    assert len(exc.value.details) >= 15
    assert "请填写项目名称。" in exc.value.details
    assert app.state == "draft" and app.project_number is None


def test_one_second_after_closing_is_refused(session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = factories.application(call, applicant)
    closes = clock.as_utc(call.closes_at)
    with clock.frozen(closes + timedelta(seconds=1)), pytest.raises(NotAllowed, match="截止"):
        apps.submit_application(app, actor=applicant)
    assert app.state == "draft"
    with clock.frozen(closes - timedelta(seconds=1)):
        apps.submit_application(app, actor=applicant)
    assert app.state == "submitted"


def test_per_society_limit(session):
    call = factories.call("open", per_society_limit=1)
    applicant = factories.user("applicant")
    factories.submitted(call, applicant)
    second = factories.application(call, applicant, title="第二个项目")
    with pytest.raises(Conflict, match="限报 1 项"):
        apps.submit_application(second, actor=applicant)
    assert second.project_number is None


def test_project_numbers_are_sequential_and_unique_per_call(session):
    call = factories.call("open", number_pattern="{year}-SZ-{seq:04d}")
    numbers = [factories.submitted(call).project_number for _ in range(3)]
    assert numbers == ["2026-SZ-0001", "2026-SZ-0002", "2026-SZ-0003"]
    other = factories.call("open")
    assert factories.submitted(other).project_number == "2026-ZL-001"


def test_double_clicked_submit_creates_one_submission(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = factories.application(call, applicant)
    login(client, applicant)
    token = csrf_token(client, f"/applications/{app.id}")
    version = str(app.version)
    first = client.post(
        f"/applications/{app.id}/submit", data={"csrf_token": token, "version": version}
    )
    second = client.post(
        f"/applications/{app.id}/submit", data={"csrf_token": token, "version": version}
    )
    assert first.status_code == 302 and second.status_code == 302
    assert len(apps.revisions_of(app)) == 1
    submits = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "application.submit", AuditEvent.entity_id == str(app.id)
        )
    ).all()
    assert len(submits) == 1
    page = client.get(f"/applications/{app.id}").get_data(as_text=True)
    assert "已提交" in page and "2026-ZL-001" in page


def test_resubmission_after_return_keeps_the_number_and_adds_a_revision(session):
    call = factories.call("open", max_returns=2)
    applicant = factories.user("applicant")
    app = factories.endorsed(call, applicant)
    apps.check_application(app, "return", actor=factories.user("officer"), reason="预算说明不清")
    assert app.state == "returned" and app.endorsed_at is None
    apps.save_draft(
        app,
        {**_data(app), "summary": "补充后的摘要"},
        actor=applicant,
        expected_version=app.version,
    )
    apps.submit_application(app, actor=applicant)
    assert app.project_number == "2026-ZL-001"
    revisions = apps.revisions_of(app)
    assert [r.number for r in revisions] == [1, 2]
    assert revisions[1].snapshot["summary"] == "补充后的摘要"
    assert revisions[0].snapshot["summary"] != "补充后的摘要"


def _data(app):
    snap = apps.snapshot(app)
    from datetime import date

    for m in snap["milestones"]:
        m["due_on"] = date.fromisoformat(m["due_on"]) if m["due_on"] else None
    snap["targets"] = [{**t} for t in snap["targets"]]
    return snap
