"""Drafts: saved at any point, optimistic locking, completeness messages."""

import pytest
from sqlalchemy import select

from app.applications import operations as apps
from app.applications.models import BudgetLine
from app.audit.models import AuditEvent
from tests import factories
from tests.conftest import csrf_token, login, statements


def test_a_draft_saves_incomplete_and_keeps_child_rows(session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    assert [m.seq for m in app.milestones] == [0]
    apps.save_draft(app, {"title": "只写了标题"}, actor=applicant, expected_version=1)
    assert app.title == "只写了标题" and app.version == 2
    station = factories.station_for(applicant.org)
    apps.save_draft(app, factories.application_data(station), actor=applicant, expected_version=2)
    rows = session.scalars(select(BudgetLine).where(BudgetLine.application_id == app.id)).all()
    assert len(rows) == len(call.budget_lines)
    assert app.requested_fen == 4_400_000 and app.matching_fen == 3_000_000
    assert [t.target_group for t in app.targets] == ["output", "effect", "satisfaction"]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "application.save").order_by(AuditEvent.seq)
    ).all()[-1]
    assert event.after["version"] == 3
    assert {"budget", "targets", "milestones"} <= set(event.after["changed"])


def test_stale_save_is_refused_naming_what_changed_and_nothing_is_overwritten(session):
    call = factories.call("open")
    first = factories.user("applicant", name="张伟")
    second = factories.user("applicant", organisation=first.org, name="王芳")
    app = apps.create_application(call, actor=first)
    station = factories.station_for(first.org)
    apps.save_draft(app, factories.application_data(station), actor=second, expected_version=1)
    with pytest.raises(apps.StaleApplication) as exc:
        apps.save_draft(app, {"title": "旧页面的标题"}, actor=first, expected_version=1)
    assert exc.value.status == 409
    assert "王芳" in exc.value.message and "经费预算" in exc.value.message
    assert "没有保存" in exc.value.message
    session.refresh(app)
    assert app.title == "永康五金产业关键技术服务站建设"


def test_stale_save_over_http_is_a_409_and_keeps_what_was_typed(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    apps.save_draft(app, {"title": "别人先保存"}, actor=applicant, expected_version=1)
    login(client, applicant)
    token = csrf_token(client, f"/applications/{app.id}/edit")
    response = client.post(
        f"/applications/{app.id}/edit",
        data={"csrf_token": token, "version": "1", "title": "我的新标题"},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "保存失败" in page and "我的新标题" in page
    assert app.title == "别人先保存"


def test_bad_amounts_are_refused_with_the_field_and_nothing_saved(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    login(client, applicant)
    token = csrf_token(client, f"/applications/{app.id}/edit")
    response = client.post(
        f"/applications/{app.id}/edit",
        data={
            "csrf_token": token,
            "version": "1",
            "title": "标题",
            "budget-travel-fund": "1.234",
        },
    )
    assert response.status_code == 422
    assert "最多保留2位小数" in response.get_data(as_text=True)
    assert app.version == 1 and app.title == ""


def test_save_through_the_form_round_trips(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    login(client, applicant)
    token = csrf_token(client, f"/applications/{app.id}/edit")
    response = client.post(
        f"/applications/{app.id}/edit",
        data={
            "csrf_token": token,
            "version": "1",
            "title": "表单保存",
            "budget-expert_fee-fund": "１２,０００.５０",
            "budget-expert_fee-matching": "3万",
            "team-0-name": "李工",
            "target-0-group": "effect",
            "target-0-indicator": "服务企业",
            "target-0-unit": "家",
            "target-0-value": "20",
            "milestone-0-title": "签订任务书",
            "milestone-0-pct": "60",
            "milestone-1-title": "中期",
            "milestone-1-due": "2027-06-30",
            "milestone-1-deliverables": "报告",
            "milestone-1-pct": "40",
            "pledge_integrity": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    assert app.requested_fen == 1_200_050 and app.matching_fen == 3_000_000
    assert app.team == [{"name": "李工", "title": "", "organisation": "", "role": ""}]
    assert [(m.seq, m.tranche_pct) for m in app.milestones] == [(0, 60), (1, 40)]
    page = client.get(f"/applications/{app.id}/edit").get_data(as_text=True)
    assert 'value="12000.50"' in page and "applications.js" in page


def test_completeness_lists_every_missing_item(session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    problems = apps.completeness_problems(app)
    for expected in (
        "请填写项目名称。",
        "请选择任务类别。",
        "请填写项目摘要。",
        "请选择学会服务站。",
        "请填写首席科技专家的姓名。",
        "请至少填写一名团队成员。",
        "请至少填写一项产出指标。",
        "请至少填写一项满意度指标。",
        "经费预算：申请专项资金不能为零。",
        "各节点拨付比例之和须为100%，当前为0%。",
        "请上传附件：共建协议或合作意向书。",
        "请勾选科研诚信承诺。",
        "请勾选未重复申报承诺。",
    ):
        assert expected in problems, (expected, problems)


def test_caps_are_checked_on_the_server(session):
    call = factories.call("open", project_cap_fen=4_000_000, indirect_cap_pct=5)
    applicant = factories.user("applicant")
    app = factories.application(call, applicant)
    problems = apps.budget_problems(app)
    assert any("超过单项资助上限 40,000.00 元" in p for p in problems)
    assert any("间接费用 4,000.00 元，超过直接费用的 5%" in p for p in problems)


def test_a_save_updates_child_rows_in_place_and_writes_only_what_changed(session):
    from app.applications.models import MilestonePlan, PerformanceTarget
    from app.applications.operations.common import snapshot

    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    station = factories.station_for(applicant.org)
    data = factories.application_data(station)
    apps.save_draft(app, data, actor=applicant, expected_version=1)
    ids = {
        "budget": [b.id for b in app.budget],
        "targets": [t.id for t in app.targets],
        "milestones": [m.id for m in app.milestones],
    }
    with statements(session.get_bind()) as seen:
        apps.save_draft(
            app, {**data, "summary": "只改了摘要。"}, actor=applicant, expected_version=2
        )
    children = ("application_budget_line", "performance_target", "application_milestone")
    writes = [s for s in seen if not s.lstrip().upper().startswith(("SELECT", "BEGIN"))]
    assert writes and not [s for s in writes if any(c in s for c in children)]
    assert [b.id for b in app.budget] == ids["budget"]
    event_row = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "application.save").order_by(AuditEvent.seq)
    ).all()[-1]
    assert event_row.after == {"version": 3, "changed": ["basics"]}

    # Targets reordered, the last milestone dropped, a budget amount changed: the stored
    # result is what a full rewrite gave, and the rows kept keep their ids.
    changed = {
        **data,
        "targets": [data["targets"][0], data["targets"][2], data["targets"][1]],
        "milestones": data["milestones"][:-1],
        "budget": [{**data["budget"][0], "fund_fen": 2_000_000}, *data["budget"][1:]],
    }
    apps.save_draft(app, changed, actor=applicant, expected_version=3)
    session.expire_all()
    stored = snapshot(app)
    assert [t["group"] for t in stored["targets"]] == ["output", "satisfaction", "effect"]
    assert [m["seq"] for m in stored["milestones"]] == [m["seq"] for m in data["milestones"][:-1]]
    assert stored["requested_fen"] == 3_400_000
    assert [b.id for b in app.budget] == ids["budget"]
    assert [t.id for t in app.targets] == ids["targets"]
    assert [m.id for m in app.milestones] == ids["milestones"][:-1]
    assert (
        session.scalar(select(MilestonePlan.id).where(MilestonePlan.id == ids["milestones"][-1]))
        is None
    )
    targets = select(PerformanceTarget.id).where(PerformanceTarget.application_id == app.id)
    assert session.scalars(targets).all() == ids["targets"]
    event_row = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "application.save").order_by(AuditEvent.seq)
    ).all()[-1]
    # basics too: the summary is back to the first save's
    assert event_row.after == {
        "version": 4,
        "changed": ["basics", "targets", "budget", "milestones"],
    }


def test_saving_through_the_form_reads_the_application_once(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    login(client, applicant)
    token = csrf_token(client, f"/applications/{app.id}/edit")
    with statements(session.get_bind()) as seen:
        response = client.post(
            f"/applications/{app.id}/edit",
            data={"csrf_token": token, "version": "1", "title": "只读一次"},
        )
    assert response.status_code == 302 and app.title == "只读一次" and app.version == 2
    reads = [s for s in seen if s.startswith("SELECT") and "FROM application " in s]
    assert len(reads) == 1, reads
    assert not [s for s in seen if "application_attachment" in s]
