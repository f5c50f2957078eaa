"""Application states (STATES.md) and the one transition table of an application."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.permissions import ALLOW, Decision, deny
from app.core.workflow import State, Transition, Workflow, labelled


class ApplicationState(State):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ENDORSED = "endorsed"
    RETURNED = "returned"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    IN_REVIEW = "in_review"
    REVIEWED = "reviewed"
    PROPOSED = "proposed"
    NOT_FUNDED = "not_funded"
    AWARDED = "awarded"
    WITHDRAWN = "withdrawn"


labelled(
    ApplicationState,
    {
        "draft": (_l("草稿"), _l("草稿")),
        "submitted": (_l("已提交（待单位审核）"), _l("已提交")),
        "endorsed": (_l("单位已审核（待形式审查）"), _l("已提交")),
        "returned": (_l("退回修改"), _l("退回修改")),
        "rejected": (_l("不予受理"), _l("不予受理")),
        "accepted": (_l("已受理"), _l("已受理")),
        "in_review": (_l("评审中"), _l("评审中")),
        "reviewed": (_l("评审完成"), _l("评审中")),
        "proposed": (_l("拟立项"), _l("评审中")),
        "not_funded": (_l("未立项"), _l("未立项")),
        "awarded": (_l("已立项"), _l("已立项")),
        "withdrawn": (_l("已撤回"), _l("已撤回")),
    },
)

# Submitted at least once: a project number and a revision exist.
SUBMITTED_STATES = tuple(s.value for s in ApplicationState if s.value not in ("draft", "withdrawn"))
# Past the society's endorsement (endorsed_at is set).
ENDORSED_STATES = (
    "endorsed",
    "rejected",
    "accepted",
    "in_review",
    "reviewed",
    "proposed",
    "not_funded",
    "awarded",
)
EDITABLE_STATES = ("draft", "returned")
# Accepted for review: what the review module draws experts for.
REVIEWABLE_STATES = ("accepted", "in_review", "reviewed", "proposed", "not_funded", "awarded")


def _own_society(user, app) -> Decision:
    staff = user is not None and user.has_role("applicant", "society_admin")
    if staff and user.org_id == app.society_id:
        return ALLOW
    return deny(_("只有本学会的申报人员可以执行此操作。"))


def _society_admin(user, app) -> Decision:
    if user is not None and user.has_role("society_admin") and user.org_id == app.society_id:
        return ALLOW
    return deny(_("只有本学会秘书处可以进行单位审核。"))


def _officer(user, _app) -> Decision:
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以进行形式审查。"))


def _matching_confirmed(app) -> str | None:
    if app.call.matching_required and app.matching_confirmed_at is None:
        return _("地方配套资金尚未经共建地方确认，不能受理。")
    return None


def _returns_left(app) -> str | None:
    if app.return_count >= app.call.max_returns:
        return _("已达到退回修改次数上限（%(n)s次），只能受理或不予受理。", n=app.call.max_returns)
    return None


APPLICATION_WORKFLOW = Workflow(
    "application",
    ApplicationState,
    [
        Transition("submit", ("draft", "returned"), "submitted", _own_society),
        Transition("endorse", ("submitted",), "endorsed", _society_admin),
        Transition("society_return", ("submitted",), "returned", _society_admin, needs_reason=True),
        Transition("accept", ("endorsed",), "accepted", _officer, guards=(_matching_confirmed,)),
        Transition(
            "return",
            ("endorsed",),
            "returned",
            _officer,
            guards=(_returns_left,),
            needs_reason=True,
        ),
        Transition("reject", ("endorsed",), "rejected", _officer, needs_reason=True),
        Transition("withdraw", ("draft", "submitted", "returned"), "withdrawn", _own_society),
        # Driven by the review and award modules through operations.advance_application.
        Transition("start_review", ("accepted",), "in_review"),
        Transition("finish_review", ("in_review",), "reviewed"),
        Transition("propose", ("reviewed",), "proposed"),
        Transition("not_fund", ("reviewed", "proposed"), "not_funded"),
        Transition("award", ("proposed",), "awarded"),
        # An overturned reconsideration (复审改变原决定) sends it back to the decision.
        Transition("reconsider", ("not_funded",), "reviewed"),
        # Awards module (issue 5): an overturned reconsideration may send it back to
        # review (重新评审); an award withdrawn before publication sends it back to the
        # decision.
        Transition("rereview", ("not_funded",), "in_review"),
        Transition("unpropose", ("proposed",), "reviewed"),
    ],
)
