"""Background jobs record progress and failures; the outbox sends after commit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core import jobs, outbox
from app.core.models import Job, Notification, OutboxMessage
from tests import factories


@pytest.fixture
def handlers(monkeypatch):
    monkeypatch.setattr(jobs, "HANDLERS", dict(jobs.HANDLERS))
    return jobs.HANDLERS


def test_a_job_runs_and_records_progress_and_result(session, handlers):
    seen = []

    @jobs.handler("test.count")
    def count(job, report):
        for i in range(1, 4):
            report(i, 3, f"第{i}步")
            seen.append(session.get(Job, job.id).progress)
        return {"counted": job.payload["n"]}

    user = factories.user("officer")
    job = jobs.enqueue("test.count", {"n": 3}, actor=user)
    session.commit()
    assert (job.state, job.created_by_id) == ("queued", user.id)
    ran = jobs.run_one()
    assert ran.id == job.id
    session.expire_all()
    stored = session.get(Job, job.id)
    assert (stored.state, stored.progress, stored.total, stored.message) == ("done", 3, 3, "第3步")
    assert stored.result == {"counted": 3}
    assert stored.started_at is not None and stored.finished_at is not None
    assert seen == [1, 2, 3]
    assert jobs.run_one() is None


def test_a_failing_job_is_marked_failed_with_the_message(session, handlers):
    @jobs.handler("test.fail")
    def fail(job, report):
        report(1, 2)
        session.add(Notification(user_id=job.created_by_id, subject="半途", body="x"))
        session.flush()
        raise ValueError("预算表第3行金额无效")

    user = factories.user("officer")
    job = jobs.enqueue("test.fail", {}, actor=user)
    session.commit()
    jobs.run_one()
    session.expire_all()
    stored = session.get(Job, job.id)
    assert stored.state == "failed"
    assert stored.message == "ValueError: 预算表第3行金额无效"
    assert stored.finished_at is not None and stored.progress == 1
    # What the handler wrote after its last report was rolled back.
    assert session.scalar(select(Notification.id).where(Notification.subject == "半途")) is None


def test_unknown_kinds_cannot_be_queued(session, handlers):
    with pytest.raises(KeyError):
        jobs.enqueue("test.nobody", {})


def test_jobs_run_in_order_and_each_once(session, handlers):
    order = []

    @jobs.handler("test.order")
    def record(job, report):
        order.append(job.payload["i"])

    for i in range(3):
        jobs.enqueue("test.order", {"i": i})
    session.commit()
    while jobs.run_one():
        pass
    assert order == [0, 1, 2]


def test_job_status_is_shown_to_its_creator_only(app, client, session, handlers):
    from tests.conftest import login

    jobs.handler("test.noop")(lambda job, report: {"ok": True})
    owner, other = factories.user("officer"), factories.user("officer")
    job = jobs.enqueue("test.noop", {}, actor=owner)
    session.commit()
    login(client, owner)
    body = client.get(f"/jobs/{job.id}").json
    assert (body["id"], body["state"]) == (job.id, "queued")
    other_client = app.test_client()
    login(other_client, other)
    assert other_client.get(f"/jobs/{job.id}").status_code == 404


def test_outbox_sends_pending_mail_and_marks_it_sent(session, capsys):
    mailed = factories.user("officer")
    quiet = factories.user("officer")
    quiet.notify_by_mail = False
    first = outbox.queue_mail(mailed, "评审提醒", "请于周五前完成评审。", link="/reviews/1")
    second = outbox.queue_mail(quiet, "评审提醒", "请于周五前完成评审。")
    session.commit()
    assert first.sent_at is None
    assert second.sent_at is not None  # in-app only: kept, never sent
    assert session.scalars(select(Notification).where(Notification.user_id == quiet.id)).one()
    sent, failed = outbox.send_pending()
    assert (sent, failed) == (1, 0)
    printed = capsys.readouterr().err
    assert f"To: {mailed.email}" in printed and "评审提醒" in printed
    assert "/reviews/1" in printed
    assert quiet.email not in printed
    session.expire_all()
    assert session.get(OutboxMessage, first.id).sent_at is not None
    assert outbox.send_pending() == (0, 0)


def test_outbox_dedupe_key_queues_once(session):
    user = factories.user("officer")
    assert outbox.queue_mail(user, "逾期提醒", "x", dedupe_key="overdue:1:2015-03-02") is not None
    assert outbox.queue_mail(user, "逾期提醒", "x", dedupe_key="overdue:1:2015-03-02") is None
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.to_user_id == user.id)).all()
    assert len(rows) == 1


def test_smtp_failures_are_counted_and_retried(app, session, monkeypatch):
    user = factories.user("officer")
    message = outbox.queue_mail(user, "主题", "正文")
    session.commit()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.invalid")

    def refuse(config, row):
        raise OSError("connection refused")

    monkeypatch.setattr(outbox, "_smtp_send", refuse)
    assert outbox.send_pending() == (0, 1)
    session.expire_all()
    row = session.get(OutboxMessage, message.id)
    assert (row.sent_at, row.attempts, row.last_error) == (None, 1, "connection refused")


def test_outbox_send_command(app, session, capsys):
    user = factories.user("officer")
    outbox.queue_mail(user, "命令发送", "正文")
    session.commit()
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0" in result.output
