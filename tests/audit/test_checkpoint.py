"""Signed checkpoints: the chain must extend them; forgeries and rewrites are caught."""

from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit import trail
from app.audit.models import AuditEvent


@pytest.fixture
def keyed(app, session, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", str(tmp_path / "keys"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "keygen"])
    assert result.exit_code == 0, result.output
    assert "fingerprint" in result.output
    return runner


def test_keygen_refuses_to_overwrite(keyed):
    again = keyed.invoke(args=["audit", "keygen"])
    assert again.exit_code != 0
    assert "exists" in again.output


def test_checkpoint_is_signed_and_extended(keyed, session):
    trail.record("test.event", "thing", 1, after={"n": 1})
    result = keyed.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    text = path.read_text()
    assert text.startswith("seq=") and "signature=" in text
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.checkpoint"))
    trail.record("test.event", "thing", 2, after={"n": 2})
    ok = keyed.invoke(args=["audit", "verify", "--checkpoint", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "extends the checkpoint" in ok.output


def test_forged_checkpoint_fails(keyed, session, tmp_path):
    trail.record("test.event", "thing", 1)
    path = Path(keyed.invoke(args=["audit", "checkpoint"]).output.strip().splitlines()[-1])
    lines = path.read_text().splitlines()
    head = lines[1].split("=", 1)[1]
    lines[1] = "head_hash=" + ("0" if head[0] != "0" else "1") + head[1:]
    forged = tmp_path / "forged.txt"
    forged.write_text("\n".join(lines) + "\n")
    result = keyed.invoke(args=["audit", "verify", "--checkpoint", str(forged)])
    assert result.exit_code == 1
    assert "signature does not verify" in result.output


def test_checkpoint_beyond_the_chain_means_truncation(keyed, session, app, tmp_path):
    from app.audit import signing

    with app.app_context():
        data = signing.make_checkpoint(10_000, "a" * 64)
    path = tmp_path / "future.txt"
    path.write_bytes(data)
    result = keyed.invoke(args=["audit", "verify", "--checkpoint", str(path)])
    assert result.exit_code == 1
    assert "truncated" in result.output


def test_rewritten_history_fails(keyed, session, app, tmp_path):
    from app.audit import signing

    event = trail.record("test.event", "thing", 1)
    data = signing.make_checkpoint(event.seq, "b" * 64)
    path = tmp_path / "other-history.txt"
    path.write_bytes(data)
    result = keyed.invoke(args=["audit", "verify", "--checkpoint", str(path)])
    assert result.exit_code == 1
    assert "rewritten" in result.output
