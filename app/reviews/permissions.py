"""Who runs the pool, the draw, scoring and ranking. Each rule returns a Decision.

Reviewers see only applications assigned to them after declaring no conflict;
other users never see who reviewed what; admins see no scores (三员分立).
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.core.permissions import ALLOW, Decision, deny, register_permissions
from app.reviews.states import DECLARED_STATES, SCORING_STATES

register_permissions(
    {
        "reviews.manage": {"officer"},
        "reviews.rank": {"officer", "approver"},
        "reviews.score": {"reviewer"},
        "reviews.fees": {"officer", "finance"},
    }
)


def can_manage_pool(user, _expert=None) -> Decision:
    """Officers keep the expert pool."""
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以管理专家库。"))


def can_draw(user, _call=None) -> Decision:
    """Officers draw and confirm reviewers."""
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以抽取专家。"))


def can_rank(user, _call=None) -> Decision:
    """Officers and the department head see the aggregated scores and ranking."""
    if user is not None and user.has_role("officer", "approver"):
        return ALLOW
    return deny(_("只有学会部经办人或负责人可以查看评审结果。"))


def can_view_fees(user, _call=None) -> Decision:
    """Officers and finance see the fee sheet."""
    if user is not None and user.has_role("officer", "finance"):
        return ALLOW
    return deny(_("只有学会部经办人或财务人员可以查看专家咨询费。"))


def _own(user, assignment) -> bool:
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.has_role("reviewer")
        and assignment.expert.user_id == user.id
    )


def can_respond(user, assignment) -> Decision:
    """The invited expert accepts (declaring no conflict), declines or recuses."""
    if not _own(user, assignment):
        return deny(_("页面不存在，或您无权查看。"))
    if assignment.state != "invited":
        return deny(_("您已答复过此评审邀请。"))
    return ALLOW


def can_view_assigned(user, assignment) -> Decision:
    """The expert sees the application only once they declared no conflict."""
    if not _own(user, assignment):
        return deny(_("页面不存在，或您无权查看。"))
    if assignment.state not in DECLARED_STATES:
        return deny(_("请先确认无利益冲突并签署保密承诺。"))
    return ALLOW


def can_score(user, assignment) -> Decision:
    """The expert edits their own sheet while it is accepted or reopened."""
    decision = can_view_assigned(user, assignment)
    if not decision:
        return decision
    if assignment.state not in SCORING_STATES:
        return deny(_("评分已提交并锁定。"))
    return ALLOW


def can_reopen(user, assignment) -> Decision:
    """Officers reopen a submitted sheet, with a reason."""
    if not (user is not None and user.has_role("officer")):
        return deny(_("只有学会部经办人可以退回重评。"))
    if assignment.state != "submitted":
        return deny(_("只有已提交的评分可以退回重评。"))
    return ALLOW


# --- panel review (会议评审/答辩) ---


def can_manage_panel(user, _panel=None) -> Decision:
    """Officers form the panel, run the meeting and write the panel opinion."""
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以管理会议评审。"))


def can_view_panel(user, _panel=None) -> Decision:
    """Officers and the department head see the panel, its marks once sealed, the result."""
    return can_rank(user)


def panel_member_of(user, panel):
    """The signed-in reviewer's membership of ``panel``, or None."""
    if not (
        user is not None and getattr(user, "is_authenticated", False) and user.has_role("reviewer")
    ):
        return None
    return next((m for m in panel.members if m.expert.user_id == user.id), None)


def can_mark(user, member) -> Decision:
    """A member records their own scores or votes once, while the panel is scoring."""
    if member is None or panel_member_of(user, member.panel) is not member:
        return deny(_("页面不存在，或您无权查看。"))
    if member.panel.state != "scoring":
        return deny(_("当前不在独立评分阶段。"))
    if member.attendance == "absent":
        return deny(_("缺席的评审组成员不评分。"))
    if member.submitted_at is not None:
        return deny(_("您的评分已提交并封存。"))
    return ALLOW


def can_see_marks(user, panel) -> Decision:
    """Nobody sees the members' marks until scoring is closed (all submitted, or the
    chair or the officer closed it); then the members and the department do."""
    if panel.state in ("forming", "scoring"):
        return deny(_("评分尚未封存，暂不公开。"))
    if can_view_panel(user) or panel_member_of(user, panel) is not None:
        return ALLOW
    return deny(_("页面不存在，或您无权查看。"))


def can_sign(user, member) -> Decision:
    """An attending member signs the panel opinion or writes a dissent, once."""
    if member is None or panel_member_of(user, member.panel) is not member:
        return deny(_("页面不存在，或您无权查看。"))
    if member.panel.state != "signing":
        return deny(_("评审意见尚未提交签署。"))
    if member.attendance == "absent":
        return deny(_("缺席的评审组成员不签署评审意见。"))
    if member.has_answered:
        return deny(_("您已签署或提交了不同意见。"))
    return ALLOW
