"""Exports as background jobs: the batch 立项通知书 zip runs on the worker with progress,
is downloaded (audited) by its creator only, is listed on "my jobs"; the CLI shows a bar."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.awards import exports as award_exports
from app.awards import operations as awards
from app.core import clock, export_jobs, jobs
from app.core.errors import ValidationFailed
from app.core.models import Job
from tests import factories
from tests.conftest import login, post

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["/usr/bin/pdftotext", "-", "-"], input=data, capture_output=True,
                         check=True)  # fmt: skip
    return out.stdout.decode().replace(" ", "")


@pytest.fixture
def confirmed(session):
    """A call with two confirmed awards (and so two 立项通知书)."""
    with clock.frozen(START):
        r = factories.noticed_call(n_awards=2, n_not_funded=0)
    with clock.frozen(clock.as_utc(r.notice.ends_at) + timedelta(seconds=1)):
        awards.confirm_due_awards()
    assert {a.state for a in r.awards} == {"confirmed"}
    return r


def _queue_letters(client, r):
    response = post(client, f"/awards/calls/{r.call.id}/letters", follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_batch_letters_run_as_a_job_with_progress_and_an_audited_download(
    client, session, confirmed
):
    r = confirmed
    login(client, r.officer)
    page = client.get(f"/awards/calls/{r.call.id}").get_data(as_text=True)
    assert "后台生成全部 2 份通知书" in page
    page = _queue_letters(client, r)
    assert "通知书正在后台生成" in page
    job = session.scalars(select(Job).where(Job.kind == export_jobs.JOB_KIND)).one()
    assert job.state == "queued" and job.created_by_id == r.officer.id
    assert f'data-job-url="/jobs/{job.id}"' in page  # the page polls it

    assert jobs.run_one().id == job.id
    session.expire_all()
    job = session.get(Job, job.id)
    assert (job.state, job.progress, job.total) == ("done", 2, 2)
    assert "2 / 2" in job.message
    status = client.get(f"/jobs/{job.id}").get_json()
    assert (status["state"], status["progress"], status["total"]) == ("done", 2, 2)

    page = client.get(f"/awards/calls/{r.call.id}").get_data(as_text=True)
    assert f"/jobs/{job.id}/file" in page and "已生成 2 份" in page
    download = client.get(f"/jobs/{job.id}/file")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        names = sorted(archive.namelist())
        texts = [_pdf_text(archive.read(n)) for n in names]
    assert len(names) == 2 and all(n.endswith(".pdf") for n in names)
    for award in r.awards:
        app_ = award.application
        assert any(app_.title in t and app_.project_number in t for t in texts)
        assert f"立项通知书-{app_.project_number}.pdf" in names
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "export.download", AuditEvent.entity_id == str(job.id)
        )
    ).one()
    assert event.actor_id == r.officer.id and event.after["export"] == "awards.letters"
    assert event.after["call_id"] == r.call.id
    queued = session.scalars(select(AuditEvent).where(AuditEvent.action == "export.queue")).one()
    assert queued.entity_id == str(job.id)


def test_other_users_get_404_and_the_jobs_page_lists_only_ones_own(client, session, confirmed):
    r = confirmed
    login(client, r.officer)
    _queue_letters(client, r)
    mine = session.scalars(select(Job).where(Job.kind == export_jobs.JOB_KIND)).one()
    other = factories.user("officer")
    theirs = export_jobs.queue_export(
        award_exports.LETTERS_EXPORT, {"call_id": r.call.id}, actor=other
    )
    session.commit()
    while jobs.run_one():
        pass

    page = client.get("/jobs")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "立项通知书（批量）" in text and f"/jobs/{mine.id}/file" in text
    assert f"/jobs/{theirs.id}/file" not in text
    assert client.get(f"/jobs/{theirs.id}/file").status_code == 404
    assert client.get(f"/jobs/{theirs.id}").status_code == 404
    assert client.get("/jobs/999999/file").status_code == 404

    stranger = client.application.test_client()
    login(stranger, other)
    assert stranger.get(f"/jobs/{mine.id}/file").status_code == 404
    assert stranger.get(f"/jobs/{theirs.id}/file").status_code == 200
    listing = stranger.get("/jobs").get_data(as_text=True)
    assert f"/jobs/{theirs.id}/file" in listing and f"/jobs/{mine.id}/file" not in listing


def test_jobs_page_is_newest_first_and_paged(client, session, confirmed):
    r = confirmed
    for _ in range(3):
        export_jobs.queue_export(
            award_exports.LETTERS_EXPORT, {"call_id": r.call.id}, actor=r.officer
        )
    session.commit()
    login(client, r.officer)
    text = client.get("/jobs?size=2").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'data-job-url="/jobs/(\d+)"', text)]
    assert len(ids) == 2 and ids == sorted(ids, reverse=True)
    assert "排队中" in text


def test_a_call_without_confirmed_awards_is_refused_clearly(client, session):
    with clock.frozen(START):
        r = factories.noticed_call(n_awards=1, n_not_funded=0)
    with pytest.raises(ValidationFailed):
        export_jobs.queue_export(
            award_exports.LETTERS_EXPORT, {"call_id": r.call.id}, actor=r.officer
        )
    login(client, r.officer)
    page = _queue_letters(client, r)
    assert "还没有已确认的立项" in page
    assert session.scalars(select(Job).where(Job.kind == export_jobs.JOB_KIND)).all() == []


def test_exports_need_the_export_permission(session, confirmed):
    applicant = factories.user("applicant")
    with pytest.raises(ValidationFailed):
        export_jobs.queue_export(
            award_exports.LETTERS_EXPORT, {"call_id": confirmed.call.id}, actor=applicant
        )


def test_cli_writes_the_zip_with_a_progress_bar_on_stderr(app, session, confirmed, tmp_path):
    target = tmp_path / "out" / "letters.zip"
    result = app.test_cli_runner().invoke(
        args=["awards", "letters", "--call", str(confirmed.call.id), "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip().splitlines()[-1]) == target
    assert "立项通知书" in result.stderr
    with zipfile.ZipFile(target) as archive:
        assert len(archive.namelist()) == 2
    missing = app.test_cli_runner().invoke(
        args=["awards", "letters", "--call", "999999", "--out", str(target)]
    )
    assert missing.exit_code != 0 and "999999" in missing.output


def test_finance_sheet_in_the_background_and_large_ones_not_inline(client, session, monkeypatch):
    from openpyxl import load_workbook

    r = factories.signed_project()
    finance = factories.user("finance")
    login(client, finance)
    page = client.get("/projects/finance").get_data(as_text=True)
    assert "后台生成" in page
    response = post(client, "/projects/exports/disbursements/queue", follow_redirects=True)
    assert response.status_code == 200 and "拨付台账正在后台生成" in response.get_data(as_text=True)
    assert post(client, "/projects/exports/nothing/queue").status_code == 404
    job = session.scalars(select(Job).where(Job.kind == export_jobs.JOB_KIND)).one()
    assert job.payload == {"export": "projects.sheet", "params": {"kind": "disbursements",
                                                                  "call_id": None}}  # fmt: skip
    jobs.run_one()
    session.expire_all()
    job = session.get(Job, job.id)
    assert (job.state, job.progress, job.total) == ("done", 1, 1)
    download = client.get(f"/jobs/{job.id}/file")
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.data))
    assert book.sheetnames[:2] == ["汇总", "明细"]
    cells = [c for row in book["汇总"].iter_rows(values_only=True) for c in row if c]
    assert r.project.application.project_number in cells

    # Above the inline limit the direct download sends the user to 后台生成 instead.
    monkeypatch.setitem(client.application.config, "EXPORT_INLINE_MAX_ROWS", 0)
    direct = client.get("/projects/exports/disbursements.xlsx", follow_redirects=True)
    assert direct.status_code == 200 and "数据量较大" in direct.get_data(as_text=True)
    monkeypatch.setitem(client.application.config, "EXPORT_INLINE_MAX_ROWS", 20000)
    inline = client.get("/projects/exports/disbursements.xlsx")
    assert inline.status_code == 200 and inline.data[:2] == b"PK"


def test_review_scores_sheet_in_the_background(client, session, monkeypatch):
    from openpyxl import load_workbook

    r = factories.reviewed_call(1)
    login(client, r.officer)
    monkeypatch.setitem(client.application.config, "EXPORT_INLINE_MAX_ROWS", -1)
    direct = client.get(f"/reviews/calls/{r.call.id}/scores.xlsx", follow_redirects=True)
    assert "评分明细较多" in direct.get_data(as_text=True)
    response = post(client, f"/reviews/calls/{r.call.id}/scores/queue", follow_redirects=True)
    assert "专家评分明细表正在后台生成" in response.get_data(as_text=True)
    job = jobs.run_one()
    assert job.state == "done", job.message
    download = client.get(f"/jobs/{job.id}/file")
    assert download.status_code == 200
    assert "专家评分明细表" in download.headers["Content-Disposition"] or download.data[:2] == b"PK"
    assert load_workbook(io.BytesIO(download.data)).sheetnames[:2] == ["汇总", "明细"]
    assert "专家评分明细表" in client.get("/jobs").get_data(as_text=True)


def test_home_page_links_to_my_jobs_and_counts_running_ones(client, session, confirmed):
    r = confirmed
    login(client, r.officer)
    _queue_letters(client, r)
    text = client.get("/").get_data(as_text=True)
    assert 'href="/jobs"' in text and "1 个正在生成" in text
