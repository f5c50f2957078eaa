"""Backups of the database and the uploaded files, and restoring them.

SQLite is copied with its online backup API (consistent while writes go on);
PostgreSQL with ``pg_dump``. The archive is a tar.gz with ``manifest.json``,
the database (``database.sqlite`` or ``database.sql``) and ``files/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from app import __version__
from app.core import clock
from app.extensions import db


class RestoreRefused(RuntimeError):
    """The target database is not empty and ``--force`` was not given."""


def _pg_args(url) -> tuple[list[str], dict]:
    """Connection arguments for the PostgreSQL client tools."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    args = [
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
    ]
    return args, env


def backup(out: Path) -> Path:
    """Write a backup archive to ``out`` and return its path."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if url.get_backend_name() == "sqlite":
            db_name = "database.sqlite"
            source = sqlite3.connect(url.database)
            target = sqlite3.connect(work / db_name)
            with target:
                source.backup(target)
            source.close()
            target.close()
        else:
            db_name = "database.sql"
            args, env = _pg_args(url)
            with (work / db_name).open("wb") as fh:
                subprocess.run(
                    ["pg_dump", *args, "--no-owner", "--no-privileges", url.database],
                    stdout=fh,
                    env=env,
                    check=True,
                )
        digest = hashlib.sha256((work / db_name).read_bytes()).hexdigest()
        manifest = {
            "app_version": __version__,
            "created_at": clock.rfc3339(clock.now()),
            "database": url.get_backend_name(),
            "database_file": db_name,
            "database_sha256": digest,
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out, "w:gz") as archive:
            archive.add(work / "manifest.json", arcname="manifest.json")
            archive.add(work / db_name, arcname=db_name)
            if upload_dir.exists():
                for path in sorted(upload_dir.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*")):
                    archive.add(path, arcname=f"files/{path.relative_to(upload_dir)}")
    return out


def database_is_empty() -> bool:
    """Whether the configured database has no application tables with rows."""
    names = inspect(db.engine).get_table_names()
    if "audit_head" not in names:
        return True
    return not db.session.scalar(text("SELECT COUNT(*) FROM audit_event"))


def restore(archive_path: Path, *, force: bool = False) -> dict:
    """Restore an archive into the configured database and upload folder.

    Refuses (``RestoreRefused``) unless the database is empty or ``force``.
    Returns the archive's manifest.
    """
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if not force and not database_is_empty():
        raise RestoreRefused("the target database is not empty; use --force to overwrite it")
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive_path, "r:gz") as archive:
        archive.extractall(tmp, filter="data")
        work = Path(tmp)
        manifest = json.loads((work / "manifest.json").read_text(encoding="utf-8"))
        db_file = work / manifest["database_file"]
        if hashlib.sha256(db_file.read_bytes()).hexdigest() != manifest["database_sha256"]:
            raise RuntimeError("the database file in the archive is corrupt (sha256 mismatch)")
        if manifest["database"] != url.get_backend_name():
            kinds = f"{manifest['database']} archive, {url.get_backend_name()} target"
            raise RuntimeError(f"the archive does not match the target database ({kinds})")
        db.session.remove()
        db.engine.dispose()
        if manifest["database"] == "sqlite":
            for suffix in ("-wal", "-shm"):
                Path(url.database + suffix).unlink(missing_ok=True)
            shutil.copyfile(db_file, url.database)
        else:
            args, env = _pg_args(url)
            reset = "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
            subprocess.run(
                ["psql", *args, "-q", "-v", "ON_ERROR_STOP=1", "-c", reset, url.database],
                env=env,
                check=True,
                capture_output=True,
            )
            subprocess.run(
                ["psql", *args, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(db_file), url.database],
                env=env,
                check=True,
                capture_output=True,
            )
        files = work / "files"
        if files.exists():
            for path in files.glob("*/*/*"):
                target = upload_dir / path.relative_to(files)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    return manifest
