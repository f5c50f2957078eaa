"""Panel review (会议评审/答辩): the optional second stage of a call.

The officer shortlists applications from the remote-review ranking into oral-defence
slots, forms a panel of 5–9 (odd) pool experts — conflicts checked with the remote
review's rules, at most ``REVIEW_PANEL_MAX_PER_ORG`` (2) from one organisation —
and opens the meeting. Each attending member declares no conflict and records a score
(0–100) or a vote per application, once; nobody sees another member's marks until
every attending member has submitted or the chair (or the officer) closes scoring.
The officer then writes the panel opinion, every attending member signs it or writes
a dissent with a reason, and the officer concludes. A concluded panel feeds the
ranking (``final_ranking``) and the fee sheet (``panel_fees``).
"""

from __future__ import annotations

import random
import secrets
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, time
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.applications.models import Application
from app.audit import trail
from app.calls.models import Call
from app.core import clock
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.extensions import db
from app.reviews.models import (
    Expert,
    ReviewPanel,
    ReviewPanelMark,
    ReviewPanelMember,
    ReviewPanelSlot,
)
from app.reviews.operations.common import require
from app.reviews.operations.conflicts import (
    call_applications,
    compute_conflicts,
    recorded_conflicts,
)
from app.reviews.operations.ranking import FeeRow, rank_call, remote_fee_rows
from app.reviews.permissions import can_manage_panel, can_mark, can_sign
from app.reviews.scoring import round_half_up
from app.reviews.states import (
    ATTENDANCE,
    CONFLICT_LABELS,
    PANEL_MAX,
    PANEL_METHODS,
    PANEL_MIN,
    PANEL_MODES,
    PANEL_WORKFLOW,
    VOTES,
)

# Applications that can be shortlisted: under or after remote review, not yet decided.
SHORTLIST_STATES = ("in_review", "reviewed")


def _max_per_org() -> int:
    return int(current_app.config.get("REVIEW_PANEL_MAX_PER_ORG", 2))


def panel_of(call: Call) -> ReviewPanel | None:
    """The call's panel, if it has one."""
    return db.session.scalar(select(ReviewPanel).where(ReviewPanel.call_id == call.id))


def _locked(panel: ReviewPanel) -> ReviewPanel:
    """Serialise changes to one panel (PostgreSQL ``FOR UPDATE``; SQLite writes are
    serialised anyway): two members submitting at once must not both miss closing
    scoring, nor one member submit twice."""
    db.session.execute(select(ReviewPanel.id).where(ReviewPanel.id == panel.id).with_for_update())
    db.session.refresh(panel)
    for member in panel.members:
        db.session.refresh(member)
    return panel


def _forming(panel: ReviewPanel) -> None:
    if panel.state != "forming":
        raise Conflict(_("评审组已开始评审，成员和答辩安排不能再修改。"))


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
        _forming(panel)
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


def _conflicts(
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


def _conflict_message(expert: Expert, app: Application, reason: str) -> str:
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
    if _org_count(panel, expert.org_id) >= _max_per_org():
        raise ValidationFailed(
            _("同一单位的评审组成员不能超过 %(n)s 人。", n=_max_per_org()), field="expert_id"
        )
    apps = {s.application_id: s.application for s in panel.slots}
    for (app_id, _e), reason in sorted(_conflicts(panel, [expert], set(apps)).items()):
        raise ValidationFailed(_conflict_message(expert, apps[app_id], reason), field="expert_id")


def _member_view(member: ReviewPanelMember) -> dict:
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
    _forming(panel)
    _check_candidate(panel, expert)
    if is_chair:
        for m in panel.members:
            m.is_chair = False
    member = ReviewPanelMember(panel=panel, expert=expert, is_chair=bool(is_chair))
    db.session.add(member)
    db.session.flush()
    trail.record(
        "review_panel.add_member", "review_panel", panel.id, actor=actor, after=_member_view(member)
    )
    return member


def remove_member(panel: ReviewPanel, member: ReviewPanelMember, *, actor) -> None:
    """Take a member off a forming panel. Audited as ``review_panel.remove_member``."""
    require(can_manage_panel(actor))
    _forming(panel)
    before = _member_view(member)
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
    _forming(panel)
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
    conflicted = {expert_id for (_a, expert_id) in _conflicts(panel, pool, app_ids)}
    candidates = [e for e in pool if e.id not in conflicted]
    order = list(candidates)
    # A reproducible draw from the recorded seed (audit evidence), not a secret.
    random.Random(seed).shuffle(order)  # nosec B311
    per_org = Counter(m.expert.org_id for m in panel.members if m.expert.org_id is not None)
    drawn = []
    for e in order:
        if len(panel.members) + len(drawn) >= size:
            break
        if e.org_id is not None and per_org[e.org_id] >= _max_per_org():
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
    _forming(panel)
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
    for (_a, expert_id), reason in sorted(_conflicts(panel, experts, {application.id}).items()):
        expert = next(e for e in experts if e.id == expert_id)
        raise ValidationFailed(
            _conflict_message(expert, application, reason), field="application_id"
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
    _forming(panel)
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
    if any(c > _max_per_org() for c in per_org.values()):
        problems.append(_("同一单位的评审组成员不能超过 %(n)s 人。", n=_max_per_org()))
    if sum(1 for m in panel.members if m.is_chair) != 1:
        problems.append(_("请指定一名评审组组长。"))
    if not panel.slots:
        problems.append(_("请至少安排一份申报书答辩。"))
    if panel.meeting_date is None:
        problems.append(_("请填写会议日期。"))
    experts = {m.expert_id: m.expert for m in panel.members}
    apps = {s.application_id: s.application for s in panel.slots}
    for (app_id, expert_id), reason in sorted(
        _conflicts(panel, list(experts.values()), set(apps)).items()
    ):
        problems.append(_conflict_message(experts[expert_id], apps[app_id], reason))
    if problems:
        raise ValidationFailed(problems[0], details=problems)
    return PANEL_WORKFLOW.apply(
        panel,
        "open",
        actor=actor,
        after={
            "members": [_member_view(m) for m in panel.members],
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
    panel = _locked(member.panel)
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


def _apply(panel: ReviewPanel, action: str, stamp: str | None = None, **kwargs):
    """``PANEL_WORKFLOW.apply`` with the timestamp column the target state needs (the
    CHECK constraints tie them), left unset when the transition is refused."""
    if stamp is not None:
        setattr(panel, stamp, clock.now())
    try:
        return PANEL_WORKFLOW.apply(panel, action, **kwargs)
    except DomainError:
        if stamp is not None:
            setattr(panel, stamp, None)
        raise


def _close(panel: ReviewPanel, *, actor, system: bool = False):
    attending = panel.attending()
    submitted = sum(1 for m in attending if m.submitted_at is not None)
    return _apply(
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
    _locked(panel)
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
    _locked(member.panel)
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
    _locked(panel)
    waiting = [m.expert.name for m in panel.attending() if not m.has_answered]
    if panel.state == "signing" and waiting:
        raise ValidationFailed(
            _("以下成员尚未签署或提交不同意见：%(names)s", names="、".join(waiting))
        )
    results = panel_results(panel)
    return _apply(
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


# --- results ---


@dataclass(frozen=True)
class PanelResult:
    """One shortlisted application's panel result on 0–100: the mean score, or the
    share of support votes among the votes cast."""

    application_id: int
    value: Decimal | None
    n: int
    votes: dict


def panel_marks(panel: ReviewPanel) -> list[tuple[ReviewPanelMember, ReviewPanelMark]]:
    """The submitted marks of attending members (visible only once scoring closed)."""
    members = {m.id: m for m in panel.attending() if m.submitted_at is not None}
    if not members:
        return []
    marks = db.session.scalars(
        select(ReviewPanelMark)
        .where(ReviewPanelMark.member_id.in_(members))
        .order_by(ReviewPanelMark.member_id, ReviewPanelMark.application_id)
    ).all()
    return [(members[m.member_id], m) for m in marks]


def panel_results(panel: ReviewPanel) -> dict[int, PanelResult]:
    """Per shortlisted application, the panel result (rounded half-up to 2 decimals)."""
    by_app: dict[int, list[ReviewPanelMark]] = {s.application_id: [] for s in panel.slots}
    for _member, mark in panel_marks(panel):
        by_app.setdefault(mark.application_id, []).append(mark)
    out = {}
    for app_id, marks in by_app.items():
        votes = Counter(m.vote for m in marks if m.vote)
        if panel.method == "score":
            scores = [Decimal(m.score) for m in marks if m.score is not None]
            value = round_half_up(sum(scores) / len(scores)) if scores else None
            n = len(scores)
        else:
            n = sum(votes.values())
            value = round_half_up(Decimal(100 * votes["support"]) / n) if n else None
        out[app_id] = PanelResult(app_id, value, n, {v: votes.get(v, 0) for v in VOTES})
    return out


@dataclass(frozen=True)
class FinalRow:
    """An application's place after the panel stage."""

    application: Application
    remote: Decimal | None  # the remote-review aggregate
    panel: PanelResult | None  # None when not shortlisted
    final: Decimal | None
    rank: int | None
    remote_rank: int | None

    @property
    def shortlisted(self) -> bool:
        return self.panel is not None


def combine(remote: Decimal | None, panel: Decimal | None, mode: str, weight: int):
    """The final score of a shortlisted application: ``replace`` takes the panel result;
    ``combine`` weighs it ``weight`` percent against the remote aggregate (the panel
    result alone when there is no remote aggregate). Rounded half-up to 2 decimals."""
    if panel is None:
        return remote
    if mode == "replace" or remote is None:
        return round_half_up(panel)
    w = Decimal(weight) / 100
    return round_half_up(panel * w + remote * (1 - w))


def final_ranking(panel: ReviewPanel, ranking) -> list[FinalRow]:
    """The call's ranking after a concluded panel (empty before).

    Shortlisted applications come first, ranked by their final score
    (``combine``); the shortlist is the outcome of the first stage, so the others
    follow in their remote-review order. Competition ranking (1, 2, 2, 4): equal
    final scores share a rank and are never broken by id.
    """
    if panel is None or panel.state != "concluded":
        return []
    results = panel_results(panel)
    short, rest = [], []
    for row in ranking.rows:
        remote = row.ranked.aggregate
        result = results.get(row.application.id)
        if result is not None:
            final = combine(remote, result.value, panel.mode, panel.panel_weight)
            short.append((row, result, final))
        else:
            rest.append(row)
    short.sort(key=lambda x: (x[2] is None, -(x[2] or 0)))
    out, previous, rank = [], None, 0
    for i, (row, result, final) in enumerate(short, start=1):
        if final is None:
            rank_here = None
        else:
            if final != previous:
                rank = i
            previous, rank_here = final, rank
        out.append(
            FinalRow(
                row.application, row.ranked.aggregate, result, final, rank_here, row.ranked.rank
            )
        )
    offset = sum(1 for x in out if x.rank is not None)
    for row in rest:
        r = row.ranked.rank
        out.append(
            FinalRow(
                row.application,
                row.ranked.aggregate,
                None,
                row.ranked.aggregate,
                None if r is None else r + offset - _shortlisted_above(r, short),
                r,
            )
        )
    return out


def _shortlisted_above(rank: int, short) -> int:
    """How many shortlisted applications held a remote rank above ``rank``: the rest
    keep their relative order and close the gaps they left."""
    return sum(1 for row, _r, _f in short if row.ranked.rank is not None and row.ranked.rank < rank)


# --- fees ---


@dataclass(frozen=True)
class PanelFee:
    attendance: str
    rate_fen: int  # the day rate by title
    fee_fen: int


def panel_fees(call: Call) -> dict[int, PanelFee]:
    """Panel-day fees per expert of the call's concluded panel: the day rate by title
    (``REVIEW_PANEL_DAY_SENIOR_FEN`` / ``REVIEW_PANEL_DAY_OTHER_FEN``), a half day at
    ``REVIEW_PANEL_HALF_DAY_PCT`` (60) percent of it, nothing when absent."""
    panel = panel_of(call)
    if panel is None or panel.state != "concluded":
        return {}
    config = current_app.config
    senior = int(config.get("REVIEW_PANEL_DAY_SENIOR_FEN", 200_000))
    other = int(config.get("REVIEW_PANEL_DAY_OTHER_FEN", 120_000))
    half = int(config.get("REVIEW_PANEL_HALF_DAY_PCT", 60))
    out = {}
    for m in panel.members:
        rate = senior if m.expert.is_senior else other
        fee = {"present": rate, "half_day": rate * half // 100, "absent": 0}[m.attendance]
        out[m.expert_id] = PanelFee(m.attendance, rate, fee)
    return out


def fee_rows(call: Call) -> list[FeeRow]:
    """The 专家咨询费 per expert: remote reviews plus panel days (会议评审)."""
    return with_panel_fees(call, remote_fee_rows(call))


def with_panel_fees(call: Call, rows: list) -> list:
    """The remote-review fee rows with each expert's panel-day fee added (experts who
    only sat on the panel get a row of their own)."""
    fees = panel_fees(call)
    if not fees:
        return rows

    out, seen = [], set()
    for row in rows:
        fee = fees.get(row.expert.id)
        seen.add(row.expert.id)
        out.append(row if fee is None else replace(row, panel=fee))
    extra = sorted(set(fees) - seen)
    experts = {e.id: e for e in db.session.scalars(select(Expert).where(Expert.id.in_(extra)))}
    for expert_id in extra:
        expert = experts[expert_id]
        out.append(FeeRow(expert, 0, 0, 0, panel=fees[expert_id]))
    return out


@dataclass(frozen=True)
class PanelSection:
    """What the ranking page shows of the panel stage."""

    panel: ReviewPanel | None
    rows: list[FinalRow]


def ranking_section(call: Call, ranking) -> PanelSection:
    """The panel stage of ``call`` for the ranking page: the final ranking once concluded."""
    panel = panel_of(call)
    return PanelSection(panel, final_ranking(panel, ranking))
