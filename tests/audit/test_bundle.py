"""The audit bundle: built from real operations, verified by the auditor's own script."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit import signing
from app.audit import verify_bundle as vb
from app.audit.bundle import JOB_KIND, BundleRefused, build_bundle
from app.audit.models import AuditEvent
from app.core import clock, jobs
from app.core.errors import ValidationFailed
from app.ledger import operations as ledger
from tests import factories

_keys = itertools.count(1)
INJECTION = '=HYPERLINK("http://evil.example","点我")'


def make_ledger(finance) -> None:
    """A small ledger made through the ledger's operations, on two dates (Beijing)."""
    key = lambda: f"bundle-test-{next(_keys)}"  # noqa: E731
    with clock.frozen(datetime(2026, 1, 5, 2, 0, tzinfo=UTC)):
        ledger.appropriate(1, 1_000_000, actor=finance, key=key(), memo="年度拨款")
        ledger.reserve(1, 10, 600_000, actor=finance, key=key())
        ledger.commit(10, 100, 500_000, actor=finance, key=key())
    with clock.frozen(datetime(2026, 3, 10, 2, 0, tzinfo=UTC)):
        ledger.release(100, 300_000, actor=finance, key=key())
        ledger.disburse(100, 200_000, actor=finance, key=key(), voucher_no="记-2026-001")
        ledger.clawback_demand(100, 5_000, actor=finance, key=key(), memo=INJECTION)


@pytest.fixture
def keyed(app, session, tmp_path, monkeypatch):
    """A signing key pair; returns the public key file."""
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", str(tmp_path / "keys"))
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    _private, public, _fingerprint = signing.generate(tmp_path / "keys")
    return public


@pytest.fixture
def data(app, session):
    with app.test_request_context():
        finance = factories.user("finance")
        auditor = factories.user("auditor")
        make_ledger(finance)
        yield auditor


def _build(app, out: Path, actor, **filters) -> Path:
    with app.test_request_context():
        return build_bundle(out, filters=filters, actor=actor)


def _unzip(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(into)
    (folder,) = into.iterdir()
    return folder


def _run_script(folder: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", "-S", vb.SCRIPT_FILE, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bundle_verifies_with_and_without_the_key(app, session, keyed, data, tmp_path):
    zip_path = _build(app, tmp_path / "out", data, fund="1", **{"from": "2026-03-01"})
    assert zip_path.parent == tmp_path / "out" and zip_path.suffix == ".zip"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [zip_path.name]  # no leftovers
    folder = _unzip(zip_path, tmp_path / "unzipped")

    report = vb.verify_directory(folder, vb.load_public_key(keyed.read_bytes()))
    assert report.signatures_checked and report.transfers == 6 and report.entries == 12
    unsigned = vb.verify_directory(folder)
    assert not unsigned.signatures_checked

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    own = session.scalar(select(AuditEvent).where(AuditEvent.action == "export.bundle"))
    assert own.after == {"filters": {"fund": 1, "from": "2026-03-01"}}
    assert manifest["chain"]["last_seq"] == own.seq and manifest["chain"]["head_hash"] == own.hash
    assert manifest["chain"]["first_seq"] == 1
    assert manifest["filters"] == {"fund": 1, "from": "2026-03-01"}
    assert manifest["ledger_totals"] == {"debits_fen": 2_605_000, "credits_fen": 2_605_000}
    assert manifest["generated_by"] == {"actor_id": data.id, "role": "auditor"}
    assert manifest["tables"]["absent"]  # no award/tranche tables yet: listed, not invented
    for name in ("attachments.csv", "ledger_register.xlsx", "audit_trail.xlsx"):
        assert name in manifest["files"]
    # The register is narrowed by the filters: only March's movements of fund 1.
    register = (folder / "ledger_register.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(register) == 1 + 3
    assert (folder / "ledger_register.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    # ... while the ledger itself is whole, and every JSONL line is canonical JSON.
    lines = (folder / vb.EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == own.seq
    for line in lines:
        event = json.loads(line)
        assert line == json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_the_copied_script_catches_tampering(app, session, keyed, data, tmp_path):
    folder = _unzip(_build(app, tmp_path / "out", data), tmp_path / "unzipped")
    assert (folder / vb.SCRIPT_FILE).read_bytes() == Path(vb.__file__).read_bytes()
    ok = _run_script(folder, "--pubkey", str(keyed))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout and "签名已验证" in ok.stdout

    path = folder / "attachments.csv"
    original = path.read_bytes()
    path.write_bytes(original[:-3] + bytes([original[-3] ^ 0x01]) + original[-2:])
    flipped = _run_script(folder)
    assert flipped.returncode == 1
    assert "attachments.csv" in flipped.stdout
    path.write_bytes(original)

    events = folder / vb.EVENTS_FILE
    lines = events.read_bytes().splitlines(keepends=True)
    events.write_bytes(b"".join(lines[:2] + lines[3:]))
    removed = _run_script(folder)
    assert removed.returncode == 1
    assert vb.EVENTS_FILE in removed.stdout


def test_a_changed_amount_is_named_at_its_place(app, session, keyed, data, tmp_path):
    folder = _unzip(_build(app, tmp_path / "out", data), tmp_path / "unzipped")
    entries = folder / vb.ENTRIES_FILE
    text = entries.read_text(encoding="utf-8-sig")
    entries.write_text(text.replace("1000000", "1000001", 1), encoding="utf-8-sig")
    result = _run_script(folder)
    assert result.returncode == 1
    assert vb.ENTRIES_FILE in result.stdout


def test_refused_without_a_key(app, session, data, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", str(tmp_path / "nokeys"))
    with pytest.raises(BundleRefused, match="audit keygen"):
        _build(app, tmp_path / "out", data)
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "export.bundle")) is None


@pytest.mark.parametrize(
    "filters",
    [
        {"from": "2026-03-01", "to": "2026-02-01"},
        {"from": "2026-13-01"},
        {"fund": "999"},
        {"call": "abc"},
        {"society": "999999"},
    ],
)
def test_impossible_filters_are_refused(app, session, keyed, data, tmp_path, filters):
    with pytest.raises(ValidationFailed):
        _build(app, tmp_path / "out", data, **filters)


def test_cli_prints_the_path_and_refuses_a_backwards_range(app, session, keyed, data, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export", "bundle", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.parent == tmp_path / "cli"
    assert "[1/" in result.stderr  # progress on stderr
    vb.verify_directory(_unzip(path, tmp_path / "unzipped"))

    bad = runner.invoke(
        args=["export", "bundle", "--out", str(tmp_path / "x"), "--from", "2026-05-01"]
        + ["--to", "2026-04-01"]
    )
    assert bad.exit_code != 0
    assert "2026-05-01" in bad.output


def test_job_builds_the_bundle(app, session, keyed, data, tmp_path):
    job = jobs.enqueue(JOB_KIND, {"filters": {"project": "100"}}, actor=data)
    session.commit()
    ran = jobs.run_one()
    assert ran.id == job.id
    assert ran.state == "done", ran.message
    path = Path(ran.result["path"])
    assert path.is_file() and path.is_relative_to(tmp_path / "exports")
    assert ran.progress == ran.total > 0
    folder = _unzip(path, tmp_path / "unzipped")
    assert vb.verify_directory(folder).events > 0
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["filters"] == {"project": 100}
