"""A phone-sized screen (390×844): the pages of the application and review paths
scroll only vertically (wide tables scroll inside their own box)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.reviews import operations as reviews
from tests import factories
from tests.e2e.conftest import login, screenshot

WIDTH, HEIGHT = 390, 844


def _setup(live_app) -> dict:
    """A call with a draft, an accepted application under review, and a reviewer who has
    accepted and scored it — so that every page has rows to show."""
    with live_app.app_context():
        officer = factories.user("officer")
        the_call = factories.call(officer=officer, reviews_per_application=3)
        applicant = factories.user("applicant")
        draft = factories.application(the_call, applicant)
        accepted = factories.accepted(the_call, officer=officer, title="义乌小商品数字化服务站")
        submitted = factories.submitted(the_call, title="温州鞋革产业服务站")
        secretariat = factories.society_admin_of(submitted.society)  # sees the endorsement form
        for _ in range(3):
            factories.expert(officer)
        draw = reviews.run_draw(the_call, actor=officer, seed=7)
        assignment = reviews.confirm_draw(draw, actor=officer)[0]
        reviewer = assignment.expert.user
        reviews.respond(assignment, "accept", actor=reviewer, no_conflict=True, pledge=True)
        scores = dict.fromkeys(
            ("need", "service_plan", "expert_team", "co_building", "outcomes", "budget"), "8"
        )
        reviews.submit_sheet(
            assignment,
            {"scores": scores, "comments": {}, "vetoes": {}, "overall_comment": "可行。"},
            actor=reviewer,
        )
        db.session.commit()
        c, a, r = the_call.id, accepted.id, assignment.id
        return {
            None: ["/login", "/register/society", "/calls", f"/calls/{c}"],
            applicant.email: [
                "/",
                "/applications",
                f"/applications/{draft.id}/edit",
                f"/applications/{draft.id}",
            ],
            secretariat.email: [f"/applications/{submitted.id}"],
            officer.email: [
                "/societies",
                f"/applications?call={c}",
                f"/applications/{a}",
                "/reviews/calls",
                f"/reviews/calls/{c}/draw",
                f"/reviews/calls/{c}/ranking",
            ],
            reviewer.email: [
                "/reviews/mine",
                f"/reviews/assignments/{r}",
                f"/reviews/assignments/{r}/application",
                f"/reviews/assignments/{r}/sheet",
            ],
        }


@pytest.fixture
def narrow(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": WIDTH, "height": HEIGHT})
    tab = context.new_page()
    yield tab
    context.close()


def test_main_pages_have_no_horizontal_scroll(live_app, live_server, narrow):
    pages = _setup(live_app)
    too_wide = []
    for email, paths in pages.items():
        if email is not None:
            login(narrow, live_server, email, factories.PASSWORD)
        for path in paths:
            response = narrow.goto(f"{live_server}{path}")
            assert response.status == 200, (path, response.status)
            width = narrow.evaluate("document.documentElement.scrollWidth")
            if width > WIDTH:
                too_wide.append((path, width))
                name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")
                screenshot(narrow, f"narrow-{name or 'home'}")
        narrow.context.clear_cookies()  # signed out (the menu is collapsed on a phone)
    assert too_wide == []
