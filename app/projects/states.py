"""Project, milestone and tranche states (STATES.md).

Minimal hand-over from the awards module: every state value and label is here;
the awards module only creates a project (awaiting_agreement), starts it when
the task agreement is signed, and accepts milestone 0. The projects module
adds the rest of the transitions.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.workflow import State, Transition, Workflow, labelled


class ProjectState(State):
    AWAITING_AGREEMENT = "awaiting_agreement"
    IN_PROGRESS = "in_progress"
    MIDTERM = "midterm"
    RECTIFYING = "rectifying"
    SUSPENDED = "suspended"
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    ACCEPTING = "accepting"
    PASSED = "passed"
    PASSED_AFTER_RECTIFICATION = "passed_after_rectification"
    FAILED = "failed"
    TERMINATED = "terminated"
    REVOKED = "revoked"
    CLAWBACK = "clawback"
    CLOSED = "closed"
    ARCHIVED = "archived"


labelled(
    ProjectState,
    {
        "awaiting_agreement": (_l("待签任务书"), None),
        "in_progress": (_l("执行中"), None),
        "midterm": (_l("中期检查中"), None),
        "rectifying": (_l("限期整改"), None),
        "suspended": (_l("暂停（暂缓拨付）"), None),
        "awaiting_acceptance": (_l("待验收"), None),
        "accepting": (_l("验收中"), None),
        "passed": (_l("通过验收"), None),
        "passed_after_rectification": (_l("整改后通过"), None),
        "failed": (_l("验收不通过"), None),
        "terminated": (_l("已终止"), None),
        "revoked": (_l("已撤销"), None),
        "clawback": (_l("经费追回中"), None),
        "closed": (_l("已结题"), None),
        "archived": (_l("已归档"), None),
    },
)


class MilestoneState(State):
    PLANNED = "planned"
    DUE = "due"
    REPORTED = "reported"
    ACCEPTED = "accepted"
    RETURNED = "returned"


labelled(
    MilestoneState,
    {
        "planned": (_l("计划中"), None),
        "due": (_l("待报告"), None),
        "reported": (_l("已报告"), None),
        "accepted": (_l("已通过"), None),
        "returned": (_l("已退回"), None),
    },
)


class TrancheState(State):
    PLANNED = "planned"
    RELEASABLE = "releasable"
    RELEASED = "released"
    PAID = "paid"
    WITHHELD = "withheld"
    CANCELLED = "cancelled"


labelled(
    TrancheState,
    {
        "planned": (_l("计划"), None),
        "releasable": (_l("条件已满足"), None),
        "released": (_l("已批准拨付"), None),
        "paid": (_l("已支付"), None),
        "withheld": (_l("暂缓"), None),
        "cancelled": (_l("已取消"), None),
    },
)

# Only the transitions the awards module drives; the projects module adds the rest.
PROJECT_WORKFLOW = Workflow(
    "project",
    ProjectState,
    [
        # The task agreement is signed (a cascade of the agreement's signing).
        Transition("start", ("awaiting_agreement",), "in_progress"),
    ],
)

MILESTONE_WORKFLOW = Workflow(
    "milestone",
    MilestoneState,
    [
        # Milestone 0 ("agreement signed") is accepted when the agreement is signed.
        Transition("accept_signing", ("planned",), "accepted"),
    ],
)
