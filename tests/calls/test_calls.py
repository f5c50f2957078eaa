"""Funds and calls: lifecycle through the tick, publishing with the ledger, amendments, pages."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.calls import operations as calls
from app.calls.models import CallAmendment, RubricSnapshot
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from tests import factories
from tests.conftest import login, post


def events(session, action, entity_id=None):
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == str(entity_id))
    return session.scalars(stmt.order_by(AuditEvent.seq)).all()


def test_tick_opens_and_closes_at_the_exact_times(session):
    start = clock.now().replace(microsecond=0) + timedelta(days=1)
    end = start + timedelta(days=10)
    call = factories.call("published", opens_at=start, closes_at=end)
    assert call.state == "published"
    with clock.frozen(start - timedelta(seconds=1)):
        assert calls.open_and_close_calls() == 0
    assert call.state == "published"
    with clock.frozen(start):
        assert calls.open_and_close_calls() == 1
        assert calls.open_and_close_calls() == 0  # idempotent
    assert call.state == "open"
    with clock.frozen(end - timedelta(seconds=1)):
        calls.open_and_close_calls()
    assert call.state == "open"
    with clock.frozen(end):
        calls.open_and_close_calls()
    assert call.state == "closed"
    opened, closed = events(session, "call.open", call.id), events(session, "call.close", call.id)
    assert opened[0].before == {"state": "published"} and opened[0].after == {"state": "open"}
    assert clock.as_utc(opened[0].occurred_at) == start
    assert closed[0].after["state"] == "closed"


def test_publish_pins_the_rubric_and_reserves_the_budget(session):
    officer = factories.user("officer")
    fund = factories.fund(amount_fen=60_000_000)
    call = factories.call("draft", officer=officer, the_fund=fund)
    calls.publish_call(call, actor=officer)
    snap = session.get(RubricSnapshot, call.rubric_snapshot_id)
    assert snap.rubric_id == "assist-review" and len(snap.sha256) == 64
    assert snap.content.startswith(b"#")
    assert calls.fund_available_fen(fund) == 10_000_000
    assert events(session, "call.publish", call.id)[0].after["rubric_sha256"] == snap.sha256
    assert events(session, "ledger.reserve")
    second = factories.call("draft", officer=officer, the_fund=fund)
    with pytest.raises(Conflict, match="可用额度不足"):
        calls.publish_call(second, actor=officer)


def test_only_officers_publish(session):
    call = factories.call("draft")
    with pytest.raises(NotAllowed):
        calls.publish_call(call, actor=factories.user("applicant"))


def test_invalid_rules_are_all_listed(session):
    officer = factories.user("officer")
    fund = factories.fund()
    rules = factories.call_rules(
        title="", categories=[], project_cap_fen=99_000_000, number_pattern="{year}-ZL"
    )
    with pytest.raises(ValidationFailed) as exc:
        calls.create_call(fund.id, rules, actor=officer)
    messages = [exc.value.message, *exc.value.details]
    assert "请填写标题。" in messages
    assert "请至少选择一个任务类别。" in messages
    assert any("{seq}" in m for m in messages)
    assert "单项资助上限不能超过批次总预算。" in messages


def test_amendment_is_audited_with_before_and_after(session):
    officer = factories.user("officer")
    call = factories.call("open", officer=officer)
    old_close = clock.as_utc(call.closes_at)
    new_close = old_close + timedelta(days=7)
    with pytest.raises(ValidationFailed, match="变更理由"):
        calls.amend_call(call, {"closes_at": new_close}, actor=officer, reason=" ")
    amendment = calls.amend_call(
        call, {"closes_at": new_close, "per_society_limit": 2}, actor=officer, reason="延长申报期"
    )
    assert amendment.number == 1
    assert amendment.before == {
        "closes_at": clock.rfc3339(old_close),
        "per_society_limit": 1,
    }
    assert amendment.after["per_society_limit"] == 2
    event = events(session, "call.amend", call.id)[0]
    assert event.reason == "延长申报期"
    assert event.before["closes_at"] == clock.rfc3339(old_close)
    assert event.after["closes_at"] == clock.rfc3339(new_close)
    with pytest.raises(ValidationFailed, match="开始时间"):
        calls.amend_call(
            call, {"opens_at": clock.now() - timedelta(days=3)}, actor=officer, reason="x"
        )
    with pytest.raises(NotAllowed):
        calls.update_call(call, {"title": "改名"}, actor=officer)
    assert session.scalar(select(CallAmendment.id).where(CallAmendment.call_id == call.id))


def test_amendments_are_append_only(session):
    officer = factories.user("officer")
    call = factories.call("open", officer=officer)
    amendment = calls.amend_call(call, {"notice_days": 7}, actor=officer, reason="调整公示期")
    amendment.reason = "篡改"
    with pytest.raises(Exception, match="append-only"):
        session.flush()


def test_public_pages_show_published_calls_and_hide_drafts(client, session):
    published = factories.call("open")
    draft = factories.call("draft")
    page = client.get("/calls").get_data(as_text=True)
    assert published.title in page and "申报中" in page
    detail = client.get(f"/calls/{published.id}").get_data(as_text=True)
    assert "申报指南正文。" in detail and "申报截止时间" in detail
    assert client.get(f"/calls/{draft.id}").status_code == 404


def test_officer_creates_and_publishes_a_call_through_the_pages(client, session):
    officer = factories.user("officer")
    fund = factories.fund()
    login(client, officer)
    form = {
        "fund_id": fund.id,
        "kind": "project",
        "title": "页面创建的批次",
        "guide": "指南",
        "categories": ["consulting", "outreach"],
        "opens_at": "2026-03-01T09:00",
        "closes_at": "2026-04-01T17:00",
        "total_budget": "200,000",
        "project_cap": "5万",
        "per_society_limit": "1",
        "budget_lines": "expert_fee | 专家咨询费 | Experts | 20000\nindirect | 间接费用 | Indirect",
        "indirect_cap_pct": "10",
        "matching_ratio_pct": "0",
        "required_attachments": "agreement | 共建协议 | Agreement",
        "rubric_file": "assist-review.toml",
        "reviews_per_application": "3",
        "notice_days": "5",
        "number_pattern": "{year}-ZL-{seq:03d}",
        "max_returns": "1",
    }
    response = post(client, "/calls/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    from app.calls.models import Call

    call = session.scalar(select(Call).where(Call.title == "页面创建的批次"))
    assert call.total_budget_fen == 20_000_000 and call.project_cap_fen == 5_000_000
    assert call.budget_lines[0]["cap_fen"] == 2_000_000
    assert clock.rfc3339(call.opens_at) == "2026-03-01T01:00:00.000000Z"  # 09:00 Beijing
    assert post(client, f"/calls/{call.id}/publish").status_code == 302
    assert call.state == "published"


def test_optional_call_flags_default_off_and_amendments_keep_them(session):
    officer = factories.user("officer")
    fund = factories.fund()
    call = calls.create_call(fund.id, factories.call_rules(), actor=officer)
    assert not call.balance_retention_allowed and not call.hide_applicant_identity
    assert not call.notice_working_days
    calls.update_call(
        call,
        factories.call_rules(balance_retention_allowed=True, hide_applicant_identity=True),
        actor=officer,
    )
    assert call.balance_retention_allowed and call.hide_applicant_identity
    calls.publish_call(call, actor=officer)
    calls.amend_call(call, {"per_society_limit": 2}, actor=officer, reason="放宽限额")
    assert call.balance_retention_allowed and call.hide_applicant_identity  # untouched
    calls.amend_call(call, {"balance_retention_allowed": False}, actor=officer, reason="收回")
    assert not call.balance_retention_allowed
