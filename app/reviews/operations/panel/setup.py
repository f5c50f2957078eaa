"""Forming the panel: its settings, members (picked or drawn, conflicts and the
organisation limit checked), the oral-defence shortlist and attendance."""

from __future__ import annotations

import random
import secrets
from collections import Counter
from datetime import date, time

from flask_babel import gettext as _
from sqlalchemy import select

from app.applications.models import Application
from app.audit import trail
from app.calls.models import Call
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.reviews.models import (
    Expert,
    ReviewPanel,
    ReviewPanelMember,
    ReviewPanelSlot,
)
from app.reviews.operations.common import require
from app.reviews.operations.conflicts import (
    call_applications,
    compute_conflicts,
    recorded_conflicts,
)
from app.reviews.operations.panel.common import (
    SHORTLIST_STATES,
    max_per_org,
    panel_of,
    require_forming,
)
from app.reviews.operations.ranking import rank_call
from app.reviews.permissions import can_manage_panel
from app.reviews.states import (
    ATTENDANCE,
    CONFLICT_LABELS,
    PANEL_MAX,
    PANEL_METHODS,
    PANEL_MIN,
    PANEL_MODES,
)


def _settings(data: dict) -> dict:
    mode = data.get("mode") or "replace"
    method = data.get("method") or "score"
    if mode not in PANEL_MODES:
        raise ValidationFailed(_("请选择会评结果的使用方式。"), field="mode")
    if method not in PANEL_METHODS:
        raise ValidationFailed(_("请选择评分方式。"), field="method")
    try:
        weight = int(data.get("panel_weight") if data.get("panel_weight") is not None else 50)
    except (TypeError, ValueError):
        raise ValidationFailed(_("会评权重应为 0–100 的整数。"), field="panel_weight") from None
    if not 0 <= weight <= 100:
        raise ValidationFailed(_("会评权重应为 0–100 的整数。"), field="panel_weight")
    meeting_date = data.get("meeting_date")
    if meeting_date is not None and not isinstance(meeting_date, date):
        raise ValidationFailed(_("会议日期格式不正确。"), field="meeting_date")
    place = (data.get("meeting_place") or "").strip()
    if len(place) > 200:
        raise ValidationFailed(_("会议地点不能超过 200 字。"), field="meeting_place")
    return {
        "mode": mode,
        "method": method,
        "panel_weight": weight,
        "meeting_date": meeting_date,
        "meeting_place": place,
    }


def save_panel(call: Call, data: dict, *, actor) -> ReviewPanel:
    """Create the call's panel stage, or change its settings while it is forming.

    ``data``: ``mode`` (replace | combine), ``panel_weight`` (percent of the panel
    result in ``combine``), ``method`` (score | vote), ``meeting_date``,
    ``meeting_place``. Raises ``NotAllowed``, ``ValidationFailed``, ``Conflict``
    (not forming any more). Audited as ``review_panel.create`` / ``.update``.
    """
    require(can_manage_panel(actor))
    values = _settings(data)
    panel = panel_of(call)
    if panel is None:
        if call.state in ("draft", "archived"):
            raise Conflict(_("该申报批次当前不能组织会议评审。"))
        panel = ReviewPanel(call_id=call.id, created_by_id=actor.id, **values)
        db.session.add(panel)
        db.session.flush()
        action, before = "review_panel.create", None
    else:
        require_forming(panel)
        before = _audit_settings(panel)
        for key, value in values.items():
            setattr(panel, key, value)
        db.session.flush()
        action = "review_panel.update"
    trail.record(
        action, "review_panel", panel.id, actor=actor, before=before, after=_audit_settings(panel)
    )
    return panel


def _audit_settings(panel: ReviewPanel) -> dict:
    return {
        "call_id": panel.call_id,
        "mode": panel.mode,
        "panel_weight": panel.panel_weight,
        "method": panel.method,
        "meeting_date": panel.meeting_date.isoformat() if panel.meeting_date else None,
        "meeting_place": panel.meeting_place,
    }


def panel_conflicts(
    panel: ReviewPanel, experts: list[Expert], app_ids: set[int]
) -> dict[tuple[int, int], str]:
    """(application id, expert id) → reason, by the remote review's rules plus the
    recusals already recorded for the call, for the given applications."""
    if not experts or not app_ids:
        return {}
    pairs = {
        pair: reason
        for pair, (reason, _detail) in compute_conflicts(
            call_applications(panel.call_id), experts
        ).items()
    }
    wanted = {e.id for e in experts}
    for pair, reason in recorded_conflicts(panel.call_id).items():
        pairs.setdefault(pair, reason)
    return {p: r for p, r in pairs.items() if p[0] in app_ids and p[1] in wanted}


def conflict_message(expert: Expert, app: Application, reason: str) -> str:
    return _(
        "专家 %(name)s 与申报书 %(number)s 存在利益冲突（%(reason)s），须回避。",
        name=expert.name,
        number=app.project_number or app.id,
        reason=CONFLICT_LABELS.get(reason, reason),
    )


def _org_count(panel: ReviewPanel, org_id: int | None) -> int:
    return sum(1 for m in panel.members if org_id is not None and m.expert.org_id == org_id)


def _check_candidate(panel: ReviewPanel, expert: Expert) -> None:
    if not expert.is_active:
        raise ValidationFailed(_("该专家已不在库，不能加入评审组。"), field="expert_id")
    if any(m.expert_id == expert.id for m in panel.members):
        raise Conflict(_("该专家已在评审组中。"))
    if len(panel.members) >= PANEL_MAX:
        raise ValidationFailed(_("评审组最多 %(n)s 人。", n=PANEL_MAX), field="expert_id")
    if _org_count(panel, expert.org_id) >= max_per_org():
        raise ValidationFailed(
            _("同一单位的评审组成员不能超过 %(n)s 人。", n=max_per_org()), field="expert_id"
        )
    apps = {s.application_id: s.application for s in panel.slots}
    for (app_id, _e), reason in sorted(panel_conflicts(panel, [expert], set(apps)).items()):
        raise ValidationFailed(conflict_message(expert, apps[app_id], reason), field="expert_id")


def member_view(member: ReviewPanelMember) -> dict:
    return {
        "panel_id": member.panel_id,
        "expert_id": member.expert_id,
        "org_id": member.expert.org_id,
        "is_chair": bool(member.is_chair),
        "attendance": member.attendance,
    }


def add_member(panel: ReviewPanel, expert: Expert, *, actor, is_chair: bool = False):
    """Put a pool expert on the panel (the officer's pick).

    Refused when the expert is inactive or already a member, the panel is full
    (9), the expert's organisation already has two members, or the expert has a
    conflict with a shortlisted application. ``is_chair`` makes them the chair
    (the previous chair steps down). Raises ``NotAllowed``, ``ValidationFailed``,
    ``Conflict``. Audited as ``review_panel.add_member``.
    """
    require(can_manage_panel(actor))
    require_forming(panel)
    _check_candidate(panel, expert)
    if is_chair:
        for m in panel.members:
            m.is_chair = False
    member = ReviewPanelMember(panel=panel, expert=expert, is_chair=bool(is_chair))
    db.session.add(member)
    db.session.flush()
    trail.record(
        "review_panel.add_member", "review_panel", panel.id, actor=actor, after=member_view(member)
    )
    return member


def remove_member(panel: ReviewPanel, member: ReviewPanelMember, *, actor) -> None:
    """Take a member off a forming panel. Audited as ``review_panel.remove_member``."""
    require(can_manage_panel(actor))
    require_forming(panel)
    before = member_view(member)
    panel.members.remove(member)
    db.session.flush()
    trail.record("review_panel.remove_member", "review_panel", panel.id, actor=actor, before=before)


def draw_members(panel: ReviewPanel, size: int, *, actor, seed: int | None = None) -> list:
    """Fill the panel up to ``size`` (odd, 5–9) by a seeded random draw from the active,
    unflagged pool, keeping members already picked.

    Candidates with a conflict on any shortlisted application, or whose organisation
    already has two members, are skipped; the same seed over the same pool draws the
    same experts. Raises ``ValidationFailed`` when ``size`` is wrong or the pool is
    too small (nothing is added then). Audited as ``review_panel.draw`` with the
    seed, the candidates and the experts drawn.
    """
    require(can_manage_panel(actor))
    require_forming(panel)
    _check_size(size, field="size")
    if size < len(panel.members):
        raise ValidationFailed(_("评审组已有 %(n)s 人。", n=len(panel.members)), field="size")
    seed = int(seed) if seed is not None else secrets.randbelow(2**31)
    taken = {m.expert_id for m in panel.members}
    pool = db.session.scalars(
        select(Expert)
        .where(Expert.is_active.is_(True), Expert.is_flagged.is_(False))
        .order_by(Expert.id)
    ).all()
    pool = [e for e in pool if e.id not in taken]
    app_ids = {s.application_id for s in panel.slots}
    conflicted = {expert_id for (_a, expert_id) in panel_conflicts(panel, pool, app_ids)}
    candidates = [e for e in pool if e.id not in conflicted]
    order = list(candidates)
    # A reproducible draw from the recorded seed (audit evidence), not a secret.
    random.Random(seed).shuffle(order)  # nosec B311
    per_org = Counter(m.expert.org_id for m in panel.members if m.expert.org_id is not None)
    drawn = []
    for e in order:
        if len(panel.members) + len(drawn) >= size:
            break
        if e.org_id is not None and per_org[e.org_id] >= max_per_org():
            continue
        drawn.append(e)
        if e.org_id is not None:
            per_org[e.org_id] += 1
    if len(panel.members) + len(drawn) < size:
        raise ValidationFailed(
            _(
                "专家库中符合回避和单位限制的专家不足，无法抽满 %(n)s 人。",
                n=size,
            ),
            field="size",
        )
    panel.seed = seed
    for e in drawn:
        db.session.add(ReviewPanelMember(panel=panel, expert=e))
    db.session.flush()
    trail.record(
        "review_panel.draw",
        "review_panel",
        panel.id,
        actor=actor,
        after={
            "seed": seed,
            "size": size,
            "candidates": [e.id for e in candidates],
            "drawn": [e.id for e in drawn],
        },
    )
    return drawn


def _check_size(size, *, field: str | None = None) -> None:
    if not isinstance(size, int) or not PANEL_MIN <= size <= PANEL_MAX or size % 2 == 0:
        raise ValidationFailed(
            _("评审组应为 %(lo)s–%(hi)s 人的奇数。", lo=PANEL_MIN, hi=PANEL_MAX), field=field
        )


def add_slot(
    panel: ReviewPanel,
    application: Application,
    *,
    actor,
    starts_at: time | None = None,
    position: int | None = None,
) -> ReviewPanelSlot:
    """Shortlist an application for oral defence (答辩) at ``position`` (default: last)
    and time ``starts_at``.

    The application must be of the panel's call, under or after remote review and
    not excluded by a veto, and no member may have a conflict with it. Raises
    ``NotAllowed``, ``ValidationFailed``, ``Conflict``. Audited as
    ``review_panel.add_slot``.
    """
    require(can_manage_panel(actor))
    require_forming(panel)
    if application.call_id != panel.call_id or application.state not in SHORTLIST_STATES:
        raise ValidationFailed(
            _("只有本批次通讯评审中或评审完成的申报书可以进入会议评审。"), field="application_id"
        )
    if any(s.application_id == application.id for s in panel.slots):
        raise Conflict(_("该申报书已在答辩安排中。"))
    if _vetoed(panel, application.id):
        raise ValidationFailed(
            _("该申报书已被一票否决，不能进入会议评审。"), field="application_id"
        )
    experts = [m.expert for m in panel.members]
    for (_a, expert_id), reason in sorted(
        panel_conflicts(panel, experts, {application.id}).items()
    ):
        expert = next(e for e in experts if e.id == expert_id)
        raise ValidationFailed(
            conflict_message(expert, application, reason), field="application_id"
        )
    used = {s.position for s in panel.slots}
    if position is None:
        position = max(used, default=0) + 1
    if not isinstance(position, int) or position < 1:
        raise ValidationFailed(_("答辩顺序应为正整数。"), field="position")
    if position in used:
        raise ValidationFailed(_("答辩顺序 %(n)s 已被占用。", n=position), field="position")
    slot = ReviewPanelSlot(
        panel_id=panel.id, application_id=application.id, position=position, starts_at=starts_at
    )
    panel.slots.append(slot)
    db.session.flush()
    trail.record(
        "review_panel.add_slot",
        "review_panel",
        panel.id,
        actor=actor,
        after={
            "application_id": application.id,
            "position": position,
            "starts_at": starts_at.strftime("%H:%M") if starts_at else None,
        },
    )
    return slot


def _vetoed(panel: ReviewPanel, application_id: int) -> bool:

    call = db.session.get(Call, panel.call_id)
    for row in rank_call(call).rows:
        if row.application.id == application_id:
            return "veto" in row.ranked.flags
    return False


def remove_slot(panel: ReviewPanel, slot: ReviewPanelSlot, *, actor) -> None:
    """Take an application off the shortlist. Audited as ``review_panel.remove_slot``."""
    require(can_manage_panel(actor))
    require_forming(panel)
    before = {"application_id": slot.application_id, "position": slot.position}
    panel.slots.remove(slot)
    db.session.flush()
    trail.record("review_panel.remove_slot", "review_panel", panel.id, actor=actor, before=before)


def set_attendance(panel: ReviewPanel, member: ReviewPanelMember, attendance: str, *, actor):
    """Record a member's attendance: present, half day or absent (fees follow it).

    A member who has submitted marks cannot be marked absent. Raises ``Conflict``
    after the panel concluded. Audited as ``review_panel.attendance``.
    """
    require(can_manage_panel(actor))
    if attendance not in ATTENDANCE:
        raise ValidationFailed(_("请选择出席情况。"), field="attendance")
    if panel.state == "concluded":
        raise Conflict(_("会议评审已完成，出席情况不能再修改。"))
    if attendance == "absent" and (member.submitted_at or member.has_answered):
        raise Conflict(_("该成员已提交评分或签署意见，不能登记为缺席。"))
    before = member.attendance
    member.attendance = attendance
    db.session.flush()
    trail.record(
        "review_panel.attendance",
        "review_panel_member",
        member.id,
        actor=actor,
        before={"attendance": before},
        after={"panel_id": panel.id, "expert_id": member.expert_id, "attendance": attendance},
    )
    return member
