"""Content-addressed uploads: temp file, fsync, rename, then the row.

Bytes live outside ``static/`` under ``UPLOAD_DIR/ab/cd/<sha256>``; the type is
sniffed from the content, never trusted from the name or the browser.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import zipfile
from pathlib import Path

import filetype
from flask import abort, current_app, send_file
from flask_babel import gettext as _

from app.audit import trail
from app.core.errors import ValidationFailed
from app.core.models import StoredFile
from app.extensions import db

# What each kind of upload may be, by sniffed MIME type.
ALLOWED_TYPES = {
    "document": {"application/pdf", "image/jpeg", "image/png"},
    "scan": {"application/pdf", "image/jpeg", "image/png"},
    "sheet": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    "any": {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    },
}
_EXTENSIONS = {
    "application/pdf": {".pdf"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "application/zip": {".zip"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {".xlsx"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {".docx"},
}
_ZIP_BASED = {
    "application/zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
MAX_UNZIPPED_RATIO = 100
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024


def storage_root() -> Path:
    """The folder holding uploaded bytes."""
    return Path(current_app.config["UPLOAD_DIR"])


def path_for(sha256: str) -> Path:
    """Where the bytes with this digest live."""
    return storage_root() / sha256[:2] / sha256[2:4] / sha256


def safe_name(name: str) -> str:
    """The last path component only, without control characters (no traversal)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*').strip(". ")
    return base[:200] or "file"


def _check_zip(path: Path) -> None:
    """Refuse archives that expand too far (zip bombs) or hold unsafe names."""
    with zipfile.ZipFile(path) as archive:
        total = 0
        for info in archive.infolist():
            total += info.file_size
            if info.filename.startswith("/") or ".." in info.filename.split("/"):
                raise ValidationFailed(_("压缩包内含有不安全的文件路径。"))
        compressed = max(path.stat().st_size, 1)
        if total > MAX_UNZIPPED_BYTES or total / compressed > MAX_UNZIPPED_RATIO:
            raise ValidationFailed(_("压缩包解压后过大，已拒绝。"))


def store_upload(
    stream, filename: str, *, kind: str = "any", owner_type=None, owner_id=None, actor=None
) -> StoredFile:
    """Store an uploaded stream and add its row (flushed, not committed).

    Raises ``ValidationFailed`` when the file is empty, too large, of a type not
    allowed for ``kind``, or not what its extension says.
    """
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    root = storage_root()
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(dir=root / "tmp", prefix="up-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed(
                        _("文件过大（上限 %(mb)s MB）。", mb=limit // (1024 * 1024))
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise ValidationFailed(_("文件为空。"))
        mime = _sniff(tmp)
        if mime not in ALLOWED_TYPES.get(kind, ALLOWED_TYPES["any"]):
            raise ValidationFailed(_("不支持的文件类型：%(name)s", name=safe_name(filename)))
        ext = Path(safe_name(filename)).suffix.lower()
        if ext not in _EXTENSIONS.get(mime, set()):
            raise ValidationFailed(_("文件内容与扩展名不符：%(name)s", name=safe_name(filename)))
        if mime in _ZIP_BASED:
            _check_zip(tmp)  # Office files are zips too: a bomb can wear an .xlsx name
        sha = digest.hexdigest()
        final = path_for(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    finally:
        tmp.unlink(missing_ok=True)
    row = StoredFile(
        sha256=sha,
        size=size,
        mime=mime,
        original_name=safe_name(filename),
        owner_type=owner_type,
        owner_id=owner_id,
        kind=kind,
        uploaded_by_id=getattr(actor, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    return row


def store_bytes(data: bytes, filename: str, mime: str, **owner) -> StoredFile:
    """Store bytes the system generated itself (PDFs, exports)."""
    sha = hashlib.sha256(data).hexdigest()
    final = path_for(sha)
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, final)
    row = StoredFile(
        sha256=sha, size=len(data), mime=mime, original_name=safe_name(filename), **owner
    )
    db.session.add(row)
    db.session.flush()
    return row


def _sniff(path: Path) -> str:
    """The MIME type from the content; Office files are zips told apart by their parts."""
    kind = filetype.guess(str(path))
    mime = kind.mime if kind else "application/octet-stream"
    with path.open("rb") as fh:
        magic = fh.read(2)
    if mime == "application/zip" or magic == b"PK":
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return mime
        if "xl/workbook.xml" in names:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if "word/document.xml" in names:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return "application/zip"
    return mime


def _fsync_dir(path: Path) -> None:
    """Make the rename durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def verify_file(row: StoredFile) -> bool:
    """Whether the bytes on disk still match the row's digest."""
    path = path_for(row.sha256)
    if not path.exists():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest() == row.sha256


def collect_garbage() -> tuple[int, int]:
    """Remove leftover temp files and bytes no row points to; returns (temps, orphans)."""
    root = storage_root()
    temps = orphans = 0
    for tmp in list((root / "tmp").glob("up-*")) + list(root.glob("*/*/.tmp-*")):
        tmp.unlink(missing_ok=True)
        temps += 1
    known = set(db.session.scalars(db.select(StoredFile.sha256).distinct()))
    for path in root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
        # An upload whose row is not committed yet is young: leave it for the next run.
        young = time.time() - path.stat().st_mtime < 3600
        if path.name not in known and not path.name.startswith(".") and not young:
            path.unlink()
            orphans += 1
    return temps, orphans


def record_download(row: StoredFile, *, actor, **context) -> None:
    """Audit one download of a stored file (``file.download``): who (the actor and the
    request's context), which file (id, owner, name, size) and its digest. ``context``
    adds ids that say why it was allowed (e.g. ``application_id``). Flushes, no commit."""
    trail.record(
        "file.download",
        "stored_file",
        row.id,
        actor=actor,
        after={
            "sha256": row.sha256,
            "bytes": int(row.size),
            "name": row.original_name,
            "kind": row.kind,
            "owner_type": row.owner_type,
            "owner_id": row.owner_id,
            **context,
        },
    )


def send_stored(row: StoredFile, *, actor, download_name: str | None = None, **context):
    """The one way a view serves an uploaded or generated file: audit the download
    (``record_download``), commit that event, then send the bytes as an attachment.

    The caller has already checked the user may see the file (load or 404). Bytes
    missing from the store are a 404 (and an error in the log), never a 500."""
    path = path_for(row.sha256)
    if not path.is_file():
        current_app.logger.error("stored file %s (%s) is missing its bytes", row.id, row.sha256)
        abort(404)
    record_download(row, actor=actor, **context)
    db.session.commit()
    return send_file(
        path,
        mimetype=row.mime,
        as_attachment=True,
        download_name=download_name or row.original_name,
    )
