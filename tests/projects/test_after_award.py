"""Issue 6 follow-ups: the society admin's sign-off of reports, report file downloads,
retention as a call rule, the closing-report deadline, and approved major changes
actually applied."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.errors import InvalidTransition, NotAllowed, ValidationFailed
from app.core.models import OutboxMessage
from app.extensions import db
from app.projects import operations as ops
from app.projects.operations.common import (
    approved_budget,
    current_targets,
    planned_end,
    project_leader,
    project_title,
)
from app.projects.operations.deadlines import closing_due_on, closing_is_overdue
from tests import factories
from tests.conftest import login, post
from tests.projects.helpers import (
    at,
    audit_and_ledger_ok,
    balance,
    events,
    project,
    report_milestone,
    submit_signed,
)


def _filled(r, seq: int = 1):
    """A filled-in draft report on milestone ``seq`` (with one expenditure and voucher)."""
    milestone = next(m for m in r.project.milestones if m.seq == seq)
    report = ops.open_report(r.project, milestone, actor=r.applicant)
    ops.save_report(
        report,
        {"narrative": "按计划推进。", "actual": {"0": "1", "1": "10", "2": "95"}},
        actor=r.applicant,
    )
    return report


# --- 2. the society admin's sign-off ---


def test_report_reaches_the_officer_only_after_the_society_admin_signs_off(session):
    r = project()
    m1 = r.project.milestones[1]
    with at(2026, 5, 1):
        report = _filled(r)
        ops.submit_report(report, actor=r.applicant)
        assert report.state == "submitted" and not report.is_endorsed
        assert report.status_label() == "待学会负责人审核"
        assert m1.state != "reported"  # not yet reported to the department
        with pytest.raises(NotAllowed, match="尚未经学会负责人审核"):
            ops.accept_report(report, actor=r.officer)
        with pytest.raises(NotAllowed, match="学会负责人"):
            ops.endorse_report(report, actor=r.applicant)
        other_admin = factories.user("society_admin")
        with pytest.raises(NotAllowed, match="本学会负责人"):
            ops.endorse_report(report, actor=other_admin)
        ops.endorse_report(report, actor=r.admin)
        assert report.endorsed_by_id == r.admin.id and m1.state == "reported"
        assert report.status_label() == "学会已审核（待学会部审核）"
        with pytest.raises(NotAllowed, match="已经学会负责人审核"):
            ops.endorse_report(report, actor=r.admin)
        ops.accept_report(report, actor=r.officer)
    assert report.state == "accepted" and m1.state == "accepted"
    (event,) = events("project_report.endorse", report.id)
    assert event.actor_id == r.admin.id
    audit_and_ledger_ok()


def test_society_admin_sends_back_and_resubmission_needs_a_new_sign_off(session):
    r = project()
    m1 = r.project.milestones[1]
    with at(2026, 5, 1):
        report = _filled(r)
        ops.submit_report(report, actor=r.applicant)
        with pytest.raises(ValidationFailed):
            ops.send_back_report(report, " ", actor=r.admin)
        ops.send_back_report(report, "请补充活动照片。", actor=r.admin)
        assert report.state == "returned" and report.comments == "请补充活动照片。"
        assert m1.state in ("planned", "due")  # the milestone never saw it
        assert events("project_report.send_back", report.id)
        ops.save_report(report, {"narrative": "已补充照片。"}, actor=r.applicant)
        ops.submit_report(report, actor=r.applicant)
        assert report.state == "submitted" and not report.is_endorsed
        ops.endorse_report(report, actor=r.admin)
        ops.return_report(report, "支出凭证不清晰。", actor=r.officer)
        assert m1.state == "returned"
        ops.submit_report(report, actor=r.applicant)
        assert report.endorsed_at is None  # signed off again before the officer sees it
        ops.endorse_report(report, actor=r.admin)
        ops.accept_report(report, actor=r.officer)
    assert [rev.number for rev in report.revisions] == [1, 2, 3]
    assert m1.state == "accepted"


def test_a_report_submitted_by_the_society_admin_is_signed_off_at_once(session):
    r = project()
    with at(2026, 5, 1):
        report = _filled(r)
        ops.submit_report(report, actor=r.admin)
    assert report.is_endorsed and report.milestone.state == "reported"
    assert events("project_report.endorse", report.id)


def test_closing_report_moves_the_project_on_sign_off(session):
    r = project()
    p = r.project
    with at(2027, 12, 1):
        closing = ops.open_report(p, None, actor=r.applicant)
        ops.save_report(
            closing,
            {"narrative": "完成。", "actual": {"0": "3", "1": "20", "2": "90"}},
            actor=r.applicant,
        )
        ops.submit_report(closing, actor=r.applicant)
        assert p.state == "in_progress"
        ops.endorse_report(closing, actor=r.admin)
    assert p.state == "awaiting_acceptance"


def test_sign_off_page_and_route(client):
    r = project()
    with at(2026, 5, 1):
        report = _filled(r)
        ops.submit_report(report, actor=r.applicant)
    db.session.commit()
    login(client, r.applicant)
    page = client.get(f"/projects/reports/{report.id}").get_data(as_text=True)
    assert "待学会负责人审核" in page and "审核通过并报送" not in page
    assert post(client, f"/projects/reports/{report.id}/signoff").status_code == 403
    client.get("/logout")
    login(client, factories.user("society_admin"))  # another society's admin
    response = post(client, f"/projects/reports/{report.id}/signoff", {"decision": "endorse"})
    assert response.status_code == 404
    client.get("/logout")
    login(client, r.admin)
    page = client.get(f"/projects/reports/{report.id}").get_data(as_text=True)
    assert "审核通过并报送" in page
    page = post(
        client,
        f"/projects/reports/{report.id}/signoff",
        {"decision": "send_back", "comments": ""},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "请填写退回意见" in page and report.state == "submitted"
    page = post(
        client,
        f"/projects/reports/{report.id}/signoff",
        {"decision": "endorse"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已审核通过，报告已送学会部审核" in page
    db.session.refresh(report)
    assert report.is_endorsed and report.milestone.state == "reported"


# --- 3. downloads of voucher scans and report attachments ---


def _report_with_files(r):
    with at(2026, 5, 1):
        report = _filled(r)
        row, _warnings = ops.add_expenditure(
            report,
            {
                "line_key": "travel",
                "source": "fund",
                "spent_on": date(2026, 4, 1),
                "amount": "100",
                "voucher_no": "DL-1",
                "payee": "某酒店",
            },
            (io.BytesIO(factories.PDF_BYTES), "住宿发票.pdf"),
            actor=r.applicant,
        )
        attachment = ops.attach_file(
            report, io.BytesIO(factories.PDF_BYTES), "签到表.pdf", "活动签到表", actor=r.applicant
        )
    db.session.commit()
    return report, row, attachment


def _engaged_evaluator(r):
    from datetime import timedelta

    from app.core import clock
    from app.evaluation import operations as evaluation

    evaluator = factories.user("evaluator")
    engagement = evaluation.create_engagement(
        {
            "agency_id": evaluator.org_id,
            "kind": "midterm",
            "title": "中期绩效评价",
            "scope": "对项目开展第三方绩效评价。",
            "due_on": clock.today() + timedelta(days=60),
            "project_ids": [r.project.id],
            "evaluator_ids": [evaluator.id],
            "lead_id": evaluator.id,
        },
        actor=r.officer,
    )
    evaluation.declare_independence(engagement.members[0], actor=evaluator, statement="无关联。")
    db.session.commit()
    return evaluator


def test_report_files_download_as_attachments_to_those_who_may_see_them(client):
    r = project()
    report, row, attachment = _report_with_files(r)
    voucher_url = f"/projects/reports/{report.id}/vouchers/{row.id}"
    file_url = f"/projects/reports/{report.id}/attachments/{attachment.id}"
    allowed = [r.applicant, r.admin, r.officer, r.approver, r.finance, factories.user("auditor")]
    allowed.append(_engaged_evaluator(r))
    allowed.append(r.partner)  # the co-building government: files of the projects it co-builds
    for person in allowed:
        login(client, person)
        for url in (voucher_url, file_url):
            response = client.get(url)
            assert response.status_code == 200, (person.email, url)
            assert response.headers["Content-Disposition"].startswith("attachment;")
            assert response.data == factories.PDF_BYTES
        client.get("/logout")
    downloads = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.download")
    ).all()
    assert len(downloads) == 2 * len(allowed)
    assert {e.after["document"] for e in downloads} == {"voucher", "report_attachment"}
    assert all(e.after["report_id"] == report.id for e in downloads)


def test_report_files_404_for_others(client):
    r = project()
    report, row, attachment = _report_with_files(r)
    voucher_url = f"/projects/reports/{report.id}/vouchers/{row.id}"
    file_url = f"/projects/reports/{report.id}/attachments/{attachment.id}"
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for person in (
        factories.user("applicant"),
        factories.user("society_admin"),
        factories.user("evaluator"),  # not engaged on this project
        factories.user("local_partner"),  # a government that does not co-build it
    ):
        login(client, person)
        assert client.get(voucher_url).status_code == 404
        assert client.get(file_url).status_code == 404
        client.get("/logout")
    login(client, r.officer)
    # Ids that do not belong together, or do not exist.
    assert client.get(f"/projects/reports/{report.id}/vouchers/999999").status_code == 404
    assert client.get(f"/projects/reports/999999/attachments/{attachment.id}").status_code == 404
    db.session.expire_all()
    downloads = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export.download")
    )
    assert (
        downloads == 0 and db.session.scalar(select(func.count()).select_from(AuditEvent)) >= before
    )


# --- 4. retention is a call rule ---


def _closed_passed(r, *, allow: bool):
    p = r.project
    p.application.call.balance_retention_allowed = allow
    with at(2026, 3, 10):
        tranche = p.tranches[0]
        ops.release_tranche(tranche, actor=r.approver)
        ops.pay_tranche(tranche, tranche.amount_fen, "PZ-R", date(2026, 3, 10), actor=r.finance)
    with at(2027, 12, 1):
        closing = ops.open_report(p, None, actor=r.applicant)
        ops.save_report(
            closing,
            {"narrative": "完成。", "actual": {"0": "3", "1": "20", "2": "90"}},
            actor=r.applicant,
        )
        submit_signed(closing, r)
        ops.begin_acceptance(p, actor=r.officer)
        ops.record_acceptance(p, "passed", "通过验收。", actor=r.officer)
        return ops.settle_project(p, actor=r.officer)


def test_unspent_balance_is_returned_unless_the_call_allows_retention(session):
    from app.ledger.operations import grant_code

    r = project()
    figures = _closed_passed(r, allow=False)
    p = r.project
    paid = p.tranches[0].amount_fen
    assert figures["retained"] == 0 and figures["demand"] == paid
    assert p.state == "clawback" and p.retained_fen == 0 and p.retained_until is None
    assert balance(grant_code(p.id, "clawback_due")) == paid
    assert events("ledger.clawback_demand")
    audit_and_ledger_ok()


def test_call_allowing_retention_keeps_the_balance(session):
    r = project()
    figures = _closed_passed(r, allow=True)
    p = r.project
    assert figures["demand"] == 0 and p.retained_fen == p.tranches[0].amount_fen
    assert p.state == "closed" and p.retained_until == date(2029, 12, 1)
    audit_and_ledger_ok()


# --- 5. the closing-report deadline ---


def test_closing_report_due_60_days_after_the_end_flagged_and_reminded(session, app):
    r = project()
    p = r.project
    end = planned_end(p)
    assert end == date(2027, 12, 31)
    assert closing_due_on(p) == date(2028, 2, 29)
    app.config["CLOSING_REPORT_DAYS"] = 30
    assert closing_due_on(p) == date(2028, 1, 30)
    app.config["CLOSING_REPORT_DAYS"] = 60

    def mails(fragment):
        db.session.flush()
        return db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.subject.contains(fragment))
        )

    with at(2028, 2, 20):  # within REMINDER_DAYS of the due date
        ops.send_reminders()
        assert mails("结题报告即将到期") >= 2  # the applicant and the society admin
        ops.move_milestones()
        assert p.closing_overdue_at is None and not closing_is_overdue(p)
    with at(2028, 3, 1):
        ops.move_milestones()
        assert p.closing_overdue_at is not None and closing_is_overdue(p)
        assert ops.move_milestones() == 0  # flagged once
        (event,) = events("project.closing_overdue", p.id)
        assert event.after["due_on"] == "2028-02-29"
        ops.send_reminders()
        assert mails("结题报告已逾期") >= 2 and mails("逾期未交的结题报告") >= 1
        sent = db.session.scalar(select(func.count(OutboxMessage.id)))
        ops.send_reminders()  # once a day
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == sent


def test_signed_off_closing_report_is_not_overdue(session):
    r = project()
    p = r.project
    with at(2028, 2, 1):
        closing = ops.open_report(p, None, actor=r.applicant)
        ops.save_report(
            closing,
            {"narrative": "完成。", "actual": {"0": "3", "1": "20", "2": "90"}},
            actor=r.applicant,
        )
        submit_signed(closing, r)
    with at(2028, 3, 10):
        ops.move_milestones()
        assert p.closing_overdue_at is None and not closing_is_overdue(p)
        assert ops.send_reminders() == 0 or not events("project.closing_overdue", p.id)


def test_overdue_closing_report_shows_on_the_dashboard(client):
    r = project()
    p = r.project
    with at(2028, 3, 1):
        ops.move_milestones()
    db.session.commit()
    login(client, r.officer)
    assert "逾期未交的结题报告" in client.get("/").get_data(as_text=True)
    page = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert "结题报告已逾期" in page and "2028-02-29" in page
    assert "结题报告逾期" in client.get("/projects/").get_data(as_text=True)


# --- 6. approved major changes are applied ---


def _approve(r, kind, description, data):
    change = ops.create_change(r.project, kind, description, data, actor=r.applicant)
    ops.submit_change(change, actor=r.applicant)
    amendment = ops.forward_change(change, actor=r.officer)
    ops.decide_change(change, True, "同意。", actor=r.approver)
    return change, amendment


def test_lead_organisation_change_moves_the_project(client):
    r = project()
    p = r.project
    old_society = p.society
    new_society = factories.org("society", name="浙江省新承担学会")
    with at(2026, 5, 1):
        with pytest.raises(ValidationFailed, match="找不到名为"):
            ops.create_change(
                p, "lead_org", "换单位。", {"value": "不存在的学会"}, actor=r.applicant
            )
        with pytest.raises(ValidationFailed, match="相同"):
            ops.create_change(
                p, "lead_org", "换单位。", {"value": old_society.name}, actor=r.applicant
            )
        change, amendment = _approve(
            r, "lead_org", "原承担单位撤并，由新学会承担。", {"value": new_society.name}
        )
    assert p.society_id == new_society.id and p.society.name == "浙江省新承担学会"
    assert change.state == "approved" and change.amendment_number == amendment.number
    assert old_society.name in amendment.content and new_society.name in amendment.content
    (event,) = events("project.change_lead_org", p.id)
    assert event.before["society_id"] == old_society.id
    assert event.after["society_id"] == new_society.id
    db.session.commit()
    # The old society no longer sees or reports on it; the new one does.
    login(client, r.applicant)
    assert client.get(f"/projects/{p.id}").status_code == 404
    client.get("/logout")
    newcomer = factories.user("applicant", organisation=new_society)
    login(client, newcomer)
    assert "浙江省新承担学会" in client.get(f"/projects/{p.id}").get_data(as_text=True)
    with at(2026, 5, 2):
        assert ops.open_report(p, p.milestones[1], actor=newcomer) is not None
        with pytest.raises(NotAllowed):
            ops.open_report(p, p.milestones[2], actor=r.applicant)


def test_banned_society_cannot_take_over(session):
    r = project()
    banned = factories.org("society", name="禁止申报学会")
    banned.banned_until, banned.ban_reason = date(2030, 1, 1), "弄虚作假。"
    with at(2026, 5, 1), pytest.raises(ValidationFailed, match="不得承担项目"):
        ops.create_change(r.project, "lead_org", "换。", {"value": banned.name}, actor=r.applicant)


def test_leader_name_targets_reallocation_and_extension_are_applied(session):
    r = project()
    p = r.project
    with at(2026, 5, 1):
        draft = ops.open_report(p, p.milestones[1], actor=r.applicant)
        ops.save_report(draft, {"actual": {"0": "7"}}, actor=r.applicant)
        first_indicator = draft.target_values[0]["indicator"]
        _approve(r, "leader", "原负责人调离。", {"value": "李新"})
        assert project_leader(p) == "李新"
        _approve(r, "name", "名称更准确。", {"value": "科技小院乡村振兴服务项目"})
        assert project_title(p) == "科技小院乡村振兴服务项目"
        targets = [
            {"indicator": first_indicator, "unit": "次", "target_value": "5"},
            {"indicator": "培训农民", "unit": "人次", "target_value": "300"},
        ]
        _approve(r, "targets", "目标调整。", {"targets": targets})
        assert [t["indicator"] for t in current_targets(p)] == [first_indicator, "培训农民"]
        # The draft follows the targets in force; the actual value entered is kept.
        assert [t["indicator"] for t in draft.target_values] == [first_indicator, "培训农民"]
        assert draft.target_values[0]["actual_value"] == "7"
        before = {b["line_key"]: b["fund_fen"] for b in approved_budget(p)}
        _approve(
            r,
            "reallocation",
            "差旅费不足。",
            {"from_line": "expert_fee", "to_line": "travel", "amount": "2000"},
        )
        after = {b["line_key"]: b["fund_fen"] for b in approved_budget(p)}
        assert after["travel"] == before["travel"] + 200_000
        assert after["expert_fee"] == before["expert_fee"] - 200_000
        _approve(r, "extension", "需延期。", {"months": 6})
        assert p.end_on == date(2028, 6, 30) and p.extension_months == 6
    for kind in ("leader", "name", "targets", "reallocation", "extension"):
        assert events(f"project.change_{kind}", p.id), kind
    (event,) = events("project.change_leader", p.id)
    assert event.after["leader"] == "李新" and event.before["leader"] != "李新"
    audit_and_ledger_ok()


def test_rejected_change_changes_nothing(session):
    r = project()
    p = r.project
    new_society = factories.org("society", name="未获批学会")
    with at(2026, 5, 1):
        change = ops.create_change(
            p, "lead_org", "换。", {"value": new_society.name}, actor=r.applicant
        )
        ops.submit_change(change, actor=r.applicant)
        ops.forward_change(change, actor=r.officer)
        ops.decide_change(change, False, "理由不充分。", actor=r.approver)
    assert p.society_id != new_society.id and not events("project.change_lead_org", p.id)
    with pytest.raises(InvalidTransition):
        ops.decide_change(change, True, "", actor=r.approver2)


def test_report_milestone_helper_still_reports(session):
    r = project()
    with at(2026, 5, 1):
        report = report_milestone(r, 1)
    assert report.state == "accepted" and report.is_endorsed
