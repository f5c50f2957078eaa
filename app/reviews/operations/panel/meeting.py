"""The meeting: opening it (every rule checked again), independent locked marks,
closing scoring, the opinion, signatures and dissents, concluding."""

from __future__ import annotations

import unicodedata
from collections import Counter

from flask_babel import gettext as _

from app.audit import trail
from app.core import clock
from app.core.errors import ValidationFailed
from app.extensions import db
from app.reviews.models import (
    ReviewPanel,
    ReviewPanelMark,
    ReviewPanelMember,
)
from app.reviews.operations.common import require
from app.reviews.operations.panel.common import apply_transition, locked, max_per_org
from app.reviews.operations.panel.results import panel_results
from app.reviews.operations.panel.setup import conflict_message, member_view, panel_conflicts
from app.reviews.permissions import can_manage_panel, can_mark, can_sign
from app.reviews.states import (
    PANEL_MAX,
    PANEL_MIN,
    PANEL_WORKFLOW,
    VOTES,
)


def open_panel(panel: ReviewPanel, *, actor):
    """Start the meeting: members may now record their marks.

    Checks again, on the final panel: an odd size of 5–9, at most two members per
    organisation, one chair, at least one shortlisted application, a meeting date,
    and no conflict between any member and any shortlisted application (every
    problem is listed). Raises ``ValidationFailed``, ``InvalidTransition``,
    ``NotAllowed``. Audited as ``review_panel.open``.
    """
    require(can_manage_panel(actor))
    problems = []
    n = len(panel.members)
    if not (PANEL_MIN <= n <= PANEL_MAX and n % 2 == 1):
        problems.append(
            _("评审组应为 %(lo)s–%(hi)s 人的奇数，现有 %(n)s 人。", lo=PANEL_MIN, hi=PANEL_MAX, n=n)
        )
    per_org = Counter(m.expert.org_id for m in panel.members if m.expert.org_id is not None)
    if any(c > max_per_org() for c in per_org.values()):
        problems.append(_("同一单位的评审组成员不能超过 %(n)s 人。", n=max_per_org()))
    if sum(1 for m in panel.members if m.is_chair) != 1:
        problems.append(_("请指定一名评审组组长。"))
    if not panel.slots:
        problems.append(_("请至少安排一份申报书答辩。"))
    if panel.meeting_date is None:
        problems.append(_("请填写会议日期。"))
    experts = {m.expert_id: m.expert for m in panel.members}
    apps = {s.application_id: s.application for s in panel.slots}
    for (app_id, expert_id), reason in sorted(
        panel_conflicts(panel, list(experts.values()), set(apps)).items()
    ):
        problems.append(conflict_message(experts[expert_id], apps[app_id], reason))
    if problems:
        raise ValidationFailed(problems[0], details=problems)
    return PANEL_WORKFLOW.apply(
        panel,
        "open",
        actor=actor,
        after={
            "members": [member_view(m) for m in panel.members],
            "applications": [s.application_id for s in panel.slots],
        },
    )


def _parse_score(value) -> int:
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
    if not text.isdigit() or not 0 <= int(text) <= 100:
        raise ValidationFailed(_("会评分数应为 0–100 的整数。"), field="score")
    return int(text)


def submit_marks(member: ReviewPanelMember, marks: dict, *, actor, declared: bool) -> None:
    """A member records, once, a score (0–100) or a vote for every shortlisted
    application, after declaring no conflict and pledging confidentiality.

    ``marks``: application id → ``{"score": …}`` or ``{"vote": …}``, with an
    optional ``"comment"``. The marks are locked on submission. When every
    attending member has submitted, scoring closes by itself. Raises
    ``NotAllowed``, ``ValidationFailed`` (nothing is written then). Audited as
    ``review_panel.submit_marks`` (and ``review_panel.close_scoring``).
    """
    require(can_mark(actor, member))
    panel = locked(member.panel)
    require(can_mark(actor, member))  # again, now that the seat is locked
    if not declared:
        raise ValidationFailed(
            _("提交评分前须声明与答辩申报书无利益冲突并遵守保密纪律。"), field="declared"
        )
    rows = []
    for slot in panel.slots:
        given = marks.get(slot.application_id) or marks.get(str(slot.application_id)) or {}
        number = slot.application.project_number or slot.application.id
        comment = (given.get("comment") or "").strip()
        if panel.method == "score":
            if given.get("score") in (None, ""):
                raise ValidationFailed(_("请为申报书 %(n)s 打分。", n=number), field="score")
            rows.append((slot.application_id, _parse_score(given.get("score")), None, comment))
        else:
            vote = given.get("vote")
            if vote not in VOTES:
                raise ValidationFailed(_("请对申报书 %(n)s 投票。", n=number), field="vote")
            rows.append((slot.application_id, None, vote, comment))
    now = clock.now()
    for app_id, score, vote, comment in rows:
        db.session.add(
            ReviewPanelMark(
                member_id=member.id, application_id=app_id, score=score, vote=vote, comment=comment
            )
        )
    member.declared_at = member.declared_at or now
    member.submitted_at = now
    db.session.flush()
    trail.record(
        "review_panel.submit_marks",
        "review_panel_member",
        member.id,
        actor=actor,
        after={
            "panel_id": panel.id,
            "declared": True,
            "marks": [{"application_id": a, "score": s, "vote": v} for a, s, v, _c in rows],
        },
    )
    if all(m.submitted_at is not None for m in panel.attending()):
        _close(panel, actor=actor, system=True)


def _close(panel: ReviewPanel, *, actor, system: bool = False):
    attending = panel.attending()
    submitted = sum(1 for m in attending if m.submitted_at is not None)
    return apply_transition(
        panel,
        "close_scoring",
        "scoring_closed_at",
        actor=actor,
        system=system,
        after={"submitted": submitted, "attending": len(attending)},
    )


def close_scoring(panel: ReviewPanel, *, actor):
    """The chair or the officer closes scoring before everyone submitted (members who
    have not submitted lose their marks); the marks become visible. Needs at least
    one submission. Audited as ``review_panel.close_scoring``."""
    locked(panel)
    if panel.state == "scoring" and not any(m.submitted_at for m in panel.members):
        raise ValidationFailed(_("尚无成员提交评分，不能结束评分。"))
    return _close(panel, actor=actor)


def propose_opinion(panel: ReviewPanel, opinion: str, *, actor):
    """Put the panel opinion (评审组意见), written after the discussion, to the members
    for signature. Raises ``ValidationFailed`` for an empty text. Audited as
    ``review_panel.propose_opinion`` with the text."""
    require(can_manage_panel(actor))
    text = (opinion or "").strip()
    if not text:
        raise ValidationFailed(_("请填写评审组意见。"), field="opinion")
    if len(text) > 5000:
        raise ValidationFailed(_("评审组意见不能超过 5000 字。"), field="opinion")
    if panel.state == "discussion":
        panel.opinion = text
    return PANEL_WORKFLOW.apply(panel, "propose_opinion", actor=actor, after={"opinion": text})


def sign_opinion(member: ReviewPanelMember, *, actor, dissent: str | None = None):
    """An attending member signs the panel opinion online, or — with ``dissent`` —
    refuses to sign and records their written dissent and its reason. Once only.

    Raises ``NotAllowed``, ``ValidationFailed``. Audited as ``review_panel.sign`` or
    ``review_panel.dissent`` (with the reason).
    """
    require(can_sign(actor, member))
    locked(member.panel)
    require(can_sign(actor, member))
    now = clock.now()
    if dissent is not None:
        reason = dissent.strip()
        if not reason:
            raise ValidationFailed(_("不同意签署时须写明不同意见及理由。"), field="reason")
        member.dissent_reason, member.dissent_at = reason, now
        action = "review_panel.dissent"
    else:
        member.signed_at = now
        reason, action = None, "review_panel.sign"
    db.session.flush()
    return trail.record(
        action,
        "review_panel_member",
        member.id,
        actor=actor,
        reason=reason,
        after={"panel_id": member.panel_id, "expert_id": member.expert_id},
    )


def conclude_panel(panel: ReviewPanel, *, actor):
    """Conclude once every attending member signed or dissented; the result then feeds
    the ranking. Raises ``ValidationFailed`` naming who has not answered. Audited
    as ``review_panel.conclude`` with the panel result."""
    require(can_manage_panel(actor))
    locked(panel)
    waiting = [m.expert.name for m in panel.attending() if not m.has_answered]
    if panel.state == "signing" and waiting:
        raise ValidationFailed(
            _("以下成员尚未签署或提交不同意见：%(names)s", names="、".join(waiting))
        )
    results = panel_results(panel)
    return apply_transition(
        panel,
        "conclude",
        "concluded_at",
        actor=actor,
        after={
            "results": {
                str(k): None if r.value is None else str(r.value) for k, r in results.items()
            },
            "dissents": [m.expert_id for m in panel.members if m.dissent_at is not None],
        },
    )
