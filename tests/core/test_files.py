"""Uploads: sniffed types, size caps, zip bombs, safe names, garbage collection."""

from __future__ import annotations

import io
import os
import time
import zipfile

import pytest

from app.core import files
from app.core.errors import ValidationFailed
from app.core.models import StoredFile

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def storage(app, session, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_real_pdf_is_stored_by_digest(storage, session):
    row = files.store_upload(io.BytesIO(PDF), "申报书.pdf", kind="document")
    assert isinstance(row, StoredFile) and row.id
    assert (row.mime, row.size, row.original_name) == ("application/pdf", len(PDF), "申报书.pdf")
    path = files.path_for(row.sha256)
    assert path.read_bytes() == PDF
    assert path.is_relative_to(storage) and "static" not in str(path)
    assert files.verify_file(row)
    assert not list((storage / "tmp").iterdir())  # no temp file left behind
    path.write_bytes(PDF + b"x")
    assert not files.verify_file(row)


def test_same_content_twice_shares_the_bytes(storage, session):
    first = files.store_upload(io.BytesIO(PDF), "a.pdf")
    second = files.store_upload(io.BytesIO(PDF), "b.pdf")
    assert first.sha256 == second.sha256 and first.id != second.id


def test_a_png_named_pdf_is_refused(storage, session):
    with pytest.raises(ValidationFailed, match="文件内容与扩展名不符"):
        files.store_upload(io.BytesIO(PNG), "scan.pdf", kind="document")
    assert files.store_upload(io.BytesIO(PNG), "scan.png", kind="document").mime == "image/png"
    assert not list((storage / "tmp").iterdir())


def test_types_not_allowed_for_the_kind_are_refused(storage, session):
    with pytest.raises(ValidationFailed, match="不支持的文件类型"):
        files.store_upload(io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "setup.exe")
    with pytest.raises(ValidationFailed, match="不支持的文件类型"):
        files.store_upload(io.BytesIO(PDF), "表.pdf", kind="sheet")
    with pytest.raises(ValidationFailed, match="不支持的文件类型"):
        files.store_upload(io.BytesIO(b"just text, no magic"), "note.pdf")


def test_oversized_and_empty_files_are_refused(app, storage, session, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024)
    with pytest.raises(ValidationFailed, match="文件过大"):
        files.store_upload(io.BytesIO(PDF + b"\0" * 2048), "big.pdf")
    with pytest.raises(ValidationFailed, match="文件为空"):
        files.store_upload(io.BytesIO(b""), "empty.pdf")
    assert not list((storage / "tmp").iterdir())
    assert not list(storage.glob("[0-9a-f][0-9a-f]/*/*"))


def test_zip_bombs_are_refused(storage, session):
    bomb = _zip({"zeros.bin": b"\0" * (5 * 1024 * 1024)})
    assert len(bomb) < 50 * 1024
    with pytest.raises(ValidationFailed, match="压缩包解压后过大"):
        files.store_upload(io.BytesIO(bomb), "材料.zip")
    # An Office file is a zip too: the same check applies.
    sheet_bomb = _zip({"xl/workbook.xml": b"<workbook/>", "xl/big.xml": b"\0" * (5 * 1024 * 1024)})
    with pytest.raises(ValidationFailed, match="压缩包解压后过大"):
        files.store_upload(io.BytesIO(sheet_bomb), "预算.xlsx", kind="sheet")
    fine = _zip({"a.txt": os.urandom(2048)})
    assert files.store_upload(io.BytesIO(fine), "ok.zip").mime == "application/zip"


def test_zip_with_unsafe_paths_is_refused(storage, session):
    evil = _zip({"../../etc/cron.d/x": os.urandom(64)})
    with pytest.raises(ValidationFailed, match="不安全的文件路径"):
        files.store_upload(io.BytesIO(evil), "evil.zip")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\报告.pdf", "报告.pdf"),
        ("/abs/path/x.pdf", "x.pdf"),
        ('a<b>:"c|d?*.pdf', "abcd.pdf"),
        ("name\x00\n.pdf", "name.pdf"),
        ("..", "file"),
        ("", "file"),
    ],
)
def test_names_are_reduced_to_a_safe_base_name(name, safe):
    assert files.safe_name(name) == safe


def test_traversal_name_is_stored_as_its_base_name(storage, session):
    row = files.store_upload(io.BytesIO(PDF), "../../../etc/passwd.pdf")
    assert row.original_name == "passwd.pdf"
    assert files.path_for(row.sha256).is_relative_to(storage)


def test_files_gc_removes_temp_leftovers_and_old_orphans(app, storage, session):
    kept = files.store_upload(io.BytesIO(PDF), "kept.pdf")
    session.commit()
    (storage / "tmp").mkdir(parents=True, exist_ok=True)
    leftover = storage / "tmp" / "up-crashed"
    leftover.write_bytes(b"partial")
    orphan_dir = storage / "ab" / "cd"
    orphan_dir.mkdir(parents=True)
    old_orphan = orphan_dir / ("abcd" + "0" * 60)
    old_orphan.write_bytes(b"nobody points here")
    two_hours_ago = time.time() - 7200
    os.utime(old_orphan, (two_hours_ago, two_hours_ago))
    young_orphan = orphan_dir / ("abcd" + "1" * 60)
    young_orphan.write_bytes(b"an upload whose row is not committed yet")
    os.utime(files.path_for(kept.sha256), (two_hours_ago, two_hours_ago))

    result = app.test_cli_runner().invoke(args=["files", "gc"])
    assert result.exit_code == 0, result.output
    assert "removed 1 temporary files, 1 orphaned files" in result.output
    assert not leftover.exists() and not old_orphan.exists()
    assert young_orphan.exists()
    assert files.path_for(kept.sha256).exists()
