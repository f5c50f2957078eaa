"""Notifications through the outbox: one message per recipient and event, reminders
idempotent per day, in-app-only users get no mail, and each user sees only their own."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from app.accounts.notify import org_users
from app.applications import operations as apps
from app.core import clock, outbox
from app.core.models import Notification, OutboxMessage
from app.core.tick import run_tick
from app.extensions import db
from app.projects import operations as projects
from app.projects.operations import send_reminders
from app.projects.operations.deadlines import remind_deadlines
from tests import factories
from tests.conftest import login, post
from tests.projects.helpers import at, report_milestone


def _per_user(subject_part: str) -> dict[int, int]:
    rows = db.session.execute(
        select(OutboxMessage.to_user_id, func.count())
        .where(OutboxMessage.subject.contains(subject_part))
        .group_by(OutboxMessage.to_user_id)
    ).all()
    return dict(rows)


def _inbox(user, subject_part: str) -> list[Notification]:
    return db.session.scalars(
        select(Notification).where(
            Notification.user_id == user.id, Notification.subject.contains(subject_part)
        )
    ).all()


def test_an_officer_return_notifies_each_society_user_once(session):
    applicant = factories.user("applicant")
    admin = factories.society_admin_of(applicant.org)
    other = factories.user("applicant")  # another society: nothing
    app = factories.endorsed(factories.call(), applicant)
    apps.check_application(app, "return", actor=factories.user("officer"), reason="预算表缺页。")
    society = {u.id: 1 for u in org_users(applicant.org_id)}
    assert admin.id in society and len(society) == 3  # endorsed() adds a second admin
    assert _per_user("申报书被退回修改") == society
    (note,) = _inbox(applicant, "申报书被退回修改")
    assert "预算表缺页。" in note.body and note.link == f"/applications/{app.id}"
    assert not _inbox(other, "申报书被退回修改")


def test_a_society_return_notifies_the_applicants(session):
    applicant = factories.user("applicant")
    admin = factories.society_admin_of(applicant.org)
    app = factories.submitted(factories.call(), applicant)
    apps.society_return_application(app, actor=admin, reason="请补充盖章页。")
    assert _per_user("申报书被退回修改") == {applicant.id: 1}


def test_a_report_return_and_a_tranche_payment_notify_the_society(session):
    r = factories.signed_project()
    society = {u.id for u in org_users(r.project.society_id)}
    assert {r.applicant.id, r.admin.id} <= society
    first = r.project.tranches[0]
    with at(2026, 3, 10):
        projects.release_tranche(first, actor=r.approver)
        projects.pay_tranche(first, first.amount_fen, "PZ-1", date(2026, 3, 10), actor=r.finance)
    assert set(_per_user("经费已拨付")) == society
    assert set(_per_user("经费已拨付").values()) == {1}
    (note,) = _inbox(r.admin, "经费已拨付")
    assert "PZ-1" in note.body and "2026-03-10" in note.body
    with at(2026, 5, 1):
        report = report_milestone(r, 1, accept=False)
        projects.return_report(report, "支出凭证不清晰。", actor=r.officer)
    assert _per_user("报告被退回修改") == {uid: 1 for uid in society}


def test_call_deadline_reminders_go_7_and_1_days_before_once_a_day(session):
    the_call = factories.call()
    applicant = factories.user("applicant")
    admin = factories.society_admin_of(applicant.org)
    factories.application(the_call, applicant, complete=False)  # a draft
    done = factories.user("applicant")  # submitted already: no reminder
    factories.submitted(the_call, done)
    closes = clock.as_utc(the_call.closes_at)
    with clock.frozen(closes - timedelta(days=8)):
        assert remind_deadlines() == 0
    with clock.frozen(closes - timedelta(days=7)):
        assert remind_deadlines() == 2
        run_tick()  # the tick runs the same reminders: nothing new today
        assert send_reminders() == 0
    assert _per_user("申报即将截止") == {applicant.id: 1, admin.id: 1}
    with clock.frozen(closes - timedelta(days=6)):
        assert remind_deadlines() == 0
    with clock.frozen(closes - timedelta(days=1)):
        run_tick()
        run_tick()
    assert _per_user("申报即将截止") == {applicant.id: 2, admin.id: 2}
    assert done.id not in _per_user("申报即将截止")


def test_agreement_signing_reminders_7_and_1_days_before(session):
    from app.awards import operations as awards
    from app.awards.models import TaskAgreement
    from tests.factories import noticed_call

    start = clock.now()
    r = noticed_call(n_awards=1, n_not_funded=0)
    with clock.frozen(start + timedelta(days=6)):
        run_tick()
    agreement = db.session.query(TaskAgreement).one()
    awards.send_agreement(agreement, actor=r.officer)
    admin = factories.society_admin_of(r.awards[0].society)
    sign_by = clock.as_utc(agreement.sign_by)
    for days in (7, 1):
        with clock.frozen(sign_by - timedelta(days=days)):
            send_reminders()
            send_reminders()
    counts = _per_user("任务书签订即将截止")
    assert counts and counts.get(admin.id) == 2 and set(counts.values()) == {2}


def test_in_app_only_users_get_the_notice_but_no_mail(session, app):
    applicant = factories.user("applicant")
    applicant.notify_by_mail = False
    mailer = factories.society_admin_of(applicant.org)
    appl = factories.endorsed(factories.call(), applicant)
    apps.check_application(appl, "return", actor=factories.user("officer"), reason="缺页。")
    assert _inbox(applicant, "申报书被退回修改")
    assert _per_user("申报书被退回修改")[applicant.id] == 1  # kept, for dedupe
    pending = db.session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    to = {m.to_user_id for m in pending}
    assert applicant.id not in to and mailer.id in to


def test_the_account_page_sets_in_app_only(client, session):
    user = factories.user("applicant")
    login(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert "同时通过邮件通知我" in page
    response = post(client, "/account", {"locale": "zh_CN"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.notify_by_mail is False


def test_a_user_sees_and_marks_only_their_own(client, session):
    me = factories.user("applicant")
    other = factories.user("officer")
    for n in range(25):
        outbox.queue_mail(me, f"我的消息{n}", "正文")
    theirs = outbox.queue_mail(other, "别人的消息", "正文")
    theirs_note = db.session.scalars(select(Notification).where(Notification.user_id == other.id))
    theirs_note = theirs_note.one()
    login(client, me)
    page = client.get("/notifications").get_data(as_text=True)
    assert "我的消息24" in page and "别人的消息" not in page
    assert "我的消息4" not in page  # page 2 (20 a page)
    assert "我的消息4" in client.get("/notifications?page=2").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "25" in home and "条未读" in home  # the header badge
    # Another user's message: 404, and it stays unread.
    assert post(client, "/notifications/read", {"id": theirs_note.id}).status_code == 404
    assert theirs_note.read_at is None and theirs is not None
    mine = _inbox(me, "我的消息3")[0]
    assert post(client, "/notifications/read", {"id": mine.id}).status_code == 302
    assert mine.read_at is not None
    assert "未读 24 条" in client.get("/notifications").get_data(as_text=True)
    assert post(client, "/notifications/read", {"all": "1"}).status_code == 302
    unread = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.read_at.is_(None))
    )
    assert unread == 1  # only the other user's
    assert "没有未读消息" in client.get("/notifications?unread=1").get_data(as_text=True)


def test_opening_a_message_marks_it_read_and_follows_its_link(client, session):
    me = factories.user("applicant")
    outbox.queue_mail(me, "请查看", "正文", link="/applications")
    note = _inbox(me, "请查看")[0]
    login(client, me)
    response = post(client, "/notifications/read", {"id": note.id, "open": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/applications")
    assert note.read_at is not None
