"""Panel days in the 专家咨询费发放表: by title, a half day at the configured share."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.calls.models import Call
from app.extensions import db
from app.reviews.models import (
    Expert,
    ReviewAssignment,
)
from app.reviews.operations.panel.common import panel_of
from app.reviews.operations.ranking import FeeRow, fee_rates, remote_fee_rows


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


def fee_page(call: Call, *, q: str = "", page: int = 1, per_page: int = 100):
    """One page of ``fee_rows(call)`` (the same rows in the same order), the number of
    rows, and the whole round's totals (experts, reviews, fees), in a fixed number of
    queries: the reviews are counted per expert by the database, and only the page's
    experts are loaded. ``q`` matches the expert's name or pool number.
    """
    senior, other = fee_rates()
    ra = ReviewAssignment
    counts = db.session.execute(
        select(ra.expert_id, func.count(ra.id), Expert.is_senior)
        .join(Expert, Expert.id == ra.expert_id)
        .where(ra.call_id == call.id, ra.state == "submitted")
        .group_by(ra.expert_id, Expert.is_senior)
        .order_by(ra.expert_id)
    ).all()
    fees = panel_fees(call)
    order = [(int(expert_id), int(n)) for expert_id, n, _senior in counts]
    remote = {expert_id for expert_id, _n in order}
    order += [(expert_id, 0) for expert_id in sorted(set(fees) - remote)]
    totals = {
        "experts": len(order),
        "reviews": sum(n for _e, n in order),
        "fee_fen": sum((senior if is_senior else other) * int(n) for _e, n, is_senior in counts)
        + sum(f.fee_fen for f in fees.values()),
    }
    q = (q or "").strip()
    if q:
        match = User.name.ilike(f"%{q}%")
        if q.isdigit():
            match = or_(match, Expert.id == int(q))
        found = set(
            db.session.scalars(select(Expert.id).join(User, User.id == Expert.user_id).where(match))
        )
        order = [x for x in order if x[0] in found]
    offset = (max(page, 1) - 1) * per_page
    window = order[offset : offset + per_page]
    experts = {
        e.id: e
        for e in db.session.scalars(
            select(Expert)
            .where(Expert.id.in_([expert_id for expert_id, _n in window]))
            # The page shows the expert's name: not the account's roles (another query).
            .options(joinedload(Expert.user).lazyload(User.roles))
        )
    }
    rows = []
    for expert_id, n in window:
        expert, fee = experts[expert_id], fees.get(expert_id)
        if expert_id in remote:
            rate = senior if expert.is_senior else other
            rows.append(FeeRow(expert, n, rate, rate * n, panel=fee))
        else:
            rows.append(FeeRow(expert, 0, 0, 0, panel=fee))
    return rows, len(order), totals
