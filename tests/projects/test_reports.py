"""Reports: drafts, expenditures against the approved lines, vouchers, revisions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from app.extensions import db
from app.projects import operations as ops
from app.projects.models import ReportRevision
from tests import factories
from tests.projects.helpers import at, audit_and_ledger_ok, events, project, submit_signed


def _expense(voucher, amount, line="travel", payee="杭州某酒店", source="fund"):
    return {
        "line_key": line,
        "source": source,
        "amount": amount,
        "voucher_no": voucher,
        "payee": payee,
        "spent_on": date(2026, 4, 1),
    }


def test_line_limits_warning_voucher_and_expert_fee_rules(session):
    r = project()
    m1 = r.project.milestones[1]
    with at(2026, 5, 1):
        report = ops.open_report(r.project, m1, actor=r.applicant)
        assert ops.open_report(r.project, m1, actor=r.applicant) is report
        _row, warnings = ops.add_expenditure(report, _expense("V-1", "8000"), actor=r.applicant)
        assert warnings == []  # 8,000 of 10,000 yuan: 80%
        _row, warnings = ops.add_expenditure(report, _expense("V-2", "600"), actor=r.applicant)
        assert warnings and "86%" in str(warnings[0])
        with pytest.raises(ValidationFailed, match="超过批准预算"):
            ops.add_expenditure(report, _expense("V-3", "1400.01"), actor=r.applicant)
        with pytest.raises(Conflict, match="不能重复报销"):
            ops.add_expenditure(report, _expense("V-1", "1"), actor=r.applicant)
        with pytest.raises(ValidationFailed, match="项目组成员"):
            ops.add_expenditure(
                report, _expense("V-4", "1000", "expert_fee", " 李 工 "), actor=r.applicant
            )
        ops.add_expenditure(
            report, _expense("V-4", "1000", "expert_fee", "赵专家"), actor=r.applicant
        )
        with pytest.raises(NotAllowed):
            ops.add_expenditure(report, _expense("V-5", "1"), actor=factories.user("applicant"))
    assert len(events("expenditure.add")) == 3
    audit_and_ledger_ok()


def test_submit_creates_immutable_revision_and_review(session):
    r = project()
    m1 = r.project.milestones[1]
    with at(2026, 5, 1):
        report = ops.open_report(r.project, m1, actor=r.applicant)
        with pytest.raises(ValidationFailed):
            ops.submit_report(report, actor=r.applicant)
        ops.save_report(
            report,
            {"narrative": "已开展服务。", "actual": {"0": "1", "1": "10", "2": "95"}},
            actor=r.applicant,
        )
        ops.add_expenditure(report, _expense("V-1", "100"), actor=r.applicant)
        first = submit_signed(report, r)
        assert m1.state == "reported" and report.state == "submitted"
        with pytest.raises(InvalidTransition):
            ops.save_report(report, {"narrative": "改"}, actor=r.applicant)
        with pytest.raises(ValidationFailed):
            ops.return_report(report, "", actor=r.officer)
        ops.return_report(report, "请补充支出凭证。", actor=r.officer)
        assert m1.state == "returned"
        ops.save_report(report, {"narrative": "已补充。"}, actor=r.applicant)
        second = submit_signed(report, r)
        ops.accept_report(report, actor=r.officer)
    assert m1.state == "accepted" and m1.accepted_by_id == r.officer.id
    assert (first.number, second.number) == (1, 2) and first.sha256 != second.sha256
    assert second.snapshot["narrative"] == "已补充。"
    assert events("project_report.submit", report.id) and events("milestone.accept", m1.id)
    db.session.flush()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(
            text("UPDATE report_revision SET sha256 = :s WHERE id = :id"),
            {"s": "0" * 64, "id": first.id},
        )
    assert db.session.get(ReportRevision, first.id).sha256 != "0" * 64
    audit_and_ledger_ok()
