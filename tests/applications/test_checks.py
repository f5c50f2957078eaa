"""Endorsement, matching funds, duplicate check and the eligibility check."""

import io

import pytest
from sqlalchemy import select

from app.applications import operations as apps
from app.applications.models import DuplicateFlag
from app.audit.models import AuditEvent
from app.core.errors import NotAllowed, ValidationFailed
from tests import factories
from tests.conftest import csrf_token, login, post

PDF = factories.PDF_BYTES


def test_endorsement_by_another_societys_admin_is_404(client, session):
    call = factories.call("open")
    app = factories.submitted(call)
    stranger = factories.society_admin_of(factories.org("society"))
    login(client, stranger)
    token = csrf_token(client, "/applications")
    response = client.post(
        f"/applications/{app.id}/endorse",
        data={"csrf_token": token, "sealed_scan": (io.BytesIO(PDF), "sealed.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    assert app.state == "submitted"
    with pytest.raises(NotAllowed):
        apps.endorse_application(app, io.BytesIO(PDF), "sealed.pdf", actor=stranger)


def test_own_society_admin_endorses_with_the_sealed_scan(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = factories.submitted(call, applicant)
    admin = factories.society_admin_of(applicant.org)
    login(client, admin)
    token = csrf_token(client, f"/applications/{app.id}")
    response = client.post(
        f"/applications/{app.id}/endorse",
        data={"csrf_token": token, "sealed_scan": (io.BytesIO(PDF), "sealed.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert app.state == "endorsed" and app.endorsed_by_id == admin.id
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "application.endorse"))
    assert event.before == {"state": "submitted"} and event.after["state"] == "endorsed"


def test_society_return_needs_reasons_and_the_applicant_sees_them(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = factories.submitted(call, applicant)
    admin = factories.society_admin_of(applicant.org)
    with pytest.raises(ValidationFailed):
        apps.society_return_application(app, actor=admin, reason="")
    apps.society_return_application(app, actor=admin, reason="请补充团队成员分工")
    login(client, applicant)
    page = client.get(f"/applications/{app.id}").get_data(as_text=True)
    assert "退回修改" in page and "请补充团队成员分工" in page


def test_matching_below_the_ratio_is_refused(session):
    call = factories.call("open", matching_required=True, matching_ratio_pct=50)
    applicant = factories.user("applicant")
    app = factories.endorsed(call, applicant)
    partner = factories.user("local_partner", organisation=app.co_government)
    officer = factories.user("officer")
    with pytest.raises(NotAllowed, match="配套资金尚未"):
        apps.check_application(app, "accept", actor=officer)
    with pytest.raises(ValidationFailed) as exc:
        apps.confirm_matching(app, 2_199_999, actor=partner)
    assert "低于要求的 22,000.00 元" in exc.value.message
    assert app.matching_committed_fen is None
    other_partner = factories.user("local_partner")
    with pytest.raises(NotAllowed):
        apps.confirm_matching(app, 3_000_000, actor=other_partner)
    apps.confirm_matching(app, 2_200_000, actor=partner)
    assert app.matching_committed_fen == 2_200_000
    apps.check_application(app, "accept", actor=officer)
    assert app.state == "accepted"


def test_a_copied_paragraph_is_flagged_on_endorsement(session):
    call = factories.call("open")
    paragraph = (
        "本项目依托学会服务站，组织高校和科研院所专家团队深入园区企业，"
        "围绕五金机械装备的精密加工、表面处理和智能制造等共性关键技术开展联合攻关，"
        "形成可复制推广的技术解决方案并培训企业技术骨干一百人次。"
    )
    first = factories.endorsed(call, summary=paragraph)
    second = factories.endorsed(call, summary=paragraph, title="另一个学会的项目")
    flags = session.scalars(select(DuplicateFlag).where(DuplicateFlag.call_id == call.id)).all()
    assert len(flags) == 1
    flag = flags[0]
    assert {flag.application_id, flag.other_id} == {first.id, second.id}
    assert flag.score_permille >= 500
    assert any("精密加工" in p["a"] for p in flag.passages)
    officer = factories.user("officer")
    all_flags = apps.check_call(call, actor=officer)
    assert [(f.application_id, f.other_id) for f in all_flags] == [(first.id, second.id)]


def test_eligibility_accept_return_limit_and_reject_with_reasons(client, session):
    call = factories.call("open", max_returns=1)
    officer = factories.user("officer")
    applicant = factories.user("applicant")
    app = factories.endorsed(call, applicant)
    with pytest.raises(ValidationFailed, match="书面理由"):
        apps.check_application(app, "return", actor=officer, reason=" ")
    apps.check_application(app, "return", actor=officer, reason="缺少共建协议盖章页")
    assert app.state == "returned" and app.return_count == 1
    apps.submit_application(app, actor=applicant)
    apps.endorse_application(
        app, io.BytesIO(PDF), "s.pdf", actor=factories.society_admin_of(applicant.org)
    )
    with pytest.raises(NotAllowed, match="退回修改次数上限"):
        apps.check_application(app, "return", actor=officer, reason="再次退回")
    apps.check_application(app, "reject", actor=officer, reason="不符合申报条件")
    assert app.state == "rejected"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "application.reject")
    ).one()
    assert event.reason == "不符合申报条件" and event.before == {"state": "endorsed"}
    login(client, applicant)
    page = client.get(f"/applications/{app.id}").get_data(as_text=True)
    assert "不予受理" in page and "不符合申报条件" in page and "缺少共建协议盖章页" in page


def test_batch_action_decides_the_selected_and_skips_the_rest(client, session):
    call = factories.call("open")
    a, b = factories.endorsed(call), factories.endorsed(call)
    draft = factories.application(call)
    officer = factories.user("officer")
    login(client, officer)
    response = post(
        client,
        "/applications/batch",
        {"ids": [a.id, b.id, draft.id], "action": "reject", "reason": "超出申报范围"},
    )
    assert response.status_code == 302
    assert a.state == b.state == "rejected" and draft.state == "draft"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已处理 2 份申报书" in page
    assert (
        len(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == "application.reject")
            ).all()
        )
        == 2
    )


def test_applicants_see_applicant_labels_and_staff_staff_labels(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = factories.endorsed(call, applicant)
    login(client, applicant)
    assert "单位已审核" not in client.get(f"/applications/{app.id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/applications")})
    login(client, factories.user("officer"))
    assert "单位已审核（待形式审查）" in client.get(f"/applications/{app.id}").get_data(
        as_text=True
    )
