"""Who sees and does what in performance evaluation. Each rule returns a Decision."""

from __future__ import annotations

from flask_babel import gettext as _

from app.core.permissions import ALLOW, Decision, deny, register_permissions

register_permissions(
    {
        # Route-level: object rules below narrow each to the engagement or the society.
        "evaluation.read": {
            "officer",
            "approver",
            "auditor",
            "evaluator",
            "applicant",
            "society_admin",
        },
        "evaluation.engage": {"officer"},
        "evaluation.decide": {"officer", "approver"},
        "evaluation.score": {"evaluator"},
        "evaluation.self": {"applicant", "society_admin"},
        "rectification.act": {"officer", "approver", "evaluator", "applicant", "society_admin"},
    }
)
STAFF = ("officer", "approver", "auditor")
NOT_FOUND = "页面不存在，或您无权查看。"


def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def can_engage(user) -> Decision:
    """The department's officer engages an agency."""
    if _authenticated(user) and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以委托评价机构。"))


def can_view_engagement(user, engagement) -> Decision:
    """Staff see every engagement; an evaluator only one they are a member of."""
    if not _authenticated(user):
        return deny(_("请先登录。"))
    if user.has_role(*STAFF):
        return ALLOW
    if user.has_role("evaluator") and engagement.member_for(user) is not None:
        return ALLOW
    return deny(_(NOT_FOUND))


def can_view_evaluation(user, evaluation) -> Decision:
    """Staff; members of the engagement who declared independence; the project's society."""
    if not _authenticated(user):
        return deny(_("请先登录。"))
    if user.has_role(*STAFF):
        return ALLOW
    if user.has_role("evaluator"):
        member = evaluation.engagement.member_for(user)
        if member is not None and member.may_access:
            return ALLOW
        if member is not None and member.recused_at is None:
            return deny(_("请先声明与被评价项目无利益关联，然后才能查看项目材料。"))
        return deny(_(NOT_FOUND))
    if user.has_role("applicant", "society_admin") and user.org_id == evaluation.project.society_id:
        return ALLOW
    return deny(_(NOT_FOUND))


def can_score(user, evaluation) -> Decision:
    """An engaged evaluator who declared independence edits the agency sheet while evaluating."""
    member = evaluation.engagement.member_for(user)
    if member is None or not user.has_role("evaluator") or not member.may_access:
        return deny(_("只有已声明独立性的本次委托评价人员可以评分。"))
    if str(evaluation.state) != "evaluating":
        return deny(_("只有评价中的项目可以评分。"))
    return ALLOW


def can_self_evaluate(user, evaluation) -> Decision:
    """The project's society fills the self-evaluation while it is asked for."""
    if not (
        _authenticated(user)
        and user.has_role("applicant", "society_admin")
        and user.org_id == evaluation.project.society_id
    ):
        return deny(_("只有项目承担学会可以填写自评。"))
    if str(evaluation.state) != "self_evaluating":
        return deny(_("当前不在自评阶段。"))
    return ALLOW


def can_see_agency_sheet(user, evaluation) -> Decision:
    """The society sees the agency's scores only once the department has accepted them."""
    if user.has_role(*STAFF, "evaluator"):
        return ALLOW
    if str(evaluation.state) == "accepted":
        return ALLOW
    return deny(_("评价报告采纳后可见。"))


def can_view_item(user, item) -> Decision:
    """A rectification item: whoever may see its evaluation."""
    return can_view_evaluation(user, item.evaluation)
