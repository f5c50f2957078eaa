"""Panel review (会议评审/答辩): size and organisation rules, conflicts, independent and
locked marks, signatures and dissent, the effect on the ranking (hand-computed), the
panel-day fees, and who may see what."""

from __future__ import annotations

import io
from datetime import date, time
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from app.extensions import db
from app.reviews import exports
from app.reviews import operations as ops
from app.reviews.models import ReviewPanelMark
from app.reviews.operations import panel as panels
from app.reviews.permissions import can_see_marks
from tests import factories
from tests.conftest import login, post

KEYS = ("need", "service_plan", "expert_team", "co_building", "outcomes", "budget")
MEETING = date(2026, 12, 10)


def _events(action: str) -> list[AuditEvent]:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    ).all()


def _reviewed_round(session, bases=("9", "8", "7")):
    """Three applications reviewed by three experts each: remote aggregates 90, 80, 70."""
    r = factories.review_round(n_apps=len(bases), n_experts=5, k=3)
    rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=3), actor=r.officer)
    base = {a.id: b for a, b in zip(r.apps, bases, strict=True)}
    for row in rows:
        user = row.expert.user
        ops.respond(row, "accept", actor=user, no_conflict=True, pledge=True)
        scores = {k: base[row.application_id] for k in KEYS}
        ops.submit_sheet(row, {"scores": scores}, actor=user)
    ops.finish_round(r.call, actor=r.officer)
    db.session.flush()
    return r


def _panel(r, n_members=5, shortlist=2, **settings):
    """A panel with ``shortlist`` slots (the first applications) and ``n_members``
    members from distinct organisations (the first is the chair)."""
    data = {"mode": "replace", "method": "score", "meeting_date": MEETING, **settings}
    panel = panels.save_panel(r.call, data, actor=r.officer)
    for i, app in enumerate(r.apps[:shortlist]):
        panels.add_slot(panel, app, actor=r.officer, starts_at=time(9 + i, 0))
    r.members = [
        panels.add_member(panel, factories.expert(r.officer), actor=r.officer, is_chair=i == 0)
        for i in range(n_members)
    ]
    r.panel = panel
    return panel


def _submit(member, scores: dict, votes: dict | None = None):
    marks = {a: {"score": s} for a, s in scores.items()}
    for a, v in (votes or {}).items():
        marks[a] = {"vote": v}
    panels.submit_marks(member, marks, actor=member.expert.user, declared=True)


def _scored(r, a_scores=(70, 72, 74, 76, 78), b_scores=(90, 88, 86, 84, 82)):
    a, b = r.apps[0], r.apps[1]
    panels.open_panel(r.panel, actor=r.officer)
    for m, sa, sb in zip(r.members, a_scores, b_scores, strict=True):
        _submit(m, {a.id: sa, b.id: sb})


def _conclude(r, dissent_from=None):
    panels.propose_opinion(r.panel, "同意入围项目按会评结果排序。", actor=r.officer)
    for m in r.panel.attending():
        if m is dissent_from:
            panels.sign_opinion(m, actor=m.expert.user, dissent="第二项目的服务方案不可行。")
        else:
            panels.sign_opinion(m, actor=m.expert.user)
    panels.conclude_panel(r.panel, actor=r.officer)


# --- size, organisations, conflicts ---


@pytest.mark.parametrize("n", [4, 6])
def test_opening_needs_an_odd_panel_of_five_to_nine(session, n):
    r = _reviewed_round(session)
    panel = _panel(r, n_members=n)
    with pytest.raises(ValidationFailed) as err:
        panels.open_panel(panel, actor=r.officer)
    assert "5–9 人的奇数" in err.value.message and f"现有 {n} 人" in err.value.message
    assert panel.state == "forming" and not _events("review_panel.open")


def test_at_most_nine_members_and_draw_sizes_are_odd(session):
    r = _reviewed_round(session)
    panel = _panel(r, n_members=9)
    with pytest.raises(ValidationFailed, match="最多 9 人"):
        panels.add_member(panel, factories.expert(r.officer), actor=r.officer)
    for size in (4, 6, 10, 11):
        with pytest.raises(ValidationFailed, match="奇数"):
            panels.draw_members(panel, size, actor=r.officer, seed=1)


def test_at_most_two_members_from_one_organisation(session):
    r = _reviewed_round(session)
    panel = _panel(r, n_members=3)
    org = factories.org("expert_org")
    panels.add_member(panel, factories.expert(r.officer, organisation=org), actor=r.officer)
    panels.add_member(panel, factories.expert(r.officer, organisation=org), actor=r.officer)
    third = factories.expert(r.officer, organisation=org)
    with pytest.raises(ValidationFailed, match="同一单位的评审组成员不能超过 2 人"):
        panels.add_member(panel, third, actor=r.officer)
    assert len(panel.members) == 5


def test_draw_fills_up_reproducibly_skipping_conflicts_and_full_organisations(session):
    r = _reviewed_round(session)
    panel = _panel(r, n_members=1)
    org = factories.org("expert_org")
    crowd = [factories.expert(r.officer, organisation=org) for _ in range(4)]
    conflicted = factories.expert(r.officer, organisation=r.apps[0].society)
    for _ in range(6):
        factories.expert(r.officer)
    savepoint = db.session.begin_nested()
    first = [e.id for e in panels.draw_members(panel, 7, actor=r.officer, seed=42)]
    savepoint.rollback()
    db.session.expire_all()
    again = [e.id for e in panels.draw_members(panel, 7, actor=r.officer, seed=42)]
    assert first == again and len(panel.members) == 7
    assert conflicted.id not in again
    assert sum(1 for e in crowd if e.id in again) <= 2
    event = _events("review_panel.draw")[-1]
    assert event.after["seed"] == 42 and event.after["drawn"] == again
    assert conflicted.id not in event.after["candidates"]


def test_conflicts_use_the_remote_review_rules(session):
    r = _reviewed_round(session)
    panel = _panel(r, n_members=0)
    a, b, c = r.apps
    same_org = factories.expert(r.officer, organisation=a.society)
    with pytest.raises(ValidationFailed, match="利益冲突（与申报单位为同一单位）"):
        panels.add_member(panel, same_org, actor=r.officer)
    # The other way round: a member first, then the application they conflict with.
    for slot in list(panel.slots):
        panels.remove_slot(panel, slot, actor=r.officer)
    db.session.flush()
    rival = factories.expert(r.officer, organisation=c.society)
    panels.add_member(panel, rival, actor=r.officer)
    with pytest.raises(ValidationFailed, match="利益冲突（与申报单位为同一单位）"):
        panels.add_slot(panel, c, actor=r.officer)
    with pytest.raises(ValidationFailed, match="本人所在单位在同一批次申报"):
        panels.add_slot(panel, a, actor=r.officer)
    assert panel.slots == []


def test_only_reviewed_applications_of_the_call_are_shortlisted(session):
    r = _reviewed_round(session)
    panel = _panel(r, n_members=0, shortlist=1)
    other = factories.accepted(factories.call(officer=r.officer), officer=r.officer)
    with pytest.raises(ValidationFailed, match="只有本批次"):
        panels.add_slot(panel, other, actor=r.officer)
    with pytest.raises(Conflict):
        panels.add_slot(panel, r.apps[0], actor=r.officer)
    with pytest.raises(ValidationFailed, match="答辩顺序 1 已被占用"):
        panels.add_slot(panel, r.apps[1], actor=r.officer, position=1)


# --- independence and lock ---


def test_marks_are_independent_locked_and_sealed_until_all_submitted(session):
    r = _reviewed_round(session)
    panel = _panel(r)
    a, b = r.apps[0], r.apps[1]
    with pytest.raises(NotAllowed):  # not open yet
        _submit(r.members[0], {a.id: 80, b.id: 80})
    panels.open_panel(panel, actor=r.officer)
    assert panel.state == "scoring"
    first = r.members[0]
    with pytest.raises(ValidationFailed, match="声明"):
        panels.submit_marks(
            first,
            {a.id: {"score": 80}, b.id: {"score": 80}},
            actor=first.expert.user,
            declared=False,
        )
    with pytest.raises(ValidationFailed, match="0–100 的整数"):
        _submit(first, {a.id: 101, b.id: 80})
    with pytest.raises(ValidationFailed, match="请为申报书"):
        _submit(first, {a.id: 80})
    assert db.session.scalars(select(ReviewPanelMark)).all() == []  # nothing half-written
    with pytest.raises(NotAllowed):  # somebody else's seat
        panels.submit_marks(first, {}, actor=r.members[1].expert.user, declared=True)
    _submit(first, {a.id: 80, b.id: 70})
    with pytest.raises(NotAllowed, match="已提交并封存"):
        _submit(first, {a.id: 90, b.id: 90})
    # Sealed: neither the members nor the department see marks while scoring.
    assert not can_see_marks(first.expert.user, panel)
    assert not can_see_marks(r.officer, panel)
    assert panels.panel_results(panel)[a.id].value == Decimal("80.00")  # computed, not shown
    for m in r.members[1:]:
        _submit(m, {a.id: 80, b.id: 70})
    assert panel.state == "discussion" and panel.scoring_closed_at is not None
    assert can_see_marks(first.expert.user, panel) and can_see_marks(r.officer, panel)
    closing = _events("review_panel.close_scoring")[-1]
    assert closing.after == {"state": "discussion", "submitted": 5, "attending": 5}
    assert len(_events("review_panel.submit_marks")) == 5


def test_the_chair_closes_scoring_early_and_absent_members_do_not_score(session):
    r = _reviewed_round(session)
    panel = _panel(r)
    a, b = r.apps[0], r.apps[1]
    panels.set_attendance(panel, r.members[4], "absent", actor=r.officer)
    panels.open_panel(panel, actor=r.officer)
    with pytest.raises(NotAllowed, match="缺席"):
        _submit(r.members[4], {a.id: 60, b.id: 60})
    chair, plain = r.members[0], r.members[1]
    with pytest.raises(ValidationFailed, match="尚无成员提交评分"):
        panels.close_scoring(panel, actor=chair.expert.user)
    _submit(chair, {a.id: 81, b.id: 70})
    _submit(plain, {a.id: 84, b.id: 71})
    with pytest.raises(NotAllowed, match="组长"):
        panels.close_scoring(panel, actor=r.members[2].expert.user)
    panels.close_scoring(panel, actor=chair.expert.user)
    assert panel.state == "discussion"
    result = panels.panel_results(panel)
    assert result[a.id].value == Decimal("82.50") and result[a.id].n == 2
    assert result[b.id].value == Decimal("70.50")
    with pytest.raises(NotAllowed):
        _submit(r.members[2], {a.id: 10, b.id: 10})


# --- opinion, signatures and dissent ---


def test_members_sign_or_dissent_with_a_reason_before_the_panel_concludes(session):
    r = _reviewed_round(session)
    panel = _panel(r)
    panels.set_attendance(panel, r.members[3], "half_day", actor=r.officer)
    panels.set_attendance(panel, r.members[4], "absent", actor=r.officer)
    _scored_four = (70, 72, 74, 76)
    panels.open_panel(panel, actor=r.officer)
    a, b = r.apps[0], r.apps[1]
    for m, s in zip(r.members[:4], _scored_four, strict=True):
        _submit(m, {a.id: s, b.id: 80})
    assert panel.state == "discussion"
    with pytest.raises(NotAllowed):  # nothing to sign yet
        panels.sign_opinion(r.members[0], actor=r.members[0].expert.user)
    with pytest.raises(ValidationFailed, match="评审组意见"):
        panels.propose_opinion(panel, "   ", actor=r.officer)
    panels.propose_opinion(panel, "建议按会评结果排序。", actor=r.officer)
    assert panel.state == "signing"
    dissenter = r.members[2]
    with pytest.raises(ValidationFailed, match="理由"):
        panels.sign_opinion(dissenter, actor=dissenter.expert.user, dissent="  ")
    panels.sign_opinion(dissenter, actor=dissenter.expert.user, dissent="预算测算依据不足。")
    with pytest.raises(NotAllowed, match="已签署或提交了不同意见"):
        panels.sign_opinion(dissenter, actor=dissenter.expert.user)
    with pytest.raises(NotAllowed, match="缺席"):
        panels.sign_opinion(r.members[4], actor=r.members[4].expert.user)
    panels.sign_opinion(r.members[0], actor=r.members[0].expert.user)
    with pytest.raises(ValidationFailed, match="尚未签署") as err:
        panels.conclude_panel(panel, actor=r.officer)
    assert r.members[1].expert.name in err.value.message
    for m in r.members[1], r.members[3]:
        panels.sign_opinion(m, actor=m.expert.user)
    panels.conclude_panel(panel, actor=r.officer)
    assert panel.state == "concluded" and panel.concluded_at is not None
    assert len(_events("review_panel.sign")) == 3
    (dissent,) = _events("review_panel.dissent")
    assert dissent.reason == "预算测算依据不足。" and dissent.entity_id == str(dissenter.id)
    concluded = _events("review_panel.conclude")[-1]
    assert concluded.after["results"] == {str(a.id): "73.00", str(b.id): "80.00"}
    assert concluded.after["dissents"] == [dissenter.expert_id]
    with pytest.raises(InvalidTransition):
        panels.open_panel(panel, actor=r.officer)
    with pytest.raises(Conflict):
        panels.set_attendance(panel, r.members[0], "absent", actor=r.officer)


# --- ranking ---


def _final(r):
    return {f.application.id: f for f in panels.final_ranking(r.panel, ops.rank_call(r.call))}


def test_replace_ranks_the_shortlist_by_the_panel_score(session):
    r = _reviewed_round(session)
    _panel(r, mode="replace")
    a, b, c = r.apps
    # Remote: a 90 (1st), b 80 (2nd), c 70 (3rd, not shortlisted).
    _scored(r)  # panel means: a (70+72+74+76+78)/5 = 74, b (90+88+86+84+82)/5 = 86
    assert _final(r) == {}  # nothing feeds the ranking before the panel concludes
    _conclude(r, dissent_from=r.members[1])
    final = _final(r)
    assert (final[b.id].final, final[b.id].rank) == (Decimal("86.00"), 1)
    assert (final[a.id].final, final[a.id].rank) == (Decimal("74.00"), 2)
    assert (final[c.id].final, final[c.id].rank, final[c.id].shortlisted) == (
        Decimal("70.00"),
        3,
        False,
    )
    assert final[a.id].remote == Decimal("90.00") and final[a.id].remote_rank == 1


@pytest.mark.parametrize(
    ("weight", "a_final", "b_final", "first"),
    [
        (50, "82.00", "83.00", "b"),  # a .5·74 + .5·90 = 82; b .5·86 + .5·80 = 83
        (30, "85.20", "81.80", "a"),  # a .3·74 + .7·90 = 85.2; b .3·86 + .7·80 = 81.8
    ],
)
def test_combine_weighs_the_panel_score_against_the_remote_aggregate(
    session, weight, a_final, b_final, first
):
    r = _reviewed_round(session)
    _panel(r, mode="combine", panel_weight=weight)
    a, b, c = r.apps
    _scored(r)
    _conclude(r)
    final = _final(r)
    assert final[a.id].final == Decimal(a_final) and final[b.id].final == Decimal(b_final)
    winner = {"a": a, "b": b}[first]
    assert final[winner.id].rank == 1 and final[c.id].rank == 3


def test_votes_give_the_share_of_support(session):
    r = _reviewed_round(session)
    _panel(r, method="vote")
    a, b = r.apps[0], r.apps[1]
    panels.open_panel(r.panel, actor=r.officer)
    votes_a = ("support", "support", "support", "oppose", "abstain")
    votes_b = ("support", "oppose", "oppose", "abstain", "support")
    for m, va, vb in zip(r.members, votes_a, votes_b, strict=True):
        _submit(m, {}, {a.id: va, b.id: vb})
    results = panels.panel_results(r.panel)
    assert results[a.id].value == Decimal("60.00")  # 3 of 5
    assert results[b.id].value == Decimal("40.00")
    assert results[a.id].votes == {"support": 3, "oppose": 1, "abstain": 1}
    with pytest.raises(ValidationFailed):
        panels.save_panel(r.call, {"mode": "sideways"}, actor=r.officer)


def test_ranking_page_and_export_show_the_panel_stage(client, session):
    r = _reviewed_round(session)
    _panel(r, mode="combine", panel_weight=50)
    _scored(r)
    _conclude(r)
    approver = factories.user("approver")
    session.commit()
    login(client, approver)
    text = client.get(f"/reviews/calls/{r.call.id}/ranking").get_data(as_text=True)
    assert "会议评审（第二阶段）" in text and "83.00" in text and "82.00" in text
    assert "未入围" in text
    fh = io.BytesIO()
    exports.ranking_xlsx(fh, r.call, ops.rank_call(r.call), user=approver)
    sheet = load_workbook(io.BytesIO(fh.getvalue()))["明细-会议评审"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    flat = [v for row in values for v in row]
    assert "83.00" in flat and "82.00" in flat and "未入围会议评审" in flat


# --- fees ---


def test_panel_days_enter_the_fee_sheet_half_day_at_sixty_percent(app, session):
    app.config.update(REVIEW_PANEL_DAY_SENIOR_FEN=200_000, REVIEW_PANEL_DAY_OTHER_FEN=120_000)
    r = _reviewed_round(session)
    _panel(r, n_members=0)
    officer = r.officer
    senior = panels.add_member(
        r.panel, factories.expert(officer, is_senior=True), actor=officer, is_chair=True
    )
    half = panels.add_member(r.panel, factories.expert(officer), actor=officer)
    absent = panels.add_member(r.panel, factories.expert(officer), actor=officer)
    remote = r.experts[0]  # also a remote reviewer of the round
    both = panels.add_member(r.panel, remote, actor=officer)
    other = panels.add_member(r.panel, factories.expert(officer, is_senior=True), actor=officer)
    r.members = [senior, half, absent, both, other]
    panels.set_attendance(r.panel, half, "half_day", actor=officer)
    panels.set_attendance(r.panel, absent, "absent", actor=officer)
    assert panels.panel_fees(r.call) == {}  # not before the panel concludes
    panels.open_panel(r.panel, actor=officer)
    a, b = r.apps[0], r.apps[1]
    for m in r.panel.attending():
        _submit(m, {a.id: 80, b.id: 80})
    _conclude(r)
    fees = panels.panel_fees(r.call)
    assert fees[senior.expert_id].fee_fen == 200_000
    assert fees[half.expert_id].fee_fen == 72_000  # 60% of 1,200 元
    assert fees[absent.expert_id].fee_fen == 0
    rows = {f.expert.id: f for f in ops.fee_rows(r.call)}
    remote_fee = rows[remote.id].amount_fen
    assert remote_fee > 0 and rows[remote.id].reviews >= 1
    rate = 200_000 if remote.is_senior else 120_000
    assert rows[remote.id].total_fen == remote_fee + rate
    assert rows[half.expert_id].reviews == 0 and rows[half.expert_id].total_fen == 72_000
    fh = io.BytesIO()
    exports.fees_xlsx(fh, r.call, user=officer)
    book = load_workbook(io.BytesIO(fh.getvalue()))
    flat = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert "会议评审咨询费合计" in flat and "半天" in flat


# --- pages and permissions ---


def test_members_see_their_panel_others_get_404(client, session):
    r = _reviewed_round(session)
    panel = _panel(r)
    member = r.members[1]
    session.commit()
    login(client, member.expert.user)
    assert client.get(f"/reviews/panels/{panel.id}").status_code == 404  # still forming
    panels.open_panel(panel, actor=r.officer)
    session.commit()
    page = client.get(f"/reviews/panels/{panel.id}")
    assert page.status_code == 200 and "提交评分（提交后封存）" in page.get_data(as_text=True)
    assert "进入会评" in client.get("/reviews/panels/mine").get_data(as_text=True)
    a, b = r.apps[0], r.apps[1]
    bad = post(client, f"/reviews/panels/{panel.id}", {f"score-{a.id}": "abc", "declared": "y"})
    assert bad.status_code == 422 and "0–100 的整数" in bad.get_data(as_text=True)
    ok = post(
        client,
        f"/reviews/panels/{panel.id}",
        {f"score-{a.id}": "77", f"score-{b.id}": "66", "declared": "y"},
    )
    assert ok.status_code == 303
    page = client.get(f"/reviews/panels/{panel.id}").get_data(as_text=True)
    assert "我的评分（已封存）" in page and "全体成员评分" not in page
    client.get("/logout")
    outsider = factories.expert(r.officer)
    session.commit()
    login(client, outsider.user)
    assert client.get(f"/reviews/panels/{panel.id}").status_code == 404
    assert post(client, f"/reviews/panels/{panel.id}/sign", {"action": "sign"}).status_code == 404
    assert post(client, f"/reviews/panels/{panel.id}/close").status_code == 404
    assert client.get(f"/reviews/calls/{r.call.id}/panel").status_code == 403


def test_officer_pages_and_refusals(client, session):
    r = _reviewed_round(session)
    session.commit()
    login(client, r.officer)
    base = f"/reviews/calls/{r.call.id}/panel"
    page = client.get(base)
    assert page.status_code == 200 and "设立会议评审" in page.get_data(as_text=True)
    created = post(
        client,
        f"{base}/settings",
        {"mode": "combine", "panel_weight": "40", "method": "score", "meeting_date": "2026-12-10"},
    )
    assert created.status_code == 303
    panel = panels.panel_of(r.call)
    assert (panel.mode, panel.panel_weight) == ("combine", 40)
    bad = post(
        client, f"{base}/settings", {"mode": "combine", "panel_weight": "140", "method": "score"}
    )
    assert bad.status_code == 400 and panel.panel_weight == 40
    added = post(client, f"{base}/slots", {"application_id": r.apps[0].id, "starts_at": "09:30"})
    assert added.status_code == 303 and panel.slots[0].starts_at == time(9, 30)
    conflicted = factories.expert(r.officer, organisation=r.apps[0].society)
    session.commit()
    refused = post(client, f"{base}/members", {"expert_id": conflicted.id})
    assert refused.status_code == 422 and "利益冲突" in refused.get_data(as_text=True)
    assert panel.members == []
    opened = post(client, f"{base}/open")
    assert opened.status_code == 422 and "5–9 人的奇数" in opened.get_data(as_text=True)
    assert post(client, f"{base}/members/999999/remove").status_code == 404
    client.get("/logout")
    approver = factories.user("approver")
    session.commit()
    login(client, approver)
    view = client.get(base)
    assert view.status_code == 200 and "加入评审组" not in view.get_data(as_text=True)
    assert (
        post(client, f"{base}/settings", {"mode": "replace", "method": "score"}).status_code == 403
    )


# --- concurrency (committed data; matters most on PostgreSQL) ---


def test_simultaneous_last_submissions_close_scoring_exactly_once(committed_app):
    import threading

    from app.reviews.models import ReviewPanel, ReviewPanelMember

    with committed_app.app_context():
        r = _reviewed_round(db.session)
        _panel(r)
        panels.open_panel(r.panel, actor=r.officer)
        a, b = r.apps[0], r.apps[1]
        for m in r.members[:3]:
            _submit(m, {a.id: 80, b.id: 80})
        db.session.commit()
        panel_id = r.panel.id
        racing = [r.members[3].id, r.members[4].id, r.members[4].id]  # the last one twice
        app_ids = (a.id, b.id)
        db.session.remove()

    errors, refused = [], []
    start = threading.Barrier(len(racing))

    def submit(member_id: int) -> None:
        try:
            with committed_app.app_context():
                start.wait(timeout=30)  # before any statement: SQLite writers hold the lock
                member = db.session.get(ReviewPanelMember, member_id)
                user = member.expert.user
                try:
                    panels.submit_marks(
                        member, {x: {"score": 70} for x in app_ids}, actor=user, declared=True
                    )
                    db.session.commit()
                except NotAllowed:
                    db.session.rollback()
                    refused.append(member_id)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=submit, args=(m,)) for m in racing]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors[:3]
    assert refused == [racing[2]]
    with committed_app.app_context():
        panel = db.session.get(ReviewPanel, panel_id)
        assert panel.state == "discussion"
        assert len(db.session.scalars(select(ReviewPanelMark)).all()) == 10
        assert len(_events("review_panel.close_scoring")) == 1
        db.session.remove()
