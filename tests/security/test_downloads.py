"""Every download of a stored file is audited (who, which file, its digest) before the
bytes are sent, through one helper (app.core.files.send_stored); a file whose bytes are
gone is a 404, not a 500."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import select

from app.accounts import credit_code
from app.audit.models import AuditEvent
from app.calls import societies
from app.core.files import path_for
from tests import factories
from tests.conftest import login

APP_DIR = Path(__file__).resolve().parents[2] / "app"


def _downloads(session):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == "file.download").order_by(AuditEvent.seq)
    ).all()


def test_application_attachment_download_is_audited(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = factories.application(call, applicant)
    session.commit()
    attachment = app.attachments[0]
    login(client, applicant)
    url = f"/applications/{app.id}/files/{attachment.file_id}"
    for n in (1, 2):
        response = client.get(url)
        assert response.status_code == 200 and response.data == factories.PDF_BYTES
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert len(_downloads(session)) == n  # each download, not just the first
    event = _downloads(session)[-1]
    assert event.actor_id == applicant.id and event.entity_type == "stored_file"
    assert event.entity_id == str(attachment.file_id)
    assert event.after["sha256"] == attachment.file.sha256
    assert event.after["application_id"] == app.id
    assert event.request_id and event.ip


def test_society_certificate_download_is_audited(client, session):
    officer = factories.user("officer")
    org, _admin = societies.register_society(
        name="浙江省下载测试学会",
        credit_code_text=credit_code.make("51330000MJ1234560"),
        contact_name="联系人",
        email="cert-download@test.cn",
        password=factories.PASSWORD,
        certificate=io.BytesIO(factories.PDF_BYTES),
        certificate_name="证书.pdf",
    )
    session.commit()
    row = societies.certificate_of(org)
    login(client, officer)
    response = client.get(f"/societies/{org.id}/certificate")
    assert response.status_code == 200 and response.data == factories.PDF_BYTES
    (event,) = _downloads(session)
    assert event.actor_id == officer.id and event.entity_id == str(row.id)
    assert event.after["sha256"] == row.sha256
    assert event.after["society_id"] == org.id and event.after["document"] == "certificate"


def test_missing_bytes_are_a_404_and_not_audited(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = factories.application(call, applicant)
    session.commit()
    attachment = app.attachments[0]
    path = path_for(attachment.file.sha256)
    saved = path.read_bytes()
    path.unlink()
    try:
        login(client, applicant)
        response = client.get(f"/applications/{app.id}/files/{attachment.file_id}")
        assert response.status_code == 404
        assert _downloads(session) == []
    finally:
        path.write_bytes(saved)


# Views that send a file: each goes through send_stored, or records its own audit event
# right before (generated exports, the audit bundle, reviewers' attachments). A new
# send_file elsewhere fails here until it is audited and listed.
AUDITED_ELSEWHERE = {
    "audit/views.py": "downloads.record_download before each send_file",
    "projects/views/reports.py": "export.download recorded before send_file",
    "reviews/views/expert.py": "ops.open_attachment records review_assignment.attachment",
}
# Known gap, owned by another module: remove once it calls send_stored.
NOT_YET_AUDITED: set[str] = set()


def test_every_send_file_is_audited():
    found = set()
    for path in APP_DIR.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bsend_file\(", text) and path.name != "files.py":
            found.add(path.relative_to(APP_DIR).as_posix())
    unexpected = found - set(AUDITED_ELSEWHERE) - NOT_YET_AUDITED
    assert not unexpected, f"send_file without an audit event: {sorted(unexpected)}"
