"""Reviewers download the attachments of the revision they review: only their own,
accepted and declared assignments; every download audited."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.reviews import operations as ops
from tests import factories
from tests.conftest import login


def _round():
    r = factories.review_round(n_apps=1, n_experts=4)
    r.rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=3), actor=r.officer)
    db.session.flush()
    return r


def _events(row):
    return db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "review_assignment.attachment",
            AuditEvent.entity_id == str(row.id),
        )
    ).all()


def test_accepted_reviewer_downloads_the_reviewed_revisions_files(client, session):
    r = _round()
    row = r.rows[0]
    ops.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
    db.session.flush()
    login(client, row.expert.user)
    page = client.get(f"/reviews/assignments/{row.id}/application").get_data(as_text=True)
    assert f"/reviews/assignments/{row.id}/attachments/0" in page
    response = client.get(f"/reviews/assignments/{row.id}/attachments/0")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.data == factories.PDF_BYTES
    assert response.mimetype == "application/pdf"
    events = _events(row)
    assert len(events) == 1
    assert events[0].after["sha256"] and events[0].after["application_id"] == row.application_id
    n = len(r.call.required_attachments)
    assert client.get(f"/reviews/assignments/{row.id}/attachments/{n}").status_code == 404
    assert len(_events(row)) == 1


def test_others_and_undeclared_get_404(client, session):
    r = _round()
    mine, other = r.rows[0], r.rows[1]
    login(client, mine.expert.user)
    # Invited but not yet declared: 404.
    assert client.get(f"/reviews/assignments/{mine.id}/attachments/0").status_code == 404
    # Someone else's assignment, even accepted: 404.
    ops.respond(other, "accept", actor=other.expert.user, no_conflict=True, pledge=True)
    db.session.flush()
    assert client.get(f"/reviews/assignments/{other.id}/attachments/0").status_code == 404
    # Declined: 404.
    ops.respond(mine, "decline", actor=mine.expert.user, reason="出差")
    db.session.flush()
    assert client.get(f"/reviews/assignments/{mine.id}/attachments/0").status_code == 404
    assert _events(mine) == [] and _events(other) == []


def test_officer_cannot_use_the_reviewer_route(client, session):
    r = _round()
    login(client, r.officer)
    assert client.get(f"/reviews/assignments/{r.rows[0].id}/attachments/0").status_code == 403
