"""The dashboard's figures on the demo data: what the demo's evaluation step made, worked
out by hand, and every figure recomputed row by row from the records."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from sqlalchemy import select

from app.accounts.models import Organisation
from app.applications.models import Application
from app.calls.models import Call
from app.dashboard.figures import STAGES, Filters, all_figures
from app.evaluation.demo import CALL_TITLE
from app.evaluation.models import Evaluation
from app.extensions import db
from app.ledger.models import LedgerTransfer
from app.projects.models import Project

PASSWORD = "Passw0rd-demo1"


def _by_hand_money() -> dict[str, int]:
    """Every ledger transfer, one by one: a reversal counts against its original's stage."""
    codes = {}
    for stage, (plus, minus) in STAGES.items():
        codes.update({c: (stage, 1) for c in plus})
        codes.update({c: (stage, -1) for c in minus})
    rows = db.session.scalars(select(LedgerTransfer)).all()
    by_id = {t.id: t for t in rows}
    totals = dict.fromkeys(STAGES, 0)
    for t in rows:
        code, factor = t.code, 1
        if code == "REVERSAL":
            code, factor = by_id[t.reverses_id].code, -1
        if code in codes:
            stage, sign = codes[code]
            totals[stage] += factor * sign * t.amount_fen
    return totals


def test_the_demo_figures(committed_app):
    result = committed_app.test_cli_runner().invoke(args=["demo", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    with committed_app.test_request_context():
        # The evaluation demo's own call: three projects, one evaluation accepted. Its
        # agency sheet scores every indicator at 85% of its maximum, floored to the
        # 0.5 grid: 6 × 4 (five-point) + 3 + 5 + 10 + 8.5 + 3 × 6.5 + 2 × 5.5 = 81.00 → 良.
        call = db.session.scalar(select(Call).where(Call.title == CALL_TITLE))
        f = all_figures(Filters(call_id=call.id))
        assert sum(r["count"] for r in f["by_category"]) == 3
        assert f["grades"] == {"excellent": 0, "good": 1, "fair": 0, "poor": 0}
        bins = {b["label"]: b["count"] for b in f["scores"]["evaluation"]}
        assert bins == {"<60": 0, "60–69": 0, "70–79": 0, "80–89": 1, "≥90": 0}
        accepted = db.session.scalar(
            select(Evaluation)
            .join(Project, Project.id == Evaluation.project_id)
            .where(Project.call_id == call.id, Evaluation.state == "accepted")
        )
        assert accepted.total == "81.00" and accepted.grade == "good"

        # The whole programme, row by row.
        f = all_figures(Filters())
        projects = db.session.scalars(select(Project)).all()
        funded = [p for p in projects if p.ended_at is None]
        categories = Counter(db.session.get(Application, p.application_id).category for p in funded)
        assert {r["key"]: r["count"] for r in f["by_category"] if r["count"]} == {
            k or "": n for k, n in categories.items()
        }
        assert sum(r["count"] for r in f["by_city"]) == len(funded)
        assert f["stopped"] == len(projects) - len(funded)
        assert f["money"]["totals"] == _by_hand_money()
        grades = Counter(
            e.grade for e in db.session.scalars(select(Evaluation)) if e.state == "accepted"
        )
        assert f["grades"] == {g: grades.get(g, 0) for g in ("excellent", "good", "fair", "poor")}
        societies = {o.id for o in db.session.scalars(select(Organisation)) if o.kind == "society"}
        taking_part = {
            a.society_id
            for a in db.session.scalars(select(Application))
            if a.submitted_at is not None and a.society_id in societies
        }
        part = f["participation"]
        assert (part["participating"], part["registered"]) == (len(taking_part), len(societies))
        assert part["share"] == (Decimal(len(taking_part)) / len(societies)).quantize(
            Decimal("0.0001")
        )
        assert f["participation_target"] == Decimal("0.30")
        # The stations' stage goals are the stations module's own figures.
        assert f["stations"]["parks_supported"]["min"] == 12
        assert f["stations"]["pilot_regions"]["max"] == 5
