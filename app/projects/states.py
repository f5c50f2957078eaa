"""Project, milestone, tranche, report and change-request states (STATES.md) and the one
transition table of each.

Rules name who may act (a ``Decision`` with the reason); guards read the object only.
Transitions without a rule are cascades or clock moves, applied with ``system=True``
by an operation that has already checked its own actor (e.g. a four-eyes decision).
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.permissions import ALLOW, Decision, deny
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

# Where the project is being carried out: reports, changes and releases are possible.
RUNNING_STATES = ("in_progress", "midterm", "rectifying")
# A tranche may be released only in these (never suspended, ended, accepted or closed).
RELEASE_STATES = ("in_progress", "midterm", "rectifying", "awaiting_acceptance", "accepting")
# A released tranche may be paid only in these.
PAY_STATES = RELEASE_STATES
# Acceptance outcomes and ends: the balance is settled from these.
SETTLE_STATES = ("passed", "passed_after_rectification", "failed", "terminated", "revoked")
OUTCOMES = ("passed", "passed_after_rectification", "failed")
# Past settlement: the money is returned or demanded (settled_at set).
SETTLED_STATES = ("clawback", "closed", "archived")
ENDED_STATES = ("terminated", "revoked")
STOPPABLE_STATES = (
    "in_progress",
    "midterm",
    "rectifying",
    "suspended",
    "awaiting_acceptance",
    "accepting",
    "failed",
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
# A milestone whose report is still owed (overdue when past its due date).
OWED_STATES = ("planned", "due", "returned")


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
UNPAID_TRANCHE_STATES = ("planned", "releasable", "released", "withheld")


class ReportState(State):
    """A milestone or closing report (the milestone carries the STATES.md states)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


labelled(
    ReportState,
    {
        "draft": (_l("草稿"), _l("草稿")),
        "submitted": (_l("已提交（待审核）"), _l("已提交")),
        "accepted": (_l("已通过"), _l("已通过")),
        "returned": (_l("已退回"), _l("退回修改")),
    },
)


class ChangeState(State):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECORDED = "recorded"


labelled(
    ChangeState,
    {
        "draft": (_l("草稿"), _l("草稿")),
        "submitted": (_l("已提交"), _l("已提交")),
        "approved": (_l("已批准"), _l("已批准")),
        "rejected": (_l("未批准"), _l("未批准")),
        "recorded": (_l("已备案"), _l("已备案")),
    },
)

# Change kinds: the major ones need the approver and an amendment (补充任务书).
CHANGE_KINDS = {
    "leader": _l("变更项目负责人"),
    "lead_org": _l("变更承担单位"),
    "targets": _l("调整绩效目标"),
    "name": _l("变更项目名称"),
    "reallocation": _l("预算科目间调剂"),
    "extension": _l("项目延期"),
    "minor": _l("一般变更（备案）"),
}
MAJOR_CHANGE_KINDS = ("leader", "lead_org", "targets", "name", "reallocation", "extension")

MIDTERM_OUTCOMES = {
    "pass": _l("合格"),
    "rectify": _l("限期整改"),
    "suspend": _l("暂停（暂缓拨付）"),
}
DECISION_KINDS = {
    "suspend": _l("暂停项目（暂缓拨付）"),
    "resume": _l("恢复执行"),
    "terminate": _l("终止项目"),
    "revoke": _l("撤销项目"),
}
EXPENDITURE_SOURCES = {
    "fund": _l("专项资金"),
    "matching": _l("地方配套"),
    "self_raised": _l("自筹资金"),
}


def _officer(user, _obj) -> Decision:
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以执行此操作。"))


def _approver(user, _obj) -> Decision:
    if user is not None and user.has_role("approver"):
        return ALLOW
    return deny(_("只有学会部负责人可以审批。"))


def _midterm_stage(project) -> str | None:
    if project.rectify_stage != "midterm":
        return _("该项目处于验收整改，请在整改完成后重新验收。")
    return None


def _acceptance_stage(project) -> str | None:
    if project.rectify_stage != "acceptance":
        return _("该项目处于中期整改，整改完成后恢复执行。")
    return None


def _not_rectified(project) -> str | None:
    if project.acceptance_rectified:
        return _("该项目已整改一次：只能认定为“整改后通过”或“验收不通过”。")
    return None


def _rectified(project) -> str | None:
    if not project.acceptance_rectified:
        return _("该项目未经整改，请认定为“通过验收”。")
    return None


PROJECT_WORKFLOW = Workflow(
    "project",
    ProjectState,
    [
        # The task agreement is signed (a cascade of the agreement's signing).
        Transition("start", ("awaiting_agreement",), "in_progress"),
        # Mid-term check (中期检查): the officer records the outcome.
        Transition("begin_midterm", ("in_progress",), "midterm", _officer),
        Transition("pass_midterm", ("midterm",), "in_progress", _officer),
        Transition("rectify", ("midterm",), "rectifying", _officer),
        Transition(
            "finish_rectification", ("rectifying",), "in_progress", _officer, (_midterm_stage,)
        ),
        # Suspension, resumption, termination, revocation: an approved decision (four-eyes).
        Transition("suspend", ("in_progress", "midterm", "rectifying"), "suspended"),
        Transition("resume", ("suspended",), "in_progress"),
        Transition("terminate", STOPPABLE_STATES, "terminated"),
        Transition(
            "revoke", (*STOPPABLE_STATES, "passed", "passed_after_rectification"), "revoked"
        ),
        # Closure (结题验收): the closing report is submitted (a cascade), or returned.
        Transition("submit_closing", ("in_progress",), "awaiting_acceptance"),
        Transition("return_closing", ("awaiting_acceptance",), "in_progress"),
        Transition("begin_acceptance", ("awaiting_acceptance",), "accepting", _officer),
        Transition(
            "require_rectification", ("accepting",), "rectifying", _officer, (_not_rectified,)
        ),
        Transition(
            "resubmit_acceptance", ("rectifying",), "accepting", _officer, (_acceptance_stage,)
        ),
        Transition("pass", ("accepting",), "passed", _officer, (_not_rectified,)),
        Transition(
            "pass_after_rectification",
            ("accepting",),
            "passed_after_rectification",
            _officer,
            (_rectified,),
        ),
        Transition("fail", ("accepting",), "failed", _officer, needs_reason=True),
        # Settlement of the balance (a cascade of ``settle_project``).
        Transition("demand_clawback", SETTLE_STATES, "clawback"),
        Transition("close", (*SETTLE_STATES, "clawback"), "closed"),
        Transition("archive", ("closed",), "archived", _officer),
    ],
)

MILESTONE_WORKFLOW = Workflow(
    "milestone",
    MilestoneState,
    [
        # Milestone 0 ("agreement signed") is accepted when the agreement is signed.
        Transition("accept_signing", ("planned",), "accepted"),
        # The reporting window opens (the clock) — a report may also come early.
        Transition("open", ("planned",), "due"),
        Transition("report", ("planned", "due", "returned"), "reported"),
        Transition("accept", ("reported",), "accepted", _officer),
        Transition("return", ("reported",), "returned", _officer, needs_reason=True),
    ],
)

TRANCHE_WORKFLOW = Workflow(
    "tranche",
    TrancheState,
    [
        # Conditions met (milestone accepted, matching in place, nothing overdue, running).
        Transition("qualify", ("planned", "withheld"), "releasable"),
        Transition("withhold", ("planned", "releasable"), "withheld"),
        Transition("release", ("releasable",), "released"),
        Transition("pay", ("released",), "paid"),
        Transition("cancel", UNPAID_TRANCHE_STATES, "cancelled"),
    ],
)


def _society_admin(user, report) -> Decision:
    if (
        user is not None
        and user.has_role("society_admin")
        and user.org_id == report.project.society_id
    ):
        return ALLOW
    return deny(_("只有本学会负责人可以审核本学会的报告。"))


def _endorsed(report) -> str | None:
    if report.endorsed_at is None:
        return _("该报告尚未经学会负责人审核。")
    return None


def _not_endorsed(report) -> str | None:
    if report.endorsed_at is not None:
        return _("该报告已经学会负责人审核，已送学会部审核。")
    return None


# A report is submitted by the society's staff, signed off by its society admin
# (学会负责人审核: ``endorse`` keeps the state, sets ``endorsed_at`` and only then does the
# milestone count as reported), and then accepted or returned by the officer. The admin
# may send it back instead. ReportState is not in STATES.md (the milestone carries the
# STATES.md states), so the sign-off is a step, not a new state.
REPORT_WORKFLOW = Workflow(
    "project_report",
    ReportState,
    [
        Transition("submit", ("draft", "returned"), "submitted"),
        Transition("endorse", ("submitted",), "submitted", _society_admin, (_not_endorsed,)),
        Transition(
            "send_back",
            ("submitted",),
            "returned",
            _society_admin,
            (_not_endorsed,),
            needs_reason=True,
        ),
        Transition("accept", ("submitted",), "accepted", _officer, (_endorsed,)),
        Transition("return", ("submitted",), "returned", _officer, (_endorsed,), needs_reason=True),
    ],
)

CHANGE_WORKFLOW = Workflow(
    "change_request",
    ChangeState,
    [
        Transition("submit", ("draft",), "submitted"),
        Transition("approve", ("submitted",), "approved", _approver),
        Transition("reject", ("submitted",), "rejected", _approver, needs_reason=True),
        Transition("record", ("submitted",), "recorded", _officer),
    ],
)
