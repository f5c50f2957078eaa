"""The ranking page (ties, vetoes, flags), closing the round, downloads readable
with formula injection neutralised, the long CSV that `review rank` re-ranks, the API."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.reviews import operations as ops
from app.reviews.rubric import load_rubric
from app.reviews.score_file import load_scores
from app.reviews.scoring import rank_applications
from tests import factories
from tests.conftest import login

KEYS = ("need", "service_plan", "expert_team", "co_building", "outcomes", "budget")


def _scores(value: str) -> dict:
    return {k: value for k in KEYS}


def _submitted_round(session):
    r = factories.review_round(n_apps=3, n_experts=5)
    r.apps[0].title = '=HYPERLINK("http://evil")'  # a formula-looking title
    rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=2), actor=r.officer)
    a, b, c = r.apps
    for row in rows:
        user = row.expert.user
        ops.respond(row, "accept", actor=user, no_conflict=True, pledge=True)
        data = {"scores": _scores("8"), "overall_comment": "+cmd|' /C calc'!A0"}
        if row.application_id == c.id:
            data = {"scores": _scores("9"), "vetoes": {"duplicate_funding": "已获省财政资助"}}
        ops.submit_sheet(row, data, actor=user)
    db.session.flush()
    r.rows = rows
    return r


def test_ranking_page_shows_ties_vetoes_and_flags(client, session):
    r = _submitted_round(session)
    approver = factories.user("approver")
    login(client, approver)
    page = client.get(f"/reviews/calls/{r.call.id}/ranking")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.count("并列") >= 2 and "一票否决" in text
    assert "80.00" in text and 'type="application/json" id="score-chart-data"' in text
    assert "评审结果汇总排序表" in text
    vetoed = client.get(f"/reviews/calls/{r.call.id}/ranking?flag=veto").get_data(as_text=True)
    assert f"<td>{r.apps[2].project_number}</td>" in vetoed
    assert f"<td>{r.apps[1].project_number}</td>" not in vetoed
    # The approver may look but not close the round.
    assert "结束本轮评审" not in text


def test_rank_call_uses_scoring_and_finish_round_moves_applications(session):
    r = _submitted_round(session)
    result = ops.rank_call(r.call)
    by_app = {row.application.id: row.ranked for row in result.rows}
    a, b, c = r.apps
    assert by_app[a.id].rank == by_app[b.id].rank == 1 and "tie" in by_app[a.id].flags
    assert by_app[c.id].rank is None and "veto" in by_app[c.id].flags
    done, waiting = ops.finish_round(r.call, actor=r.officer)
    assert {x.id for x in done} == {a.id, b.id, c.id} and waiting == []
    assert {x.state for x in r.apps} == {"reviewed"}
    assert (
        len(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "application.finish_review")
            ).all()
        )
        == 3
    )


def test_round_with_a_missing_sheet_stays_open(session):
    r = factories.review_round(n_apps=1, n_experts=3)
    rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=2), actor=r.officer)
    for row in rows[:2]:
        ops.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
        ops.submit_sheet(row, {"scores": _scores("7")}, actor=row.expert.user)
    done, waiting = ops.finish_round(r.call, actor=r.officer)
    assert done == [] and [a.id for a in waiting] == [r.apps[0].id]
    assert r.apps[0].state == "in_review"


def _download(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    assert "attachment" in response.headers["Content-Disposition"]
    return response.data


def test_xlsx_downloads_are_readable_neutralised_and_audited(client, session):
    r = _submitted_round(session)
    login(client, r.officer)
    ranking = load_workbook(
        io.BytesIO(_download(client, f"/reviews/calls/{r.call.id}/ranking.xlsx"))
    )
    assert ranking.sheetnames[0] == "汇总"
    cells = [c for row in ranking["汇总"].iter_rows(values_only=True) for c in row if c]
    assert any(str(c).startswith("'=HYPERLINK") for c in cells)
    assert not any(str(c).startswith("=") for c in cells)
    detail = load_workbook(io.BytesIO(_download(client, f"/reviews/calls/{r.call.id}/scores.xlsx")))
    comments = [c for row in detail["汇总"].iter_rows(values_only=True) for c in row if c]
    assert "'+cmd|' /C calc'!A0" in comments
    draw_id = r.rows[0].draw_id
    record = load_workbook(io.BytesIO(_download(client, f"/reviews/draws/{draw_id}/record.xlsx")))
    summary = {row[0]: row[1] for row in record["汇总"].iter_rows(min_row=3, values_only=True)}
    assert summary["随机种子"] == "2" and len(summary["输入摘要（sha256）"]) == 64
    assert "明细-抽取结果" in record.sheetnames and "明细-回避" in record.sheetnames
    fees = load_workbook(io.BytesIO(_download(client, f"/reviews/calls/{r.call.id}/fees.xlsx")))
    total = [
        row for row in fees["汇总"].iter_rows(values_only=True) if row[0] == "通讯评审咨询费合计"
    ]
    assert total and total[0][2] == 9 * 300.0  # nine reviews, none senior, 300 元 each
    downloads = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.download")
    ).all()
    assert {e.after["document"] for e in downloads} >= {
        "review-ranking",
        "review-scores",
        "draw-record",
        "expert-fees",
    }


def test_long_csv_re_ranks_to_the_same_result(client, session, tmp_path):
    r = _submitted_round(session)
    login(client, r.officer)
    data = _download(client, f"/reviews/calls/{r.call.id}/scores.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["application", "reviewer", "criterion", "score"]
    path = tmp_path / "scores.csv"
    path.write_bytes(data)
    rubric = load_rubric(r.call.rubric_snapshot.content)
    loaded = load_scores(rubric, path)
    again = {
        x.application: (x.rank, x.aggregate, x.flags)
        for x in rank_applications(rubric, loaded.reviews, loaded.vetoes)
    }
    web = {
        str(x.application.id): (x.ranked.rank, x.ranked.aggregate, x.ranked.flags)
        for x in ops.rank_call(r.call).rows
    }
    assert again == web


def test_reviews_api_shape(client, session):
    r = _submitted_round(session)
    auditor = factories.user("auditor")
    from app.accounts import operations as accounts

    _row, token = accounts.create_api_token(auditor, actor=auditor)
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/v1/reviews?call={r.call.id}&limit=4", headers=headers).get_json()
    assert set(body) == {"items", "next", "aggregates"}
    assert len(body["items"]) == 4 and body["next"].startswith("/api/v1/reviews?")
    item = body["items"][0]
    assert item["state"] == "submitted" and isinstance(item["reviewer_id"], int)
    assert item["total"] == "80.00" or item["total"] == "90.00"
    assert item["submitted_at"].endswith("Z")
    text = str(body)
    assert not any(e.user.name in text for e in r.experts)
    ids = [i["id"] for i in body["items"]]
    assert ids == sorted(ids)
    nxt = client.get(body["next"], headers=headers).get_json()
    assert len(nxt["items"]) == 4 and "limit=4" in nxt["next"]
    last = client.get(nxt["next"], headers=headers).get_json()
    assert len(last["items"]) == 1 and last["next"] is None
    agg = {a["application_id"]: a for a in body["aggregates"]}
    assert agg[r.apps[2].id]["flags"] == ["veto"] and agg[r.apps[2].id]["rank"] is None
    assert agg[r.apps[0].id]["aggregate"] == "80.00" and "tie" in agg[r.apps[0].id]["flags"]
    assert client.get("/api/v1/reviews", headers=headers).status_code == 400
    spec = client.get("/api/v1/openapi.json", headers=headers).get_json()
    assert "/api/v1/reviews" in spec["paths"]
