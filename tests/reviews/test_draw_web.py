"""The officer's draw page: run inline, confirm, and the big-call path as a job."""

from __future__ import annotations

from sqlalchemy import select

from app.core import jobs
from app.core.models import Job
from app.extensions import db
from app.reviews.models import ReviewAssignment, ReviewDraw
from tests import factories
from tests.conftest import csrf_token, login


def _post(client, path, data=None):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)})


def test_officer_draws_confirms_and_sees_assignments(client, session):
    r = factories.review_round(n_apps=2, n_experts=6)
    login(client, r.officer)
    page = client.get(f"/reviews/calls/{r.call.id}/draw").get_data(as_text=True)
    assert "待抽取的已受理申报书：2 份" in page
    answer = _post(client, f"/reviews/calls/{r.call.id}/draw", {"seed": "123"})
    assert answer.status_code == 302
    draw = db.session.scalar(select(ReviewDraw))
    assert draw.seed == 123
    page = client.get(f"/reviews/calls/{r.call.id}/draw").get_data(as_text=True)
    assert "待确认的抽取结果" in page and "123" in page
    assert _post(client, f"/reviews/draws/{draw.id}/confirm").status_code == 302
    assert len(db.session.scalars(select(ReviewAssignment)).all()) == 6
    page = client.get(f"/reviews/calls/{r.call.id}/draw").get_data(as_text=True)
    assert page.count("<td>已通知</td>") == 6


def test_infeasible_draw_shows_reasons_on_the_page(client, session):
    r = factories.review_round(n_apps=1, n_experts=2)
    login(client, r.officer)
    answer = client.post(
        f"/reviews/calls/{r.call.id}/draw",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )
    text = answer.get_data(as_text=True)
    assert "无法完成抽取" in text and "少于所需 3 人" in text
    assert db.session.scalar(select(ReviewDraw.id)) is None


def test_big_draw_runs_as_a_job(client, session, app):
    r = factories.review_round(n_apps=1, n_experts=4)
    app.config["REVIEW_DRAW_INLINE_MAX"] = 1
    try:
        login(client, r.officer)
        answer = _post(client, f"/reviews/calls/{r.call.id}/draw", {"seed": "5"})
        assert answer.status_code == 302
        job = db.session.scalar(select(Job).where(Job.kind == "reviews.draw"))
        assert job.state == "queued" and job.payload["call_id"] == r.call.id
        page = client.get(f"/reviews/calls/{r.call.id}/draw").get_data(as_text=True)
        assert f"/jobs/{job.id}" in page
        result = jobs.HANDLERS["reviews.draw"](job, lambda *a, **k: None)
        assert result["ok"] is True
        assert db.session.get(ReviewDraw, result["draw_id"]).seed == 5
    finally:
        app.config["REVIEW_DRAW_INLINE_MAX"] = 50_000


def test_reviewer_and_approver_cannot_draw(client, session):
    r = factories.review_round(n_apps=1, n_experts=3)
    login(client, factories.user("approver"))
    assert client.get(f"/reviews/calls/{r.call.id}/draw").status_code == 403
    assert client.get(f"/reviews/calls/{r.call.id}/ranking").status_code == 200
