"""Call states (STATES.md) and the one transition table of a call."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.permissions import ALLOW, Decision, deny
from app.core.workflow import State, Transition, Workflow, labelled


class CallState(State):
    DRAFT = "draft"
    PUBLISHED = "published"
    OPEN = "open"
    CLOSED = "closed"
    REVIEWING = "reviewing"
    NOTICE = "notice"
    DECIDED = "decided"
    ARCHIVED = "archived"


labelled(
    CallState,
    {
        "draft": (_l("草稿"), _l("未发布")),
        "published": (_l("已发布（未开始申报）"), _l("即将开始")),
        "open": (_l("申报中"), None),
        "closed": (_l("已截止"), None),
        "reviewing": (_l("评审中"), None),
        "notice": (_l("公示中"), None),
        "decided": (_l("已立项"), _l("已公布结果")),
        "archived": (_l("已归档"), None),
    },
)

KINDS = ("project", "pilot")
KIND_LABELS = {"project": _l("学会项目"), "pilot": _l("市县试点")}
CATEGORY_LABELS = {
    "consulting": _l("决策咨询"),
    "talent": _l("人才平台/引智"),
    "key_tech": _l("关键技术攻关"),
    "transfer": _l("产学研用转化"),
    "outreach": _l("精准科普"),
}
# States in which applicants can see the call.
PUBLIC_STATES = tuple(s.value for s in CallState if s is not CallState.DRAFT)


def _officer(user, _call) -> Decision:
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以执行此操作。"))


def _approver_or_officer(user, _call) -> Decision:
    if user is not None and user.has_role("officer", "approver"):
        return ALLOW
    return deny(_("只有学会部经办人或负责人可以执行此操作。"))


CALL_WORKFLOW = Workflow(
    "call",
    CallState,
    [
        Transition("publish", ("draft",), "published", _officer),
        Transition("open", ("published",), "open"),  # the clock
        Transition("close", ("open",), "closed"),  # the clock
        Transition("start_review", ("closed",), "reviewing", _officer),
        Transition("start_notice", ("reviewing",), "notice", _officer),
        Transition("decide", ("notice",), "decided", _approver_or_officer),
        Transition("archive", ("decided",), "archived", _officer),
    ],
)
