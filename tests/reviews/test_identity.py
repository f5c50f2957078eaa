"""匿名评审: a call may hide the applicant's identity from its reviewers; applicants
never see who reviewed them."""

from __future__ import annotations

from app.calls import operations as calls
from app.extensions import db
from app.reviews import operations as ops
from tests import factories
from tests.conftest import login

SCORES = {
    "need": "8",
    "service_plan": "7",
    "expert_team": "9",
    "co_building": "6",
    "outcomes": "7.5",
    "budget": "8",
}


def _round(hidden: bool):
    r = factories.review_round(n_apps=1, n_experts=4)
    r.call.hide_applicant_identity = hidden
    r.rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=5), actor=r.officer)
    db.session.flush()
    return r


def _accept(row):
    ops.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
    db.session.flush()


def test_the_setting_defaults_to_shown_and_is_kept(session):
    officer = factories.user("officer")
    shown = factories.call(state="draft", officer=officer)
    assert shown.hide_applicant_identity is False
    hidden = factories.call(state="draft", officer=officer, hide_applicant_identity=True)
    assert hidden.hide_applicant_identity is True
    calls.update_call(hidden, {"hide_applicant_identity": False}, actor=officer)
    assert hidden.hide_applicant_identity is False


def test_the_call_form_offers_the_setting(client, session):
    officer = factories.user("officer")
    login(client, officer)
    page = client.get("/calls/new").get_data(as_text=True)
    assert 'name="hide_applicant_identity"' in page and "匿名评审" in page


def _identity_strings(app):
    return [app.society.name, "钱教授", "李工", "浙江大学", "浙江工业大学"]


def test_hidden_identity_shows_only_a_neutral_code_to_the_reviewer(client, session):
    r = _round(hidden=True)
    app, row = r.apps[0], r.rows[0]
    login(client, row.expert.user)
    invite = client.get(f"/reviews/assignments/{row.id}").get_data(as_text=True)
    assert app.project_number in invite and "匿名评审" in invite
    assert app.society.name not in invite
    _accept(row)
    pages = {
        "mine": client.get("/reviews/mine"),
        "invite": client.get(f"/reviews/assignments/{row.id}"),
        "application": client.get(f"/reviews/assignments/{row.id}/application"),
        "sheet": client.get(f"/reviews/assignments/{row.id}/sheet"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        text = response.get_data(as_text=True)
        assert app.project_number in text, name
        for secret in _identity_strings(app):
            assert secret not in text, (name, secret)
    application = pages["application"].get_data(as_text=True)
    assert app.title in application and "成员 1" in application


def test_shown_identity_lists_society_and_team(client, session):
    r = _round(hidden=False)
    app, row = r.apps[0], r.rows[0]
    _accept(row)
    login(client, row.expert.user)
    text = client.get(f"/reviews/assignments/{row.id}/application").get_data(as_text=True)
    for secret in _identity_strings(app):
        assert secret in text, secret


def test_applicant_never_sees_reviewer_identity(client, session):
    r = _round(hidden=False)
    app, row = r.apps[0], r.rows[0]
    _accept(row)
    ops.submit_sheet(
        row, {"scores": SCORES, "overall_comment": "方案可行。"}, actor=row.expert.user
    )
    db.session.flush()
    applicant = factories._applicant_of(app)
    login(client, applicant)
    page = client.get(f"/applications/{app.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for expert in r.experts:
        assert expert.user.name not in text
        assert expert.user.email not in text
    assert client.get(f"/reviews/assignments/{row.id}").status_code == 403
    assert client.get(f"/reviews/assignments/{row.id}/sheet.pdf").status_code == 403
    assert client.get(f"/reviews/calls/{r.call.id}/ranking").status_code == 403
