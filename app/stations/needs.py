"""The needs board (需求对接): posting, screening, societies' proposals, matching to
the funded project that serves the need, and closing with the requester's rating.

Satisfaction is on a 1–5 scale (1 very dissatisfied … 5 very satisfied), given by the
requester when the need is closed.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import Organisation
from app.audit import trail
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.extensions import db
from app.stations import notices
from app.stations import permissions as rules
from app.stations.models import HighTechPark, Need, NeedProposal, Station
from app.stations.states import NEED_KINDS, NEED_WORKFLOW, URGENCIES

SATISFACTION_RANGE = (1, 5)


def _require(decision) -> None:
    if not decision:
        raise NotAllowed(decision.reason)


def _text(value, limit: int) -> str:
    return (value or "").strip()[:limit]


def post_need(station: Station, data: dict, *, actor) -> Need:
    """Post a need to ``station``: kind, industry, title, description, urgency, contact.

    Raises ``NotAllowed`` when the actor does not belong to the station (neither its
    co-building government nor an enterprise of its park) or the station does not take
    needs; ``ValidationFailed`` for a missing or unknown field. Nothing is written then.
    Audited as ``need.post`` (the contact is personal data and stays out of the event).
    """
    _require(rules.can_post_need(actor, station))
    values = {
        "kind": _text(data.get("kind"), 16),
        "industry": _text(data.get("industry"), 100),
        "title": _text(data.get("title"), 200),
        "description": _text(data.get("description"), 10000),
        "urgency": _text(data.get("urgency"), 8) or "normal",
        "contact_name": _text(data.get("contact_name"), 100),
        "contact_phone": _text(data.get("contact_phone"), 40),
    }
    if values["kind"] not in NEED_KINDS:
        raise ValidationFailed(_("请选择需求类型。"), field="kind")
    if values["urgency"] not in URGENCIES:
        raise ValidationFailed(_("紧急程度无效。"), field="urgency")
    for name, message in (
        ("industry", _("请填写所属行业。")),
        ("title", _("请填写需求名称。")),
        ("description", _("请填写需求描述。")),
        ("contact_name", _("请填写联系人。")),
        ("contact_phone", _("请填写联系电话。")),
    ):
        if not values[name]:
            raise ValidationFailed(message, field=name)
    need = Need(station_id=station.id, org_id=actor.org_id, posted_by_id=actor.id, **values)
    db.session.add(need)
    db.session.flush()
    trail.record(
        "need.post",
        "need",
        need.id,
        actor=actor,
        after={
            "state": "posted",
            "station_id": station.id,
            "org_id": actor.org_id,
            "kind": values["kind"],
            "industry": values["industry"],
            "urgency": values["urgency"],
        },
    )
    return need


def screen_need(need: Need, accept: bool, *, actor, reason: str | None = None) -> Need:
    """The department or the station's lead society screens a posted need:
    ``screened``, or ``not_accepted`` with a reason the requester sees.

    Raises ``InvalidTransition``, ``NotAllowed``, ``ValidationFailed`` (no reason for a
    refusal). Audited as ``need.screen`` / ``need.not_accept``.
    """
    action = "screen" if accept else "not_accept"
    before = (need.screened_at, need.screened_by_id, need.screen_reason)
    need.screened_at, need.screened_by_id = clock.now(), getattr(actor, "id", None)
    need.screen_reason = (reason or "").strip() or None
    try:
        NEED_WORKFLOW.apply(need, action, actor=actor, reason=reason)
    except Exception:
        need.screened_at, need.screened_by_id, need.screen_reason = before
        raise
    db.session.flush()
    notices.need_screened(need)
    return need


def propose(need: Need, data: dict, *, actor) -> NeedProposal:
    """A society answers a screened need with a proposal naming the experts it would send
    (``experts``: [{"name", "title", "organisation"}], at least one).

    Raises ``NotAllowed`` (not a society's staff, need not screened), ``ValidationFailed``
    (no content, no expert), ``Conflict`` (this society already proposed). Audited as
    ``need.propose``.
    """
    _require(rules.can_respond(actor, need))
    content = _text(data.get("content"), 10000)
    if not content:
        raise ValidationFailed(_("请填写对接方案。"), field="content")
    experts = [
        {k: _text(e.get(k), 200) for k in ("name", "title", "organisation")}
        for e in data.get("experts") or []
        if _text(e.get("name"), 100)
    ]
    if not experts:
        raise ValidationFailed(_("请至少列出一名拟派专家。"), field="experts")
    if db.session.scalar(
        select(NeedProposal.id).where(
            NeedProposal.need_id == need.id, NeedProposal.society_id == actor.org_id
        )
    ):
        raise Conflict(_("贵学会已提交过对接方案。"))
    row = NeedProposal(
        need_id=need.id,
        society_id=actor.org_id,
        content=content,
        experts=experts,
        submitted_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "need.propose",
        "need",
        need.id,
        actor=actor,
        after={"proposal_id": row.id, "society_id": actor.org_id, "experts": len(experts)},
    )
    notices.need_answered(need, row)
    return row


def match_need(need: Need, project_id: int, *, actor, proposal_id: int | None = None) -> Need:
    """Match a screened need to the funded project that serves it (and optionally the
    proposal chosen). The project must belong to the need's station (its application
    names the station).

    Raises ``ValidationFailed`` (unknown project, a project of another station, a
    proposal of another need), ``NotAllowed``, ``InvalidTransition``; nothing changes
    then. Audited as ``need.match`` with the project id.
    """
    from app.applications.models import Application
    from app.projects.models import Project

    if need.state != "screened":
        NEED_WORKFLOW.apply(need, "match", actor=actor)  # raises InvalidTransition
    _require(NEED_WORKFLOW.can(need, "match", actor))
    project = db.session.get(Project, project_id or 0)
    if project is None:
        raise ValidationFailed(_("项目不存在。"), field="project_id")
    station_id = db.session.scalar(
        select(Application.station_id).where(Application.id == project.application_id)
    )
    if station_id != need.station_id:
        raise ValidationFailed(_("只能对接本服务站承担的项目。"), field="project_id")
    proposal = None
    if proposal_id:
        proposal = db.session.get(NeedProposal, proposal_id)
        if proposal is None or proposal.need_id != need.id:
            raise ValidationFailed(_("对接方案不属于该需求。"), field="proposal_id")
    need.project_id, need.matched_at = project.id, clock.now()
    if proposal is not None:
        proposal.is_selected = True
    NEED_WORKFLOW.apply(
        need,
        "match",
        actor=actor,
        after={"project_id": project.id, "proposal_id": proposal_id},
    )
    db.session.flush()
    notices.need_matched(need)
    return need


def advance_need(need: Need, action: str, *, actor) -> Need:
    """Move a matched need to ``in_progress`` (``start``) or ``solved`` (``solve``).

    Raises ``InvalidTransition``, ``NotAllowed``. Audited as ``need.<action>``.
    """
    if action not in ("start", "solve"):
        raise ValidationFailed(_("操作无效。"))
    if action == "solve" and need.state == "in_progress":
        need.solved_at = clock.now()
    NEED_WORKFLOW.apply(need, action, actor=actor)
    db.session.flush()
    return need


def close_need(need: Need, result: str, satisfaction: int, *, actor) -> Need:
    """The requester closes a solved need with the result and a 1–5 satisfaction score.

    Raises ``ValidationFailed`` (no result, a score outside 1–5), ``NotAllowed`` (not the
    requester's organisation), ``InvalidTransition`` (not solved). Audited as
    ``need.close`` with the score.
    """
    result = (result or "").strip()
    low, high = SATISFACTION_RANGE
    if need.state != "solved":
        NEED_WORKFLOW.apply(need, "close", actor=actor)  # raises InvalidTransition
    _require(NEED_WORKFLOW.can(need, "close", actor))
    if not result:
        raise ValidationFailed(_("请填写解决结果。"), field="result")
    if isinstance(satisfaction, bool) or not isinstance(satisfaction, int):
        raise ValidationFailed(_("请给出满意度评分。"), field="satisfaction")
    if not low <= satisfaction <= high:
        raise ValidationFailed(
            _("满意度评分应在 %(low)s 到 %(high)s 之间。", low=low, high=high),
            field="satisfaction",
        )
    need.result, need.satisfaction, need.closed_at = result[:10000], satisfaction, clock.now()
    NEED_WORKFLOW.apply(need, "close", actor=actor, after={"satisfaction": satisfaction})
    db.session.flush()
    notices.need_closed(need)
    return need


def search_needs(
    *,
    industry: str | None = None,
    kind: str | None = None,
    city: str | None = None,
    state: str | None = None,
    station_id: int | None = None,
):
    """A select of needs filtered by industry (substring), kind, city code, state and
    station, newest first (the caller narrows it to what the user may see)."""
    stmt = select(Need).join(Station, Station.id == Need.station_id)
    if industry:
        stmt = stmt.where(Need.industry.contains(industry.strip()))
    if kind:
        stmt = stmt.where(Need.kind == kind)
    if state:
        stmt = stmt.where(Need.state == state)
    if station_id:
        stmt = stmt.where(Need.station_id == station_id)
    if city:
        stmt = stmt.join(HighTechPark, HighTechPark.id == Station.park_id).where(
            HighTechPark.city_code == city
        )
    return stmt.order_by(Need.id.desc())


def visible_to(stmt, user):
    """Narrow a needs select to what ``user`` may see (``can_view_need`` as SQL)."""
    from sqlalchemy import or_

    from app.stations.models import StationPartner

    if user.has_role(*rules.STAFF):
        return stmt
    partner = select(StationPartner.station_id).where(StationPartner.society_id == user.org_id)
    conditions = [
        Need.org_id == user.org_id,
        Station.government_id == user.org_id,
        Station.society_id == user.org_id,
        Need.station_id.in_(partner),
    ]
    org = db.session.get(Organisation, user.org_id)
    if user.has_role(*rules.SOCIETY_STAFF) and org is not None and org.kind == "society":
        conditions.append(Need.state.notin_(("posted", "not_accepted")))
    return stmt.where(or_(*conditions))
