"""Panel days in the 专家咨询费发放表: by title, a half day at the configured share."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app
from sqlalchemy import select

from app.calls.models import Call
from app.extensions import db
from app.reviews.models import (
    Expert,
)
from app.reviews.operations.panel.common import panel_of
from app.reviews.operations.ranking import FeeRow, remote_fee_rows


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
