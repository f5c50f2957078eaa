"""The reviewer's pages: 404 for others and before declaring, the score sheet's
validation with nothing saved, submit locks, the officer's audited reopen."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.reviews import operations as ops
from app.reviews.models import ReviewScore
from tests import factories
from tests.conftest import csrf_token, login, statements

GOOD = {
    "score-need": "8.5",
    "score-service_plan": "7",
    "score-expert_team": "9",
    "score-co_building": "6",
    "score-outcomes": "7.5",
    "score-budget": "8",
    "overall_comment": "方案可行。",
}


def _round(session, n_experts=4):
    r = factories.review_round(n_apps=1, n_experts=n_experts)
    r.rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=9), actor=r.officer)
    db.session.flush()
    return r


def _post(client, path, data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client)})


def test_reviewer_cannot_open_another_assignment_nor_before_accepting(client, session):
    r = _round(session)
    mine, other = r.rows[0], r.rows[1]
    login(client, mine.expert.user)
    assert client.get(f"/reviews/assignments/{other.id}").status_code == 404
    assert client.get(f"/reviews/assignments/{mine.id}/application").status_code == 404
    assert client.get(f"/reviews/assignments/{mine.id}/sheet").status_code == 404
    page = client.get(f"/reviews/assignments/{mine.id}").get_data(as_text=True)
    assert r.apps[0].society.name in page and "保密" in page
    answer = _post(
        client, f"/reviews/assignments/{mine.id}", {"action": "accept", "no_conflict": "y"}
    )
    assert answer.status_code == 303 and mine.state == "invited"
    answer = _post(
        client,
        f"/reviews/assignments/{mine.id}",
        {"action": "accept", "no_conflict": "y", "pledge": "y"},
    )
    assert answer.status_code == 302 and mine.state == "accepted"
    shown = client.get(f"/reviews/assignments/{mine.id}/application")
    assert shown.status_code == 200 and r.apps[0].title in shown.get_data(as_text=True)
    assert client.get(f"/reviews/assignments/{other.id}/application").status_code == 404
    assert client.get(f"/reviews/assignments/{other.id}/sheet").status_code == 404


def test_officer_and_applicant_cannot_open_reviewer_pages(client, session):
    r = _round(session)
    login(client, r.officer)
    assert client.get(f"/reviews/assignments/{r.rows[0].id}/sheet").status_code == 403


def _accepted(client, r):
    row = r.rows[0]
    ops.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
    db.session.flush()
    login(client, row.expert.user)
    return row


def test_bad_sheets_get_precise_messages_and_nothing_is_saved(client, session):
    r = _round(session)
    row = _accepted(client, r)
    path = f"/reviews/assignments/{row.id}/sheet"
    page = client.get(path).get_data(as_text=True)
    assert "需求与契合度" in page and "未说明园区需求" in page and 'id="live-total"' in page
    bad = {
        **GOOD,
        "score-need": "11",
        "score-expert_team": "7.5",
        "score-co_building": "3",
        "veto-duplicate_funding": "1",
        "action": "submit",
    }
    answer = _post(client, path, bad)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "的得分 11 超出 0–10" in text
    assert "的得分 7.5 须以 1 为步长（自 0 起）" in text
    assert "得分低于 4，须填写评语" in text
    assert "否决项「同一内容重复申报或已获其他财政资金资助」须填写理由" in text
    assert "评分表有 4 处问题，未提交。" in text
    assert row.state == "accepted"
    assert db.session.scalars(select(ReviewScore)).all() == []
    assert 'value="11"' in text  # what was typed is kept


def test_draft_then_submit_locks_and_pins(client, session):
    r = _round(session)
    row = _accepted(client, r)
    path = f"/reviews/assignments/{row.id}/sheet"
    draft = _post(client, path, {"score-need": "8.5", "action": "save"})
    assert draft.status_code == 302 and row.state == "accepted"
    assert row.score_map() == {"need": "8.5"}
    done = _post(client, path, {**GOOD, "action": "submit"})
    assert done.status_code == 302
    assert row.state == "submitted" and row.submitted_at is not None
    assert row.rubric_snapshot_id == r.call.rubric_snapshot_id and row.revision_id is not None
    assert row.total == "76.50"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "review_assignment.submit")
    ).one()
    assert event.after["scores"]["need"] == "8.5" and event.after["total"] == "76.50"
    locked = _post(client, path, {**GOOD, "score-need": "2", "action": "submit"})
    assert locked.status_code == 303 and row.score_map()["need"] == "8.5"
    page = client.get(path).get_data(as_text=True)
    assert "评分已提交并锁定" in page and "disabled" in page


def test_reopen_needs_reason_and_is_audited(client, session):
    r = _round(session)
    row = _accepted(client, r)
    _post(client, f"/reviews/assignments/{row.id}/sheet", {**GOOD, "action": "submit"})
    assert row.state == "submitted"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, r.officer)
    refused = _post(client, f"/reviews/assignments/{row.id}/reopen", {"reason": ""})
    assert refused.status_code == 303 and row.state == "submitted"
    done = _post(client, f"/reviews/assignments/{row.id}/reopen", {"reason": "评语与分数不符"})
    assert done.status_code == 302 and row.state == "reopened" and row.submitted_at is None
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "review_assignment.reopen")
    ).one()
    assert event.reason == "评语与分数不符" and event.after["previous_total"] == "76.50"
    assert event.actor_id == r.officer.id


def test_not_applicable_is_null_never_zero(session):
    r = _round(session)
    row = r.rows[0]
    ops.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
    scores = {k.removeprefix("score-"): v for k, v in GOOD.items() if k.startswith("score-")}
    ops.save_sheet(row, {"scores": {**scores, "budget": None}}, actor=row.expert.user)
    stored = {s.criterion_key: s.score for s in row.scores}
    assert stored["budget"] is None
    # budget is required in this rubric: N/A is refused at submission.
    import pytest

    with pytest.raises(Exception, match="评分表有"):
        ops.submit_sheet(row, {"scores": {**scores, "budget": None}}, actor=row.expert.user)


def test_saving_the_sheet_reads_the_assignment_once_and_not_the_roles_again(client, session):
    r = _round(session)
    row = _accepted(client, r)
    path = f"/reviews/assignments/{row.id}/sheet"
    token = csrf_token(client)
    with statements(session.get_bind()) as seen:
        answer = client.post(path, data={"score-need": "8", "action": "save", "csrf_token": token})
    assert answer.status_code == 302 and row.score_map() == {"need": "8"}
    reads = [s for s in seen if s.startswith("SELECT")]
    assert len([s for s in reads if "FROM review_assignment" in s]) == 1
    # the user and roles are read once, by the request's user loading (one statement)
    assert len([s for s in reads if "user_role" in s]) == 1
    # the rubric's digest comes with the assignment, not in a statement of its own
    assert not [s for s in reads if s.startswith("SELECT rubric_snapshot")]


def test_showing_the_sheet_reads_the_rubric_digest_with_the_assignment(client, session):
    r = _round(session)
    row = _accepted(client, r)
    path = f"/reviews/assignments/{row.id}/sheet"
    assert client.get(path).status_code == 200  # the rubric parsed, kept for its digest
    with statements(session.get_bind()) as seen:
        page = client.get(path)
    assert page.status_code == 200 and "评分表" in page.get_data(as_text=True)
    reads = [s for s in seen if s.startswith("SELECT")]
    assert not [s for s in reads if "rubric_snapshot.id =" in s and "coalesce" not in s], reads
    assert len([s for s in reads if "FROM review_assignment" in s]) == 1
