"""Uploads through the real form: size limits, type from content, traversal names,
zip bombs (also wearing an .xlsx name), and downloads only as attachments."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from app.applications.models import Attachment
from app.core.files import path_for, storage_root
from app.core.models import StoredFile
from tests import factories
from tests.conftest import csrf_token, login

PDF = factories.PDF_BYTES
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def _zip(entries: dict[str, bytes], *, level=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", level) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def draft(app, session):
    applicant = factories.user("applicant")
    row = factories.application(factories.call(), applicant, complete=False)
    session.commit()
    client = app.test_client()
    login(client, applicant)
    return client, row


def _upload(client, row, data: bytes, name: str, kind: str = "agreement"):
    return client.post(
        f"/applications/{row.id}/attachments",
        data={"kind": kind, "csrf_token": csrf_token(client), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def _files(session) -> int:
    return session.scalar(select(func.count(StoredFile.id)))


def _temps() -> list:
    return list((storage_root() / "tmp").glob("up-*"))


REFUSED = [
    (b"MZ\x90\x00" + b"\x00" * 200, "setup.pdf", "不支持的文件类型"),  # a Windows executable
    (b"<html><script>alert(1)</script></html>", "page.pdf", "不支持的文件类型"),
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "x.png", "不支持的文件类型"),
    (b"#!/bin/sh\nrm -rf /\n", "run.pdf", "不支持的文件类型"),
    (PNG, "picture.pdf", "文件内容与扩展名不符"),  # a real PNG named .pdf
    (PDF, "report.pdf.exe", "文件内容与扩展名不符"),
    (PDF, "report", "文件内容与扩展名不符"),
    (b"", "empty.pdf", "文件为空"),
    (_zip({"a.txt": b"x"}), "sheet.xlsx", "文件内容与扩展名不符"),  # a plain zip as .xlsx
]


@pytest.mark.parametrize(("data", "name", "message"), REFUSED)
def test_type_comes_from_the_content(draft, session, data, name, message):
    client, row = draft
    before = _files(session)
    page = _upload(client, row, data, name).get_data(as_text=True)
    assert message in page, page[:2000]
    assert _files(session) == before
    assert _temps() == []


def test_size_limit(app, draft, session):
    client, row = draft
    before = _files(session)
    app.config["MAX_UPLOAD_BYTES"] = 4096
    try:
        page = _upload(client, row, PDF + b"0" * 5000, "big.pdf").get_data(as_text=True)
    finally:
        app.config["MAX_UPLOAD_BYTES"] = 20 * 1024 * 1024
    assert "文件过大" in page
    assert _files(session) == before and _temps() == []
    # Past MAX_CONTENT_LENGTH the request itself is refused before anything is read.
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    try:
        response = client.post(
            f"/applications/{row.id}/attachments",
            data={"kind": "agreement", "file": (io.BytesIO(PDF + b"0" * 20_000), "big.pdf")},
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024
    assert response.status_code == 413
    assert _files(session) == before


@pytest.mark.parametrize(
    "name",
    [
        "../../../../etc/passwd.pdf",
        "..\\..\\windows\\system32\\x.pdf",
        "/etc/cron.d/job.pdf",
        "C:\\boot\\x.pdf",
        "a/../../b.pdf",
        "\x00evil.pdf",
        "...report.pdf",
        "report<script>.pdf",
    ],
)
def test_traversal_names_are_reduced_to_a_safe_base_name(draft, session, name):
    client, row = draft
    _upload(client, row, PDF, name)
    stored = session.scalars(
        select(StoredFile).where(StoredFile.owner_id == row.id).order_by(StoredFile.id.desc())
    ).first()
    assert stored is not None, name
    assert "/" not in stored.original_name and "\\" not in stored.original_name
    assert not stored.original_name.startswith(".")
    assert not any(c in stored.original_name for c in '<>:"|?*\x00')
    assert path_for(stored.sha256).resolve().is_relative_to(storage_root().resolve())


BOMB = b"\x00" * (8 * 1024 * 1024)  # 8 MiB of zeros deflates to ~8 KiB: ratio ~1000


@pytest.mark.parametrize(
    ("entries", "name"),
    [
        ({"zeros.bin": BOMB}, "bomb.zip"),
        ({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": BOMB}, "budget.xlsx"),
        ({"word/document.xml": BOMB}, "plan.docx"),
        ({"../../escape.txt": b"x"}, "escape.zip"),
        ({"/abs/path.txt": b"x"}, "abs.zip"),
    ],
)
def test_zip_bombs_and_unsafe_archives_are_refused(draft, session, entries, name):
    client, row = draft
    before = _files(session)
    page = _upload(client, row, _zip(entries), name).get_data(as_text=True)
    assert "压缩包" in page, page[:1500]
    assert _files(session) == before and _temps() == []


def test_nested_zip_bomb_counts_only_the_outer_ratio(draft, session):
    """A zip of a bomb zip is stored as an opaque file (never unpacked by the system)."""
    client, row = draft
    inner = _zip({"zeros.bin": BOMB})
    page = _upload(client, row, _zip({"inner.zip": inner}, level=zipfile.ZIP_STORED), "n.zip")
    assert "附件已上传" in page.get_data(as_text=True)


def test_downloads_are_attachments_with_nosniff_for_those_allowed_only(app, draft, session):
    client, row = draft
    _upload(client, row, PDF, "协议 <b>.pdf")
    attachment = session.scalar(select(Attachment).where(Attachment.application_id == row.id))
    path = f"/applications/{row.id}/files/{attachment.file_id}"
    answer = client.get(path)
    assert answer.status_code == 200 and answer.data == PDF
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;"), disposition
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Cache-Control"] == "no-store"
    assert "<b>" not in disposition
    stranger = app.test_client()
    login(stranger, factories.user("applicant"))
    session.commit()
    assert stranger.get(path).status_code == 404
    assert app.test_client().get(path).status_code == 302  # anonymous: to the login page
